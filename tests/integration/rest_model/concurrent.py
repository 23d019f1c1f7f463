"""The concurrent phase: threads book, post and mark read on one host with
read-your-writes checks, then the invariants (ids unique and dense, count
equal to the unread of the list, latestId the highest id, the `updated` of
the answers adding up to the read items, no overlapping 201 stays, every 201
readable); then one Idempotency-Key raced with one body, and with two."""

import datetime as dt
import json
import random
import threading

from harness import token

from .checker import new_client, run_threads
from .model import POSTABLE_TYPES, valid_date


def mark_body(rng, top):
    """A random mark-read body over ids 1..top."""
    k = rng.choice(["ids", "upTo", "all"])
    if k == "ids":
        return {"ids": [rng.randint(1, top) for _ in range(3)]}
    return {"upTo": rng.randint(0, top)} if k == "upTo" else {"all": True}


class ConcurrentPhase:
    def concurrent_phase(self, threads, per_thread):
        host = "hc-%d" % self.seed
        port = self.server.http_port
        results = [[] for _ in range(threads)]
        errors = []
        barrier = threading.Barrier(threads)
        known, known_lock = set(), threading.Lock()   # ids whose 201 came back
        gt_of = [token("cg-%d" % i, "guest") for i in range(threads)]
        ht, svt = token(host, "host"), token("svc-c", "service")

        def worker(i):
            rng = random.Random(self.seed * 1000 + i)
            c, c_other = new_client(port), new_client(port)
            out = results[i]
            try:
                barrier.wait()
                for j in range(per_thread):
                    c2 = rng.choice([c, c_other])   # reads on this or another connection
                    x = rng.random()
                    if x < 0.45:
                        ci = dt.date(2028, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
                        body = {"hostId": host, "roomId": "cr-%d" % rng.randint(0, 3),
                                "checkIn": ci.isoformat(), "guests": 2,
                                "checkOut": (ci + dt.timedelta(days=rng.randint(1, 4))).isoformat()}
                        st, h, js, raw = c.req("POST", "/bookings", body=body, token=gt_of[i])
                        out.append(("book", body, st, js, h.get("location")))
                        if st != 201:
                            continue
                        with known_lock:
                            known.add(js["notification"]["id"])
                        st2, h2, js2, raw2 = c2.req("GET", h.get("location"), token=gt_of[i])
                        if st2 != 200 or js2 != js["booking"]:
                            errors.append("read-your-writes: booking answered 201, GET %s"
                                          " gives %d" % (h.get("location"), st2))
                    elif x < 0.6:
                        body = {"hostId": host, "type": rng.choice(POSTABLE_TYPES),
                                "title": "c%d-%d" % (i, j), "body": "b"}
                        st, h, js, raw = c.req("POST", "/notifications", body=body, token=svt)
                        out.append(("notif", body, st, js, None))
                        if st != 201:
                            continue
                        nid = js["notification"]["id"]
                        with known_lock:
                            known.add(nid)
                        st2, h2, js2, raw2 = c2.req(
                            "GET", "/notifications/list?limit=1&after=%d" % (nid - 1), token=ht)
                        if st2 != 200 or [it["id"] for it in js2["items"]] != [nid]:
                            errors.append("read-your-writes: notification %d answered 201,"
                                          " list after=%d gives %r" % (nid, nid - 1, raw2[:200]))
                        st3, h3, js3, raw3 = c2.req("GET", "/notifications/count", token=ht)
                        if st3 != 200 or js3["latestId"] < nid:
                            errors.append("read-your-writes: notification %d answered 201,"
                                          " count says %r" % (nid, js3))
                    elif x < 0.9:
                        body = mark_body(rng, 200)
                        with known_lock:   # only ids answered 201 before it was sent
                            must = {x for x in body.get("ids", []) if x in known}
                        st, h, js, raw = c.req("POST", "/notifications/mark-read",
                                               body=body, token=ht)
                        out.append(("mark", body, st, js, None))
                        if st != 200 or not must:
                            continue
                        st2, h2, js2, raw2 = c2.req(
                            "GET", "/notifications/list?unread=true&limit=100&after=%d"
                            % (min(body["ids"]) - 1), token=ht)
                        still = [it["id"] for it in js2["items"] if it["id"] in must]
                        if still:
                            errors.append("read-your-writes: mark-read %r answered 200, yet"
                                          " %s still unread" % (body["ids"], still))
                    else:
                        st, h, js, raw = c.req("GET", "/notifications/count", token=ht)
                        out.append(("count", None, st, js, h.get("etag")))
            except Exception as e:  # noqa: BLE001 (reported as a divergence)
                errors.append("thread %d: %r" % (i, e))
            finally:
                c.close()
                c_other.close()

        run_threads(worker, threads)
        ctx0 = {"req": "concurrent phase host %s" % host, "ans": ""}
        for e in errors:
            self.fail("concurrent worker error " + e, ctx0)
        created, total = self._check_concurrent_answers(host, results, ctx0)
        self._race_one_key(host, threads, total)

    def _check_concurrent_answers(self, host, results, ctx0):
        created, notif_ids = {}, set()
        for kind, body, st, js, extra in (a for res in results for a in res):
            self.stat("conc %s %d" % (kind, st))
            if kind in ("book", "notif"):
                if st == 201:
                    nid = js["notification"]["id"]
                    if nid in notif_ids:
                        self.fail("concurrent: notification id %d handed out twice" % nid, ctx0)
                    notif_ids.add(nid)
                    if kind == "book":
                        created[js["booking"]["id"]] = js["booking"]
                elif not (kind == "book" and st == 409):
                    self.fail("concurrent %s answered %d %r" % (kind, st, js), ctx0)
            elif kind == "mark":
                if st != 200 or not isinstance(js, dict) or js.get("updated", -1) < 0 \
                        or js.get("unread", -1) < 0:
                    self.fail("concurrent mark-read answered %d %r" % (st, js), ctx0)
            elif st != 200 or extra != '"all-%d-%d"' % (js["unread"], js["latestId"]):
                self.fail("concurrent count %d %r etag %r" % (st, js, extra), ctx0)
        self.check_no_overlap(created.values(), "concurrent", ctx0)
        total = len(notif_ids)
        if sorted(notif_ids) != list(range(1, total + 1)):
            self.fail("concurrent: ids not dense 1..%d: %s" % (total, sorted(notif_ids)[:20]), ctx0)
        items = self.all_items(host, "concurrent")
        ids = [it["id"] for it in items]
        if ids != sorted(set(ids), reverse=True):
            self.fail("concurrent: list not strictly newest first / duplicates", ctx0)
        if sorted(ids) != sorted(notif_ids):
            self.fail("concurrent: list ids %d items differ from the %d ids answered 201"
                      % (len(ids), total), ctx0)
        self.check_updated_sum(host, items, [a for res in results for a in res
                                             if a[0] == "mark"], "concurrent", ctx0)
        self.check_count_agrees(host, items, "concurrent")
        for bid, b in created.items():
            st, h, js, rawb, ctx, *_ = self.call("GET", "/bookings/" + bid,
                                                 tok=self.t(host, "host"))
            if st != 200 or js != b:
                self.fail("concurrent: booking %s not readable as answered" % bid, ctx)
        return created, total

    def check_no_overlap(self, bookings, what, ctx0):
        """No two bookings answered 201 share a night of one room."""
        by_room = {}
        for b in bookings:
            by_room.setdefault((b["hostId"], b["roomId"]), []).append(
                (valid_date(b["checkIn"]), valid_date(b["checkOut"]), b["id"]))
        for stays in by_room.values():
            stays.sort()
            for a, b in zip(stays, stays[1:]):
                if b[0] < a[1]:
                    self.fail("%s: overlapping bookings both 201: %s %s" % (what, a, b), ctx0)

    def check_updated_sum(self, host, items, marks, what, ctx0):
        """The `updated` of the mark-reads answered 200 add up to the read items."""
        upd = sum(js["updated"] for kind, body, st, js, *_ in marks if st == 200)
        read = sum(1 for it in items if it["readAt"] is not None)
        if upd != read:
            self.fail("%s: %s: the mark-read answers' 'updated' add up to %d, but %d"
                      " notifications are read" % (what, host, upd, read), ctx0)

    def _race_one_key(self, host, threads, total):
        """threads requests with one key at once: with one body, one booking
        and the same 201 for all; with two bodies, one body wins (identical
        201s) and the other is 409."""
        port = self.server.http_port
        gt = token("racer", "guest")
        body = {"hostId": host, "roomId": "race-room", "checkIn": "2029-01-01",
                "checkOut": "2029-01-03", "guests": 1}
        two = [dict(body, roomId="race-room-a"), dict(body, roomId="race-room-b")]

        def race(key, body_of):
            answers, bar = [], threading.Barrier(threads)

            def one(i):
                c = new_client(port)
                bar.wait()
                try:
                    st, h, js, raw = c.req("POST", "/bookings", body=body_of(i), token=gt,
                                           headers={"Idempotency-Key": key})
                    answers.append((i % 2, st, js))
                except Exception as e:  # noqa: BLE001 (reported as a divergence)
                    answers.append((i % 2, "exc", repr(e)))
                c.close()
            run_threads(one, threads)
            return answers

        key = "race-%d" % self.seed
        answers = race(key, lambda i: body)
        sts = [a[1] for a in answers]
        bodies = {json.dumps(a[2], sort_keys=True) for a in answers}
        if sts != [201] * threads or len(bodies) != 1:
            self.fail("concurrent same-key bookings: statuses %s, %d distinct bodies"
                      % (sts, len(bodies)), {"req": "%d x POST /bookings Idempotency-Key %s"
                                             % (threads, key), "ans": answers})
        key2 = "race2-%d" % self.seed
        answers = race(key2, lambda i: two[i % 2])
        winners = {w for w, st, js in answers if st == 201}
        ok = len(winners) == 1 and all(
            st in (201, 409) and (st == 201) == (w in winners) for w, st, js in answers) \
            and len({json.dumps(js, sort_keys=True) for w, st, js in answers if st == 201}) == 1
        if not ok:
            self.fail("one key, two bodies at once: expected one body to win (201s"
                      " identical), the other 409",
                      {"req": "%d x POST /bookings Idempotency-Key %s, two bodies"
                       % (threads, key2), "ans": answers})
        st, h, js, rawb, ctx, *_ = self.call("GET", "/notifications/count",
                                             tok=self.t(host, "host"))
        if js.get("latestId") != total + 1 + len(winners):
            self.fail("concurrent same-key: latestId %r, expected %d (one booking each)"
                      % (js.get("latestId"), total + 1 + len(winners)), ctx)
