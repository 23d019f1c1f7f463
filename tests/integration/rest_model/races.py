"""Two races across host actors. One key sent at once as a booking to host A
and a notification to host B: at most one 201, and a 409 creates nothing.
Requests meeting host actors that retire (bites with a small --host-idle-ms
in --server-args): per host, ids dense and unique, each 201 listed, count
agreeing with the list, no overlapping stays."""

import datetime as dt
import random
import threading
import time

from harness import token

from .checker import new_client, run_threads
from .concurrent import mark_body


class Races:
    def cross_host_key_race(self, rounds=40):
        port = self.server.http_port
        ha, hb = "xa-%d" % self.seed, "xb-%d" % self.seed
        svt = token("xsvc-%d" % self.seed, "service")
        outcomes = []
        for rnd in range(rounds):
            key = "xk-%d" % rnd
            ci = dt.date(2033, 1, 1) + dt.timedelta(days=2 * rnd)
            requests = [("/bookings", {"hostId": ha, "roomId": "xr", "guests": 1,
                                       "checkIn": ci.isoformat(), "guestId": "xg",
                                       "checkOut": (ci + dt.timedelta(days=1)).isoformat()}),
                        ("/notifications", {"hostId": hb, "type": "system",
                                            "title": "x%d" % rnd, "body": "b"})]
            res = [None, None]
            bar = threading.Barrier(2)

            def go(i):
                c = new_client(port)
                bar.wait()
                if rnd % 2:
                    time.sleep(0.0005)
                path, body = requests[i]
                res[i] = c.req("POST", path, body=body, token=svt,
                               headers={"Idempotency-Key": key})[0]
                c.close()
            run_threads(go, 2)
            outcomes.append((key, res[0], res[1]))
            self.stat("xkey booking %d / notif %d" % (res[0], res[1]))
        ctx = {"req": "cross-host key race", "ans": outcomes[:10]}
        both = [k for k, a, b in outcomes if a == 201 and b == 201]
        if both:
            self.fail("one key, booking + notification at once: both 201 for %s" % both[:5], ctx)
        for host, i in ((ha, 1), (hb, 2)):
            n = sum(1 for o in outcomes if o[i] == 201)
            ids = [it["id"] for it in self.all_items(host, "cross-host key race")]
            if len(ids) != n:
                self.fail("cross-host key race: %s has %d notifications but %d requests"
                          " were answered 201 (a 409 created something?)"
                          % (host, len(ids), n), ctx)
            if sorted(ids) != list(range(1, len(ids) + 1)):
                # §3 asks unique and increasing, not dense: a booking refused
                # on the key may use its id up (decisions.md)
                self.stat("note: id gaps on %s after the key race" % host[:2])

    def retire_race_phase(self, threads=4, per_thread=200):
        hosts = ["hr%d-%d" % (i, self.seed) for i in range(3)]
        port = self.server.http_port
        res, errs, lock = [], [], threading.Lock()
        svt = token("rsvc", "service")

        def worker(i):
            rng = random.Random(self.seed * 31 + i)
            c = new_client(port)
            gt = token("rg-%d" % i, "guest")
            try:
                for j in range(per_thread):
                    host = rng.choice(hosts)
                    x = rng.random()
                    if x < 0.4:
                        self._retire_booking(c, rng, host, gt, "rr-%d-%d" % (i, j), res, errs, lock)
                    elif x < 0.6:
                        body = {"hostId": host, "type": "new_message", "title": "m", "body": "b"}
                        st, h, js, raw = c.req("POST", "/notifications", body=body, token=svt)
                        with lock:
                            res.append(("notif", host, body, st, js))
                    elif x < 0.85:
                        body = mark_body(rng, 80)
                        st, h, js, raw = c.req("POST", "/notifications/mark-read", body=body,
                                               token=token(host, "host"))
                        with lock:
                            res.append(("mark", host, body, st, js))
                    else:
                        st, h, js, raw = c.req("GET", "/notifications/count",
                                               token=token(host, "host"))
                        if st != 200 or h.get("etag") != '"all-%d-%d"' % (
                                js["unread"], js["latestId"]):
                            with lock:
                                errs.append("count %d %r %r" % (st, js, h.get("etag")))
                    if rng.random() < 0.3:
                        time.sleep(rng.uniform(0, 0.01))
            except Exception as e:  # noqa: BLE001 (reported as a divergence)
                errs.append("thread %d: %r" % (i, e))
            c.close()

        run_threads(worker, threads)
        ctx0 = {"req": "retire race phase", "ans": ""}
        for e in errs:
            self.fail("retire race: " + e, ctx0)
        for host in hosts:
            self._check_retire_host(host, [a[:1] + a[2:] for a in res if a[1] == host], ctx0)
        self.stat("retire race phase")

    @staticmethod
    def _retire_booking(c, rng, host, gt, key, res, errs, lock):
        """A booking, half of them with a key; half of those answered 201
        are sent again after a short pause and must replay."""
        ci = dt.date(2031, 1, 1) + dt.timedelta(days=rng.randint(0, 60))
        body = {"hostId": host, "roomId": rng.choice(["x", "y"]), "checkIn": ci.isoformat(),
                "checkOut": (ci + dt.timedelta(days=rng.randint(1, 3))).isoformat(),
                "guests": 1}
        headers = {"Idempotency-Key": key} if rng.random() < 0.5 else None
        st, h, js, raw = c.req("POST", "/bookings", body=body, token=gt, headers=headers)
        if headers and st == 201 and rng.random() < 0.5:
            time.sleep(rng.uniform(0, 0.008))
            st2, h2, js2, raw2 = c.req("POST", "/bookings", body=body, token=gt,
                                       headers=headers)
            if st2 != 201 or js2 != js:
                with lock:
                    errs.append("replay after a pause differs: %s %s -> %d %r"
                                % (key, js, st2, js2))
        with lock:
            res.append(("book", host, body, st, js))

    def _check_retire_host(self, host, answers, ctx0):
        """answers: (kind, body, status, JSON) of the requests to host."""
        created, bookings = set(), []
        for kind, body, st, js in answers:
            self.stat("retire %s %s" % (kind, st))
            if kind == "mark":
                if st != 200:
                    self.fail("retire race: mark-read answered %s %r" % (st, js), ctx0)
            elif st == 201:
                nid = js["notification"]["id"]
                if nid in created:
                    self.fail("retire race: id %d of %s answered twice" % (nid, host), ctx0)
                created.add(nid)
                if kind == "book":
                    bookings.append(js["booking"])
            elif not (kind == "book" and st == 409):
                self.fail("retire race: %s answered %s %r" % (kind, st, js), ctx0)
        self.check_no_overlap(bookings, "retire race", ctx0)
        items = self.all_items(host, "retire race")
        ids = sorted(it["id"] for it in items)
        if ids != list(range(1, len(ids) + 1)) or ids != sorted(created):
            self.fail("retire race: %s ids %s vs answered %s"
                      % (host, ids[:30], sorted(created)[:30]), ctx0)
        self.check_count_agrees(host, items, "retire race")
        self.check_updated_sum(host, items, [a for a in answers if a[0] == "mark"],
                               "retire race", ctx0)
