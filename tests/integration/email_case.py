"""What the email test files share (test_email_*.py): the contract's
constants, preferences and Message-IDs, clients for /ws and Socket.IO that
ack, EmailCase with its waits on the SMTP sink and the audit log, and
SharedServerCase, one server and sink for a whole file
(setUpModule = start_shared).

The SMTP server is the real aiosmtpd (smtp_sink.py), the WebSocket client
websocket-client: both Debian packages for the system interpreter, so these
files run under /usr/bin/python3 (see tests/CMakeLists.txt).

Timing: the shared server runs with --ack-timeout-ms 1000. Waits are bounded
by deadlines; fixed waits only where the contract's timing is what is tested
(an email that must NOT come is waited for until its due time plus a margin).
"""

import datetime
import email.utils
import itertools
import json
import os
import re
import struct
import sys
import time
import unittest
import urllib.parse

import websocket  # python3-websocket (websocket-client)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, token  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

ACK_MS = 1000
ACK_S = ACK_MS / 1000.0
SMTP_FROM = "bellhop-it@mail.test"
PUBLIC_URL = "http://bellhop.example.test:9911/inbox/"
# An email that should not come is waited for until its due time plus this.
MARGIN_S = 1.0
# Clock granularity: the server stamps times in whole milliseconds.
EARLY_S = 0.05
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
AUDIT_FIELDS = {"at", "hostId", "notificationId", "action", "by", "via",
                "session"}
CATEGORIES = ("booking", "review", "message", "system")
SERVICE_SUB = "svc-mail"
_ids = itertools.count(1)


def uid(prefix):
    return "%s-%d" % (prefix, next(_ids))


def address(host):
    return "%s@mail.test" % host


