"""The one bellhop process of a campaign: started on the run's data dir,
restarted by SIGTERM and kill -9 in turn, and an HTTP client per thread
that follows it to its new ports."""

import os
import random
import threading
import time

from harness import Client, Server

# SIGTERM drains sessions and the mailer; an AddressSanitizer build on a
# busy machine takes far longer than a Release one.
STOP_TIMEOUT_S = 60


class ServerControl:
    def __init__(self, rec, run_dir, server_args):
        self.rec = rec
        self.server = Server(extra_args=server_args,
                             data_dir=os.path.join(run_dir, "data"),
                             start=False)
        self.http_port = self.ws_port = None
        self.gen = 0              # incremented by each start
        self.up = threading.Event()
        self._tl = threading.local()
        self._stderr = open(os.path.join(run_dir, "server.stderr"), "w")

    def start(self):
        self.server.start()
        self.http_port, self.ws_port = self.server.http_port, self.server.ws_port
        self.gen += 1
        self.up.set()

    def stop(self, kind):
        """Stops the server by SIGTERM ("term") or kill -9 ("kill");
        returns the exit code ("timeout" if SIGTERM did not end it)."""
        self.up.clear()
        if kind == "kill":
            self.server.kill9()
            rc = -9
        else:
            try:
                rc = self.server.stop(timeout=STOP_TIMEOUT_S)
            except RuntimeError:
                rc = "timeout"
        self._stderr.write("==== %s gen %d rc %s\n%s\n" % (
            kind, self.gen, rc, self.server.stderr_text()))
        self._stderr.flush()
        return rc

    def restarter(self, stop_flag, every, seed):
        """Restarts the server every `every` s (±25%), SIGTERM and kill -9
        in turn, until stop_flag is set."""
        rnd = random.Random("restarts-%d" % seed)
        kinds = ["term", "kill"]
        while not stop_flag.wait(every * rnd.uniform(0.75, 1.25)):
            kind = kinds[len(self.rec.restarts) % 2]
            entry = {"kind": kind, "t_signal": time.time()}
            entry["rc"] = self.stop(kind)
            entry["t_down"] = time.time()
            time.sleep(rnd.uniform(0.2, 1.5))
            self.start()
            entry["t_up"] = time.time()
            self.rec.add("restarts", entry)

    def http(self, method, path, body=None, tok=None, headers=None):
        """One request on this thread's keep-alive client; raises on a
        connection failure (the server may be restarting)."""
        c = getattr(self._tl, "client", None)
        if c is None or c.port != self.http_port:
            if c is not None:
                c.close()
            c = self._tl.client = Client(self.http_port, timeout=30)
        try:
            return c.req(method, path, body=body, token=tok, headers=headers)
        except Exception:
            c.close()
            raise
