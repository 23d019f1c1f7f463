"""Restarts on the same data dir (SIGTERM: exit 0 and /ws closed with 1001;
kill -9) and the full comparison of the server's state with the model that
follows each: counts, every notification both ways, every booking, and
replays of the latest idempotency records."""

import signal

from .checker import new_client
from .model import CATS
from .ops_bookings import booking_request_of
from .ops_notifications import notif_request_of
from .ops_reads import READ_HOSTS


class Durability:
    def stop_server(self, hard):
        """kill -9, or SIGTERM (exit 0, /ws sessions closed with 1001)."""
        self.client.close()
        if hard:
            self.server.kill9()
            self.ws_close()
            return
        rc = self.server.stop(signal.SIGTERM)
        if rc != 0:
            self.fail("SIGTERM exit status %r (§1: exit 0)" % (rc,),
                      {"req": "SIGTERM", "ans": rc})
        self.ws_close(sigterm=True)

    def start_again(self):
        """A new process on the same data dir, with fresh sessions."""
        self.server.start()
        self.client = new_client(self.server.http_port)
        self.restarts += 1
        self.ws_open()

    def restart(self, hard):
        what = "kill -9" if hard else "SIGTERM"
        self.stop_server(hard)
        self.start_again()
        self.stat("restart %s" % what)
        if self.args.allow_gaps:   # burned, never shown ids are forgotten by a restart
            for hs in self.model.hosts.values():
                hs.last_id = max(hs.notifs) if hs.notifs else 0
        # cursor walks in progress go on across the restart: cursors are opaque
        self.full_check("after %s" % what)

    def full_check(self, why):
        self.stat("full check")
        m = self.model
        for host in READ_HOSTS:
            hs = m.host(host)
            for cat in [None] + CATS:
                st, h, js, rawb, ctx, *_ = self.call(
                    "GET", "/notifications/count" + ("?category=" + cat if cat else ""),
                    tok=self.t(host, "host"))
                exp = {"unread": hs.unread(cat), "latestId": hs.latest(cat)}
                if st != 200 or js != exp:
                    self.fail("full check (%s): count %s model %r" % (why, cat, exp), ctx)
            # an ascending walk over everything, then a descending one over the unread
            cur = self.do_list(host, None, None, 100, after=0)
            while cur:
                cur = self.do_list(host, None, None, 100, cursor=cur)
            cur = self.do_list(host, None, True, 37)
            while cur:
                cur = self.do_list(host, None, True, 37, cursor=cur)
        for bid, b in sorted(m.bookings.items()):
            st, h, js, rawb, ctx, *_ = self.call("GET", "/bookings/" + bid,
                                                 tok=self.t("svc", "service"))
            if st != 200 or js != b:
                self.fail("full check (%s): booking %s" % (why, bid), ctx)
        for (principal, key), (fp, body0, loc0) in list(m.idem.items())[-5:]:
            self.check_replay(why, principal, key, body0, loc0)

    def check_replay(self, why, principal, key, body0, loc0):
        """The idempotency record survives: the first request sent again
        gets the first 201 again."""
        role, sub = principal.split(":", 1)
        if "booking" in body0:
            path, body = "/bookings", booking_request_of(body0["booking"], role)
        else:
            path, body = "/notifications", notif_request_of(body0["notification"])
        st, h, js, rawb, ctx, *_ = self.call("POST", path, body=body, tok=self.t(sub, role),
                                             headers={"Idempotency-Key": key})
        if st != 201 or js != body0 or (loc0 and h.get("location") != loc0):
            self.fail("full check (%s): idempotent replay of %s differs" % (why, key), ctx)
