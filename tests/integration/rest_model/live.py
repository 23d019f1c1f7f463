"""Live /ws sessions of a few hosts during the sequence (§5): the frames the
REST operations must cause (hello, each notification, read events, nothing
for a mark-read that changed nothing) are checked in order."""

import json
import threading
import time

import websocket  # Debian's python3-websocket (websocket-client)

WS_HOSTS = ["h1", "a-b", "H" * 64]
FRAME_WAIT_S = 30   # how long an expected frame may take (it ends the wait)
CLOSE_WAIT_S = 20


class WsSession:
    """A /ws session whose frames a thread collects (and whose pings it
    answers) while the sequence runs."""

    def __init__(self, port, tok):
        self.frames = []
        self.close_code = None
        self.closed = threading.Event()
        self.cv = threading.Condition()
        self.conn = websocket.create_connection(
            "ws://127.0.0.1:%d/ws?access_token=%s" % (port, tok), timeout=30)
        self.conn.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while True:
                op, data = self.conn.recv_data(control_frame=True)
                if op == websocket.ABNF.OPCODE_TEXT:
                    with self.cv:
                        self.frames.append(json.loads(data))
                        self.cv.notify_all()
                elif op == websocket.ABNF.OPCODE_CLOSE:
                    self.close_code = (int.from_bytes(data[:2], "big")
                                       if len(data) >= 2 else 1005)
                    return
        except (websocket.WebSocketException, OSError, ValueError):
            return
        finally:
            self.closed.set()
            with self.cv:
                self.cv.notify_all()

    def wait_frames(self, n, timeout=FRAME_WAIT_S):
        """The frames so far, once there are n (or the wait is over)."""
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.frames) < n and not self.closed.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cv.wait(left)
            return list(self.frames)

    def close(self):
        try:
            self.conn.shutdown()
        except (websocket.WebSocketException, OSError):
            pass


class LiveSockets:
    """Mixin: ws_exp[host] lists the frames the model expects, in order:
    ("hello", unread, latestId), ("notif", id), ("read", kind, ids changed,
    upTo asked, unread, latestId), or None for one not checked."""

    def ws_open(self):
        self.ws, self.ws_exp = {}, {}
        if not self.args.ws:
            return
        for host in WS_HOSTS:
            hs = self.model.host(host)
            self.ws[host] = WsSession(self.server.ws_port, self.t(host, "host"))
            self.ws_exp[host] = [("hello", hs.unread(), hs.latest())]
            self.ws_check(host)

    def ws_close(self, sigterm=False):
        """Closes the sessions; after a SIGTERM, first checks that the server
        closed them with 1001 (§1)."""
        for host, w in self.ws.items():
            if sigterm:
                w.closed.wait(CLOSE_WAIT_S)
                if w.close_code != 1001:
                    self.fail("SIGTERM closed the socket of %s with %r (§1: 1001)"
                              % (host, w.close_code),
                              {"req": "SIGTERM with a live /ws session",
                               "ans": w.close_code})
            w.close()
        self.ws = {}

    def ws_expect(self, host, item):
        if host in self.ws:
            self.ws_exp[host].append(item)
            self.ws_check(host)

    def ws_check(self, host):
        """The frames so far match the expected ones in number; the last is
        compared with the model."""
        w, exp = self.ws[host], self.ws_exp[host]
        frames = w.wait_frames(len(exp))
        ctx = {"req": "/ws session of %s, expected frames %s" % (host, exp[-3:]),
               "ans": json.dumps(frames[-3:])[:600]}
        if len(frames) < len(exp):
            self.fail("socket of %s got %d frames, model expects %d (last expected %r)"
                      % (host, len(frames), len(exp), exp[-1]), ctx)
            self.ws_exp[host] = exp[:len(frames)]
            return
        if len(frames) > len(exp):
            self.fail("socket of %s got an unexpected frame %r"
                      % (host, frames[len(exp)]), ctx)
            self.ws_exp[host] = exp + [None] * (len(frames) - len(exp))
            return
        e, f = exp[-1], frames[-1]
        if e is None:
            return
        if e[0] == "hello":
            self._check_hello(host, e, f, ctx)
        elif e[0] == "notif":
            n = self.model.host(host).notifs.get(e[1])
            if f.get("event") != n.type:
                self.fail("frame event %r, model %r" % (f.get("event"), n.type), ctx)
            self.compare_notif(f.get("data"), n, ctx)
        else:
            self._check_read(e, f, ctx)
        self.stat("ws frame %s ok" % e[0])

    def _check_hello(self, host, e, f, ctx):
        d = f.get("data") or {}
        if f.get("event") != "hello" or d.get("unread") != e[1] \
                or d.get("latestId") != e[2] or d.get("hostId") != host \
                or d.get("ttlMs") != 0:
            self.fail("hello %r, model unread=%d latestId=%d ttlMs=0"
                      % (f, e[1], e[2]), ctx)

    def _check_read(self, e, f, ctx):
        _, kind, ids, upto_req, unread, latest = e
        d = f.get("data") or {}
        if f.get("event") != "read" or set(d) != {"ids", "upTo", "unread", "latestId"}:
            self.fail("read frame shape %r" % (f,), ctx)
            return
        if d["unread"] != unread or d["latestId"] != latest:
            self.fail("read frame unread/latestId %r/%r, model %d/%d"
                      % (d["unread"], d["latestId"], unread, latest), ctx)
        if kind == "ids":
            if d["upTo"] is not None or not isinstance(d["ids"], list) \
                    or sorted(d["ids"]) != sorted(ids):
                self.fail("read frame for an ids request: ids %r upTo %r, model ids %r"
                          " upTo null (§5: ids lists those that changed)"
                          % (d["ids"], d["upTo"], sorted(ids)), ctx)
            elif d["ids"] != sorted(d["ids"]):
                self.stat("note: read frame ids not sorted")
        elif d["ids"] is not None or not isinstance(d["upTo"], int):
            self.fail("read frame for %s: ids %r upTo %r (§5: ids null, upTo the"
                      " watermark)" % (kind, d["ids"], d["upTo"]), ctx)
        else:
            # the watermark applied: the request's upTo, or (all) the newest
            # id; a clamped one is noted, one outside the range fails
            want = upto_req if kind == "upTo" else latest
            if d["upTo"] != want:
                self.stat("note: read upTo %s: watermark %s" % (
                    kind, "clamped" if d["upTo"] == latest else "other"))
                if not (max(ids) <= d["upTo"] <= max(want, latest)):
                    self.fail("read frame upTo %r, requested %r, latest %d"
                              % (d["upTo"], want, latest), ctx)
