"""Devices: two a host, each connecting again and again with after= the
highest id it has seen, on /ws or (for some hosts) Socket.IO. A session
acks all, some, late (after the ack window, carried to the next socket if
it closed meanwhile) or none; it ends by the server (TTL, expired token,
restart) or by the device: a clean close, a TCP reset, or a half-open
socket abandoned for 3-9 s. Some use a token that expires mid-session.
Every session is recorded with its frames, acks and read events."""

import random
import socket
import struct
import time

import websocket

from harness import token

from . import protocols

CATCH_UP_PAGE = 100


def rst_close(sock):
    """Closes with a TCP reset (SO_LINGER 0)."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class Zombies:
    """Half-open sockets: left unread, then reset when their time comes."""

    def __init__(self, lock):
        self.lock, self.items = lock, []   # (reset_at, sock)

    def add(self, at, sock):
        with self.lock:
            self.items.append((at, sock))

    def reap(self, stop_flag):
        while not (stop_flag.is_set() and not self.items):
            time.sleep(0.5)
            with self.lock:
                due = [z for z in self.items
                       if z[0] <= time.time() or stop_flag.is_set()]
                for z in due:
                    self.items.remove(z)
            for _, s in due:
                rst_close(s)


class Device:
    def __init__(self, ctl, rec, zombies, host, idx, args, sio_host,
                 email_host):
        self.ctl, self.rec, self.zombies = ctl, rec, zombies
        self.host, self.args = host, args
        self.name = "%s/d%d" % (host, idx)
        self.rnd = random.Random("%s-%d-%d" % (host, idx, args.seed))
        self.sio_host, self.email_host = sio_host, email_host
        self.ack_s = args.ack_ms / 1000.0
        self.last = None   # highest id seen (by socket or REST catch-up)
        self.carry = []    # late acks the previous socket closed before

    def run(self, stop_flag):
        while not stop_flag.is_set():
            try:
                self.session(stop_flag)
            except Exception as e:
                self.rec.note("device_exception", dev=self.name,
                              err=repr(e)[:200])
                time.sleep(0.3)
            gap = self.rnd.uniform(0.05, 1.0)
            if self.rnd.random() < (0.35 if self.email_host else 0.15):
                gap = self.rnd.uniform(2, 7)   # offline for a while
            stop_flag.wait(gap)

    def _plan(self, final):
        """The session's protocol, token, ack policy and ending."""
        rnd = self.rnd
        proto = "sio" if (self.sio_host and rnd.random() < 0.6) else "ws"
        expiring = (not final) and rnd.random() < 0.12
        if final:
            return proto, expiring, "none", "server", 0
        ackp = rnd.choice(["all", "all", "all", "some", "none", "late"])
        end = rnd.choice(["server", "server", "server", "rst", "half",
                          "client"])
        return proto, expiring, ackp, end, rnd.uniform(
            0.1, self.args.ttl_ms / 1000.0 * 1.2)

    def session(self, stop_flag, final=False):
        """One socket from open to end; returns its record. A final
        session reads the replay up to hello's latestId, acking nothing."""
        proto, expiring, ackp, end, end_after = self._plan(final)
        # the server allows 30 s of clock skew: -29 s expires in about 1 s
        tok = token(self.host, "host", exp_in=(-29 if expiring else 3600))
        rec = dict(dev=self.name, host=self.host, proto=proto,
                   after=self.last, expiring=expiring, ackp=ackp, end=end,
                   t_open=time.time(), t_hello=None, frames=[], acks=[],
                   close=None, sid=None, hello=None, gen=self.ctl.gen,
                   final=final, error=None, reads=[], mr_sent=[])
        try:
            conn = protocols.open_socket(proto, self.ctl.ws_port, tok,
                                         self.last)
        except Exception as e:
            rec["error"] = "connect: %r" % (e,)
            self.rec.add("sockets", rec)
            time.sleep(0.2)
            return rec
        self.rec.add("sockets", rec)
        late = []   # (due, nid, ack)
        try:
            self._converse(conn, rec, stop_flag, late, time.time() + end_after)
        except (websocket.WebSocketConnectionClosedException, OSError,
                ConnectionError) as e:
            rec["abrupt"] = "%r" % (e,)
        rec["t_end"] = time.time()
        self.carry += [n for _, n, _ in late]
        self._catch_up_after_cut(rec)
        self._end(conn, rec)
        return rec

    def _converse(self, conn, rec, stop_flag, late, t_end):
        final, proto = rec["final"], rec["proto"]
        conn.settimeout(0.1)
        while True:
            if rec["end"] != "server" and time.time() >= t_end:
                return
            if stop_flag.is_set() and not final:
                rec["end"] = "client"
                return
            for item in [x for x in late if x[0] <= time.time()]:
                late.remove(item)
                try:
                    item[2]()
                except Exception:
                    self.carry.append(item[1])   # to the next socket
                    raise
                rec["acks"].append((item[1], time.time(), True, "late"))
            try:
                op, data = conn.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                if final and self._caught_up(rec):
                    rec["end"] = "client"
                    return
                continue
            if op == websocket.ABNF.OPCODE_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 \
                    else None
                rec["close"] = (code, data[2:].decode("utf-8", "replace"),
                                time.time())
                return
            if op not in (websocket.ABNF.OPCODE_TEXT,
                          websocket.ABNF.OPCODE_BINARY):
                continue
            f = protocols.decode(proto, conn, data.decode("utf-8"))
            if f.control == "sid":
                rec["sid"] = f.data
            elif f.control == "connect_error":
                rec["error"] = "connect_error " + f.data
                return
            elif f.control == "disconnect":
                rec["sio_disconnect"] = time.time()
            elif f.control == "unexpected":
                self.rec.note("sio_unexpected", dev=self.name, text=f.data)
            elif f.control is None:
                self._on_event(conn, rec, f, late)

    def _caught_up(self, rec):
        """A final session is done when it has everything up to hello's
        latestId and nothing came for 0.3 s (or after 15 s at all)."""
        now = time.time()
        if now - rec["t_open"] > 15:
            return True
        if rec["hello"] is None:
            return False
        quiet = now - max([t for _, t in rec["frames"]] + [rec["t_open"]])
        return (self.last or 0) >= (rec["hello"]["latestId"] or 0) \
            and quiet > 0.3

    def _on_event(self, conn, rec, f, late):
        proto, now = rec["proto"], time.time()
        if f.event == "hello":
            for nid in self.carry:
                protocols.send_ack(proto, conn, nid)
                rec["acks"].append((nid, time.time(), True, "carried"))
            self.carry = []
            rec["hello"], rec["t_hello"] = f.data, now
            if self.last is None:
                self.last = f.data.get("latestId") or 0
            if proto == "ws":
                rec["sid"] = f.data["sessionId"]
            elif rec["sid"] != f.data["sessionId"]:
                self.rec.note("sio_sid_mismatch", dev=self.name)
        elif f.event == "read":
            rec["reads"].append((f.data, now))
        elif f.event in protocols.NOTIFICATION_EVENTS:
            nid = f.data["id"]
            rec["frames"].append((nid, now))
            self.last = nid if self.last is None else max(self.last, nid)
            ackp = rec["ackp"]
            if f.ack and (ackp == "all" or
                          (ackp == "some" and self.rnd.random() < 0.5)):
                f.ack()
                rec["acks"].append((nid, time.time(), True, "now"))
            elif f.ack and ackp == "late":
                late.append((now + self.ack_s * 1.3, nid, f.ack))
            if proto == "ws" and not rec["final"] and \
                    self.rnd.random() < 0.03:
                protocols.send_mark_read(conn, nid)
                rec["mr_sent"].append((nid, time.time()))
        elif f.event == "error":
            self.rec.note("error_event", dev=self.name, data=f.data)
        else:
            self.rec.note("unknown_event", dev=self.name, ev=f.event)

    def _catch_up_after_cut(self, rec):
        """A replay is cut at 100: the rest is read by REST (§5)."""
        if rec["hello"] is None or rec["after"] is None:
            return
        latest = rec["hello"].get("latestId") or 0
        if len(rec["frames"]) >= CATCH_UP_PAGE and \
                latest > rec["after"] + CATCH_UP_PAGE:
            self.rest_catch_up()

    def rest_catch_up(self):
        tok = token(self.host, "host", exp_in=3600)
        after = self.last or 0
        while True:
            try:
                st, _, js, _ = self.ctl.http(
                    "GET", "/notifications/list?after=%d&limit=%d" % (
                        after, CATCH_UP_PAGE), tok=tok)
            except Exception:
                return
            if st != 200 or not js["items"]:
                return
            for it in js["items"]:
                self.rec.add("rest_caught", (self.host, it["id"]))
                after = max(after, it["id"])
            self.last = after
            if len(js["items"]) < CATCH_UP_PAGE:
                return

    def _end(self, conn, rec):
        if rec["close"] is None and rec["end"] == "rst":
            rst_close(conn.sock)
        elif rec["close"] is None and rec["end"] == "half":
            self.zombies.add(time.time() + self.rnd.uniform(3, 9), conn.sock)
        else:
            try:
                conn.close()
            except Exception:
                pass
