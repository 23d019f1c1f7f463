"""Rate limits (§7), run only with --timing: what is allowed depends on how
fast the requests go. A server of its own with the default limits (REST 50/s
burst 100 per principal, bookings 10/s burst 20 per guestId): the bursts are
honoured, the excess is 429 in the error shape with Retry-After >= 1, the
buckets are per principal and per guestId, and a 429 creates nothing."""

import datetime as dt
import time

from harness import Server, token

from .checker import new_client


class LimitsPhase:
    def limits_phase(self):
        srv = Server(["--log-level", "warn", "--rate-limit", "50",
                      "--booking-rate-limit", "10"],
                     omit=("--rate-limit", "--booking-rate-limit"))
        c = new_client(srv.http_port)
        try:
            self._limits(c)
        finally:
            c.close()
            srv.cleanup()

    def _check_429(self, answer, what):
        st, h, js, raw = answer
        ctx = {"req": what, "ans": "%s %s %r" % (st, h.get("retry-after"), js)}
        self.expect_error(st, h, js, ctx, 429)
        ra = h.get("retry-after", "")
        if not ra.isdigit() or int(ra) < 1:
            self.fail("Retry-After %r is not whole seconds >= 1" % ra, ctx)

    def _burst(self, n, send, ok_status, burst, rate, what):
        """Sends n requests at once; the allowed ones number burst plus what
        rate refills meanwhile, the others are 429s. Returns those allowed."""
        t0 = time.monotonic()
        out = [send(i) for i in range(n)]
        el = time.monotonic() - t0
        ok = sum(1 for o in out if o[0] == ok_status)
        self.stat("limits: %s ok of %d" % (what, n), ok)
        if ok < burst or ok > burst + rate * el + 1:
            self.fail("%s limit: %d of %d allowed in %.3f s (burst %d, %d/s)"
                      % (what, ok, n, el, burst, rate), {"req": what, "ans": ""})
        for o in out:
            if o[0] != ok_status:
                self._check_429(o, "%s past the burst" % what)
        return ok

    def _limits(self, c):
        ht = token("lh1", "host")
        self._burst(140, lambda i: c.req("GET", "/notifications/count", token=ht),
                    200, 100, 50, "REST")
        for path, tok in (("/notifications/count", token("lh2", "host")), ("/healthz", None)):
            st, h, js, raw = c.req("GET", path, token=tok)
            if st != 200:
                self.fail("%s is limited by another principal's burst" % path,
                          {"req": "GET " + path, "ans": raw})
        gt, svt = token("lg1", "guest"), token("lsvc", "service")

        def book(i, tok=gt, gid=None, key=None):
            ci = dt.date(2032, 1, 1) + dt.timedelta(days=3 * i)
            body = {"hostId": "lh1", "roomId": "lr-%s" % (gid or "g"),
                    "checkIn": ci.isoformat(), "guests": 1,
                    "checkOut": (ci + dt.timedelta(days=1)).isoformat()}
            if gid:
                body["guestId"] = gid
            return c.req("POST", "/bookings", body=body, token=tok,
                         headers={"Idempotency-Key": key} if key else None)
        ok = self._burst(30, book, 201, 20, 10, "bookings")
        # the bucket is the guestId's, whoever books for it
        for i, (gid, want) in enumerate((("lg1", 429), ("lg2", 201))):
            st, h, js, raw = book(100 + i, tok=svt, gid=gid)
            if st != want:
                self.fail("a service booking for guestId %s right after lg1's burst is %d"
                          " (decisions: per guestId)" % (gid, st),
                          {"req": "POST /bookings service guestId=" + gid, "ans": raw})
        # a 429 with a key stores nothing: the same key later creates the booking
        st, h, js, raw = book(102, key="after-429")
        if st == 429:
            time.sleep(float(h.get("retry-after", "1")) + 0.05)
            st2, h2, js2, raw2 = book(102, key="after-429")
            if st2 != 201:
                self.fail("retry after 429 with the same key is %d" % st2,
                          {"req": "POST /bookings key after-429", "ans": raw2})
        time.sleep(2.1)
        st, h, js, raw = c.req("GET", "/notifications/count", token=ht)
        if st != 200 or js.get("latestId") != ok + 2:
            self.fail("limits: latestId %r, expected %d (only 201s create)" % (js, ok + 2),
                      {"req": "count", "ans": raw})
