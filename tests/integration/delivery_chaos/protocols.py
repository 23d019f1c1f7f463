"""The two socket protocols a device speaks: /ws (API.md §5, JSON frames,
{"op":"ack"}) and Socket.IO v4 over the websocket transport (§6, events
with ack ids). Opening, decoding one text frame, and acking."""

import collections
import json
import re
import urllib.parse

import websocket

# event/data of a decoded frame; ack(): acknowledges it (None if it has no
# ack); control: a Socket.IO packet that is not an event ("ping", "sid",
# "connect_error", "disconnect", "unexpected"), with its text in data.
Frame = collections.namedtuple("Frame", "event data ack control")
NOTIFICATION_EVENTS = ("new_booking", "new_review")
_SIO_EVENT = re.compile(r"^42(\d*)(\[.*)$", re.S)


def open_socket(proto, ws_port, tok, after):
    """A connected socket, authenticated, hello not yet read."""
    if proto == "ws":
        q = {"access_token": tok}
        if after is not None:
            q["after"] = after
        return websocket.create_connection(
            "ws://127.0.0.1:%d/ws?%s" % (ws_port, urllib.parse.urlencode(q)),
            timeout=10)
    conn = websocket.create_connection(
        "ws://127.0.0.1:%d/socket.io/?EIO=4&transport=websocket" % ws_port,
        timeout=10)
    first = conn.recv()
    if not first.startswith("0{"):
        conn.close()
        raise RuntimeError("no Engine.IO open packet: %r" % first[:100])
    auth = {"token": tok}
    if after is not None:
        auth["after"] = after
    conn.send("40" + json.dumps(auth))
    return conn


def decode(proto, conn, text):
    if proto == "ws":
        obj = json.loads(text)
        ev, data = obj.get("event"), obj.get("data")
        ack = None
        if ev in NOTIFICATION_EVENTS:
            ack = (lambda n=data["id"]: send_ack("ws", conn, n))
        return Frame(ev, data, ack, None)
    if text == "2":
        conn.send("3")   # the server pings, the client answers
        return Frame(None, None, None, "ping")
    if text.startswith("40"):
        return Frame(None, json.loads(text[2:])["sid"], None, "sid")
    if text.startswith("44"):
        return Frame(None, text, None, "connect_error")
    if text.startswith("41"):
        return Frame(None, None, None, "disconnect")
    m = _SIO_EVENT.match(text)
    if not m:
        return Frame(None, text[:100], None, "unexpected")
    event = json.loads(m.group(2))
    ack = None
    if m.group(1):
        ack = (lambda x=int(m.group(1)): conn.send("43%d[]" % x))
    return Frame(event[0], event[1] if len(event) > 1 else None, ack, None)


def send_ack(proto, conn, nid):
    """An ack by id (for an ack carried over from an earlier socket)."""
    if proto == "ws":
        conn.send(json.dumps({"op": "ack", "id": nid}))
    else:
        conn.send("42" + json.dumps(["ack", {"id": nid}]))


def send_mark_read(conn, nid):
    conn.send(json.dumps({"op": "mark-read", "ids": [nid]}))