def query(path, **params):
    params = {k: v for k, v in params.items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def default_prefs():
    return {"email": None,
            "channels": {"booking": {"realtime": True, "email": True},
                         "review": {"realtime": True, "email": False},
                         "message": {"realtime": True, "email": True},
                         "system": {"realtime": True, "email": False}},
            "emailDelaySeconds": 0, "digest": False}


def prefs(email_addr, delay=0, digest=False, **channels):
    """Default preferences with `email` set; channels=(realtime, email)."""
    doc = default_prefs()
    doc["email"] = email_addr
    doc["emailDelaySeconds"] = delay
    doc["digest"] = digest
    for cat, (realtime, mail) in channels.items():
        doc["channels"][cat] = {"realtime": realtime, "email": mail}
    return doc


def mid(host, first, last=None):
    """The Message-ID §7 gives an email (or a digest, with `last`)."""
    if last is None:
        return "<%s.%d@bellhop>" % (host, first)
    return "<%s.%d-%d@bellhop>" % (host, first, last)


def sleep_until(deadline):
    left = deadline - time.time()
    if left > 0:
        time.sleep(left)


class Ws:
    """A native-protocol session (§5), read synchronously."""

    def __init__(self, port, tok, **params):
        params["access_token"] = tok
        url = "ws://127.0.0.1:%d/ws?%s" % (port,
                                           urllib.parse.urlencode(params))
        self.conn = websocket.create_connection(url, timeout=10)
        self.hello = self.recv(10)
        if not self.hello or self.hello.get("event") != "hello":
            raise AssertionError("first frame is not hello: %r" % self.hello)
        self.session_id = self.hello["data"]["sessionId"]

    def recv(self, timeout):
        """The next frame as JSON, or None when none comes within timeout."""
        self.conn.settimeout(timeout)
        try:
            text = self.conn.recv()
        except websocket.WebSocketTimeoutException:
            return None
        return json.loads(text)

    def send(self, obj):
        self.conn.send(json.dumps(obj))

    def ack(self, nid):
        self.send({"op": "ack", "id": nid})

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass

    def close_code(self, timeout):
        """The code of the server's close frame (frames before it are
        skipped), or None when it does not come within timeout."""
        self.conn.settimeout(timeout)
        try:
            while True:
                op, data = self.conn.recv_data(control_frame=True)
                if op == websocket.ABNF.OPCODE_CLOSE:
                    return struct.unpack("!H", data[:2])[0]
        except websocket.WebSocketTimeoutException:
            return None


class SocketIo:
    """A minimal Socket.IO v5 / Engine.IO v4 client over websocket-client
    (§6): CONNECT with the token, then events; acks notification events."""

    def __init__(self, port, tok):
        url = "ws://127.0.0.1:%d/socket.io/?EIO=4&transport=websocket" % port
        self.conn = websocket.create_connection(url, timeout=10)
        first = self.conn.recv()
        if not first.startswith("0{"):
            raise AssertionError("no Engine.IO open packet: %r" % first)
        self.conn.send("40" + json.dumps({"token": tok}))
        reply = self.conn.recv()
        if not reply.startswith("40{"):
            raise AssertionError("CONNECT refused: %r" % reply)
        self.sid = json.loads(reply[2:])["sid"]
        name, self.hello, _ = self.event(10)
        if name != "hello":
            raise AssertionError("first event is not hello: %r" % name)

    def event(self, timeout):
        """(name, data, ack id or None) of the next event, None on timeout.
        Engine.IO pings are answered on the way."""
        deadline = time.monotonic() + timeout
        while True:
            self.conn.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                text = self.conn.recv()
            except websocket.WebSocketTimeoutException:
                return None
            if text == "2":
                self.conn.send("3")
                continue
            m = re.match(r"^42(\d*)(\[.*)$", text, re.S)
            if not m:
                raise AssertionError("unexpected packet %r" % text)
            args = json.loads(m.group(2))
            ack = int(m.group(1)) if m.group(1) else None
            return args[0], (args[1] if len(args) > 1 else None), ack

    def ack(self, ack_id):
        self.conn.send("43%d[]" % ack_id)

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


class EmailCase(unittest.TestCase):
    """Helpers over one server and one SMTP sink."""

    server = None
    sink = None

    # --- HTTP
    def req(self, *args, **kwargs):
        client = self.server.client()
        try:
            return client.req(*args, **kwargs)
        finally:
            client.close()

    def assert_status(self, resp, status):
        self.assertEqual(resp[0], status, "expected %d, got %d: %r" % (
            status, resp[0], resp[3][:400]))

    def assert_error(self, resp, status, code, field=None):
        self.assert_status(resp, status)
        err = (resp[2] or {}).get("error")
        self.assertIsInstance(err, dict, "no error object: %r" % (resp[3],))
        self.assertEqual(err.get("code"), code, resp[2])
        self.assertTrue(err.get("message"), resp[2])
        if field is not None:
            self.assertEqual(err.get("field"), field, resp[2])
        return err

    def put_prefs(self, host, doc, tok=None, as_admin=False):
        path = query("/preferences", hostId=host if as_admin else None)
        resp = self.req("PUT", path, doc,
                        token=tok or (token("admin-1", "admin") if as_admin
                                      else token(host, "host")))
        self.assert_status(resp, 200)
        self.assertEqual(resp[2], doc)
        return resp[2]

    def get_prefs(self, host):
        resp = self.req("GET", "/preferences", token=token(host, "host"))
        self.assert_status(resp, 200)
        return resp[2]

    def notify(self, host, type_="new_message", title=None, body=None):
        """POST /notifications (service); returns the notification."""
        title = title or uid("Title")
        body = body or uid("Body text") + " for " + host
        resp = self.req("POST", "/notifications",
                        {"hostId": host, "type": type_, "title": title,
                         "body": body}, token=token(SERVICE_SUB, "service"))
        self.assert_status(resp, 201)
        note = resp[2]["notification"]
        self.assertEqual((note["title"], note["body"]), (title, body))
        return note

    def mark_read(self, host, ids):
        resp = self.req("POST", "/notifications/mark-read", {"ids": ids},
                        token=token(host, "host"))
        self.assert_status(resp, 200)
        self.assertEqual(resp[2]["updated"], len(ids), resp[2])
        return resp[2]

    # --- audit
    def audit(self, host, tok=None, **params):
        resp = self.req("GET", query("/admin/audit", hostId=host, **params),
                        token=tok or token("admin-1", "admin"))
        self.assert_status(resp, 200)
        self.assertEqual(set(resp[2]), {"items", "nextCursor"}, resp[2])
        return resp[2]

    def wait_audit(self, host, pred, timeout=10, what="audit condition",
                   **params):
        """Polls the newest 100 entries until pred(items); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.audit(host, limit=100, **params)["items"]
            if pred(items):
                return items
            if time.monotonic() > deadline:
                raise AssertionError("%s not met within %ss; audit: %s" % (
                    what, timeout, json.dumps(items, indent=1)[:4000]))
            time.sleep(0.05)

    # --- WebSocket
    def connect(self, host):
        ws = Ws(self.server.ws_port, token(host, "host"))
        self.addCleanup(ws.close)
        self.assertEqual(ws.hello["data"]["hostId"], host)
        return ws

    def push_live(self, prefix, type_="new_message"):
        """A host that wants emails, one live session of it, and one
        notification pushed to it (not acked). Returns (host, ws, t0, note),
        t0 the time just before the notification was posted."""
        host = uid(prefix)
        self.put_prefs(host, prefs(address(host)))
        ws = self.connect(host)
        t0 = time.time()
        note = self.notify(host, type_)
        self.expect_frame(ws, note)
        return host, ws, t0, note

    def expect_frame(self, ws, note, timeout=5):
        frame = ws.recv(timeout)
        self.assertIsNotNone(frame, "no frame for notification %r" % note)
        self.assertEqual(frame.get("event"), note["type"], frame)
        self.assertEqual(frame["data"]["id"], note["id"], frame)
        return frame

    # --- email
    def wait_mail(self, message_id, timeout=10):
        """The one email with this Message-ID (waits for it)."""
        return self.sink.wait(lambda m: m.message_id == message_id, 1,
                              timeout)[0]

    def assert_no_mail_to(self, addr):
        self.assertEqual(self.sink.to(addr), [],
                         "unexpected email to %s" % addr)

    def assert_mail_headers(self, mail, host, subject, message_id):
        addr = address(host)
        self.assertEqual(mail.header("Subject"), subject)
        self.assertEqual(mail.header("To"), addr)
        self.assertEqual(mail.header("From"), SMTP_FROM)
        self.assertEqual(mail.message_id, message_id)
        self.assertEqual(mail.rcpt_tos, [addr])
        self.assertEqual(mail.mail_from, SMTP_FROM)
        date = mail.header("Date")
        self.assertIsNotNone(date, "no Date header")
        when = email.utils.parsedate_to_datetime(date)
        self.assertIsNotNone(when.tzinfo, date)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 300, date)
        self.assertEqual(mail.msg.get_content_type(), "text/plain")
        self.assertIn(PUBLIC_URL, mail.text(), "no link to the page")


def start_sink_and_server(extra=(), ack_ms=ACK_MS, ttl_ms=0):
    """A sink and a server that emails through it; ack_ms None leaves
    --ack-timeout-ms at its default."""
    sink = SmtpSink().start()
    ack = [] if ack_ms is None else ["--ack-timeout-ms", str(ack_ms)]
    try:
        server = Server(["--smtp-url", sink.url, "--smtp-from", SMTP_FROM,
                         *ack, "--public-url", PUBLIC_URL, "--ws-ttl-ms",
                         str(ttl_ms), *extra])
    except Exception:
        sink.stop()
        raise
    return sink, server


_shared = {}


def start_shared():
    _shared["sink"], _shared["server"] = start_sink_and_server()


def stop_shared():
    if "server" in _shared:
        _shared["server"].cleanup()
        _shared["sink"].stop()
    _shared.clear()


class SharedServerCase(EmailCase):
    """One server and sink for the module; every test uses its own hosts."""

    @classmethod
    def setUpClass(cls):
        cls.sink, cls.server = _shared["sink"], _shared["server"]

    def setUp(self):
        code = self.server.proc.poll()
        if code is not None:
            self.fail("the shared server exited (code %s); stderr:\n%s"
                      % (code, self.server.stderr_text()[-3000:]))
