"""Everything the campaign observes, with client-side times (time.time(),
the clock the server's audit timestamps and the SMTP sink also use), saved
as records.json for the verdict."""

import json
import os
import threading
import time


class Recorder:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.T0 = time.time()
        self.args = vars(args)
        self.created = []      # host, nid, key, room, type, cat, t_first, t_201, tries
        self.failed_posts = []  # final answers other than 201
        self.sockets = []      # one dict a session (devices.py)
        self.rest_caught = []  # (host, nid) read by REST after a replay cut
        self.reads = []        # REST mark-reads: host, req, t_send, t_resp, status, body
        self.polls = []        # count polls: host, t_send, t_resp, status, inm, etag, body
        self.restarts = []     # kind, t_signal, t_down, t_up, rc
        self.notes = []        # kind, t, ...: SMTP outages, device exceptions
        self.store, self.audit, self.mails = {}, {}, []
        self.T_STOP = self.T_SETTLED = None
        self.final_rc = None

    def add(self, name, item):
        with self.lock:
            getattr(self, name).append(item)

    def note(self, kind, **kw):
        kw["kind"], kw["t"] = kind, round(time.time() - self.T0, 3)
        self.add("notes", kw)

    def created_for(self, host):
        with self.lock:
            return [c["nid"] for c in self.created if c["host"] == host]

    def save(self, run_dir):
        keys = ("created", "failed_posts", "sockets", "rest_caught", "reads",
                "polls", "restarts", "notes", "store", "audit", "mails", "T0",
                "T_STOP", "T_SETTLED", "final_rc", "args")
        path = os.path.join(run_dir, "records.json")
        with open(path, "w") as f:
            json.dump({k: getattr(self, k) for k in keys}, f, default=str)
        return path


def load(run_dir):
    with open(os.path.join(run_dir, "records.json")) as f:
        return json.load(f)
