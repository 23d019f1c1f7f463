"""kill -9 or SIGTERM under load: threads book (each request with its own
Idempotency-Key), post and mark read on one host while the server stops.
Afterwards every 201 reads back and replays, every unanswered request sent
again with its key commits exactly once, ids are dense, and a mark-read
answered 200 left read what had been answered 201 before it was sent. A 503
while stopping carries Retry-After and the error shape."""

import datetime as dt
import random
import threading
import time

from harness import token

from .checker import run_threads, new_client
from .concurrent import mark_body


class CrashPhase:
    def crash_phase(self, hard, threads=3):
        host = "hk-%d-%d" % (self.seed, self.restarts)
        port = self.server.http_port
        lock = threading.Lock()
        done = []      # (kind, key, body, token, status, JSON, sent, received)
        bad503 = []
        stop = threading.Event()

        def worker(i):
            rng = random.Random(self.seed * 7919 + i + self.restarts)
            c = new_client(port)
            gt, svt = token("kg-%d" % i, "guest"), token("ksvc-%d" % i, "service")
            ht = token(host, "host")
            j = 0
            while not stop.is_set():
                j += 1
                x = rng.random()
                key = "crash-%d-%d-%d" % (self.restarts, i, j)
                if x < 0.5:
                    ci = dt.date(2030, 1, 1) + dt.timedelta(days=2 * j)
                    body = {"hostId": host, "roomId": "kr-%d" % i, "checkIn": ci.isoformat(),
                            "checkOut": (ci + dt.timedelta(days=1)).isoformat(), "guests": 1}
                    kind, path, tok = "book", "/bookings", gt
                elif x < 0.7:
                    body = {"hostId": host, "type": "system", "title": "k%d-%d" % (i, j),
                            "body": "b"}
                    kind, path, tok = "notif", "/notifications", svt
                else:
                    body, key = mark_body(rng, 60), None
                    kind, path, tok = "mark", "/notifications/mark-read", ht
                t_send = time.monotonic()
                try:
                    st, h, js, raw = c.req("POST", path, body=body, token=tok,
                                           headers={"Idempotency-Key": key} if key else None)
                    if st == 503 and (not h.get("retry-after") or not isinstance(js, dict)
                                      or (js.get("error") or {}).get("code") != "unavailable"):
                        with lock:
                            bad503.append("503 during stop without Retry-After or error"
                                          " shape: %r %r" % (h, raw[:200]))
                except Exception as e:  # noqa: BLE001 (the server went away)
                    st, js = None, repr(e)
                    c.close()
                with lock:
                    done.append((kind, key, body, tok, st, js, t_send, time.monotonic()))
                if st is None:
                    time.sleep(0.01)
            c.close()

        loader = threading.Thread(target=run_threads, args=(worker, threads))
        loader.start()
        time.sleep(self.rng.uniform(0.15, 0.5))
        self.stop_server(hard)
        time.sleep(0.1)
        stop.set()
        loader.join()
        self.start_again()
        what = "kill -9" if hard else "SIGTERM"
        self.stat("crash phase %s" % what)
        ctx0 = {"req": "crash phase (%s) host %s" % (what, host), "ans": ""}
        for e in bad503[:3]:
            self.fail(e, ctx0)
        created = self._retry_unanswered(done, what, ctx0)
        items = self.all_items(host, "crash phase")
        ids = sorted(it["id"] for it in items)
        if ids != list(range(1, len(ids) + 1)):
            self.fail("crash phase (%s): ids not dense: %s" % (what, ids), ctx0)
        if sorted(created) != ids:
            self.fail("crash phase (%s): notifications without a request %s, answered but"
                      " missing %s" % (what, sorted(set(ids) - set(created)),
                                       sorted(set(created) - set(ids))), ctx0)
        for kind, js, _ in created.values():
            if kind == "book":
                b = js["booking"]
                st, h, jsb, rawb, ctx, *_ = self.call("GET", "/bookings/" + b["id"],
                                                      tok=self.t(host, "host"))
                if st != 200 or jsb != b:
                    self.fail("crash phase (%s): booking %s answered 201 is not readable"
                              % (what, b["id"]), ctx)
        self._check_marks_durable(done, created, {it["id"]: it for it in items}, what, ctx0)
        self.check_count_agrees(host, items, "crash phase")
        self.stat("crash phase objects", len(created))
        self.full_check("after crash phase %s" % what)

    def _retry_unanswered(self, done, what, ctx0):
        """Sends every create again with its key, as a client recovering
        would: a 201 replays, an unanswered one commits once. Returns
        {notification id: (kind, 201 body, time answered or None)}."""
        created = {}
        for kind, key, body, tok, st, js, t_send, t_recv in done:
            self.stat("crash %s %s" % (kind, st))
            if kind == "mark":
                continue
            if st == 201:
                nid = js["notification"]["id"]
                if nid in created:
                    self.fail("crash phase: id %d answered twice" % nid, ctx0)
                created[nid] = (kind, js, t_recv)
            elif st not in (None, 503):
                self.fail("crash phase: %s answered %s %r" % (kind, st, js), ctx0)
        for kind, key, body, tok, st, js, t_send, t_recv in done:
            if kind == "mark":
                continue
            path = "/bookings" if kind == "book" else "/notifications"
            st2, h2, js2, raw2, ctx, *_ = self.call("POST", path, body=body, tok=tok,
                                                    headers={"Idempotency-Key": key})
            if st == 201:
                if st2 != 201 or js2 != js:
                    self.fail("crash phase (%s): a 201 answered before the crash does not"
                              " replay" % what, ctx)
                continue
            if st2 != 201:
                self.fail("crash phase: retry of an unanswered request is %d" % st2, ctx)
                continue
            nid = js2["notification"]["id"]
            if nid in created and created[nid][1] != js2:
                self.fail("crash phase: retry got id %d that another request owns" % nid, ctx)
            created[nid] = (kind, js2, None)
        return created

    def _check_marks_durable(self, done, created, byid, what, ctx0):
        """A mark-read answered 200 left read every id it covers whose
        creation had been answered before it was sent."""
        for kind, key, body, tok, st, js, t_send, t_recv in done:
            if kind != "mark" or st != 200:
                continue
            for nid, (_, _, answered) in created.items():
                if answered is None or answered >= t_send or nid not in byid:
                    continue
                hit = "all" in body or nid <= body.get("upTo", -1) or nid in body.get("ids", ())
                if hit and byid[nid]["readAt"] is None:
                    self.fail("crash phase (%s): notification %d unread although mark-read"
                              " %r answered 200 before the crash" % (what, nid, body), ctx0)
