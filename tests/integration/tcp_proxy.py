"""A loopback TCP proxy for tests that need a network that fails on cue:
connections can be refused (closed at once) by a rule on their number and
time, and the first one can be cut after a while. Threads only; the data is
passed through untouched."""

import socket
import threading
import time


class TcpProxy:
    """Listens on an ephemeral loopback port (`.port`) and forwards to
    127.0.0.1:`target_port`.

    refuse(n, t) decides for connection n (1 for the first) arriving t
    seconds after the first one; a refused connection is closed unread.
    cut_first_s: close both sides of the first connection that long after
    it came (a dropped network path)."""

    def __init__(self, target_port, refuse=lambda n, t: False,
                 cut_first_s=None):
        self.target_port = target_port
        self.refuse = refuse
        self.cut_first_s = cut_first_s
        self.connections = 0
        self.refused = 0
        self._first_at = None
        self._sockets = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
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
            now = time.monotonic()
            if self._first_at is None:
                self._first_at = now
            if self.refuse(self.connections, now - self._first_at):
                self.refused += 1
                down.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                down.close()
                continue
            self._sockets += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()
            if self.connections == 1 and self.cut_first_s is not None:
                timer = threading.Timer(self.cut_first_s, self._cut,
                                        args=(down, up))
                timer.daemon = True
                timer.start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
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
