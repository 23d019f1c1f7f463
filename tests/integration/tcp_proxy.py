"""A loopback TCP proxy for tests that need a network that fails on cue:
connections can be refused (closed at once) by a rule on their number and
time, the first one can be cut after a while, a WebSocket session can be
dropped right after its handshake or opened late on the server's side, and
answers can be delayed. Threads only; the data is passed through untouched
unless a rule says otherwise."""

import base64
import hashlib
import socket
import threading
import time

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


class TcpProxy:
    """Listens on an ephemeral loopback port (`.port`) and forwards to
    127.0.0.1:`target_port`.

    refuse(n, t) decides for connection n (1 for the first) arriving t
    seconds after the first one; a refused connection is closed unread.
    cut_first_s: close both sides of the first connection that long after
    it came (a dropped network path).
    drop_after_handshake(n, t): pass the server's handshake answer (the
    101) of connection n to the client, then close both sides: a session
    that opens and is dropped before it brings anything.
    late_upgrade_s: the first connection's WebSocket handshake is answered
    by the proxy itself, and handed to the server only that long after (its
    own 101 is swallowed): a server that subscribes the session late.
    answer_delay_s: every chunk from the server waits that long."""

    def __init__(self, target_port, refuse=lambda n, t: False,
                 cut_first_s=None, drop_after_handshake=lambda n, t: False,
                 late_upgrade_s=None, answer_delay_s=0):
        self.target_port = target_port
        self.refuse = refuse
        self.cut_first_s = cut_first_s
        self.drop_after_handshake = drop_after_handshake
        self.late_upgrade_s = late_upgrade_s
        self.answer_delay_s = answer_delay_s
        self.connections = 0
        self.refused = 0
        self.dropped = 0
        self._first_at = None
        self._sockets = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        for s in [self._listener, *self._sockets]:
            self._shut(s)
            s.close()

    def _accept(self):
        while True:
            try:
                down, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            n = self.connections
            now = time.monotonic()
            if self._first_at is None:
                self._first_at = now
            t = now - self._first_at
            if self.refuse(n, t):
                self.refused += 1
                down.close()
                continue
            self._sockets.append(down)
            threading.Thread(target=self._serve, args=(n, t, down),
                             daemon=True).start()

    def _serve(self, n, t, down):
        early = b""  # bytes read from the client before the server is up
        if n == 1 and self.late_upgrade_s is not None:
            early = self._answer_upgrade(down)
            time.sleep(self.late_upgrade_s)
        try:
            up = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            self._cut(down)
            return
        self._sockets.append(up)
        if early:
            up.sendall(early)
            self._read_head(up)  # the server's own 101, swallowed
        drop = self.drop_after_handshake(n, t)
        threading.Thread(target=self._pipe, args=(down, up),
                         daemon=True).start()
        threading.Thread(target=self._pipe_down, args=(up, down, drop),
                         daemon=True).start()
        if n == 1 and self.cut_first_s is not None:
            timer = threading.Timer(self.cut_first_s, self._cut,
                                    args=(down, up))
            timer.daemon = True
            timer.start()

    def _answer_upgrade(self, down):
        """Reads the client's upgrade request and answers 101 for the
        server; returns the request's bytes, to pass on later."""
        head = self._read_head(down)
        key = b""
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        down.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        return head

    @staticmethod
    def _read_head(sock):
        """Reads an HTTP head, a byte at a time so that nothing after it
        is taken from the socket."""
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = sock.recv(1)
            if not byte:
                break
            head += byte
        return head

    def _pipe_down(self, up, down, drop):
        """Server to client: delayed, or cut right after the handshake."""
        if drop:
            head = self._read_head(up)
            try:
                down.sendall(head)
            except OSError:
                pass
            self.dropped += 1
            self._cut(down, up)
            return
        self._pipe(up, down, self.answer_delay_s)

    def _pipe(self, src, dst, delay_s=0):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay_s:
                    time.sleep(delay_s)
                dst.sendall(data)
        except OSError:
            pass
        self._cut(src, dst)

    def _cut(self, *socks):
        for s in socks:
            self._shut(s)

    @staticmethod
    def _shut(s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
