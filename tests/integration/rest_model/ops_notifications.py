"""POST /notifications (§4) by every role: valid, with one invalid field,
with keys (new, replayed, reused with another body)."""

import json

from .bodies import SERVICES
from .model import Notif

SHORT_KEYS = ["k", "t:k", "0k", "a:t:k", ":", "n1"]


def notif_fp(body):
    """What makes two notifications with one key the same request."""
    return json.dumps(["notification", body["hostId"], body["type"], body["title"],
                       body["body"], body.get("data") or {}], sort_keys=True)


def notif_request_of(n0):
    """The request body that posts notification object n0 again."""
    return {k: n0[k] for k in ("hostId", "type", "title", "body", "data")}


class NotificationOps:
    def _pick_notif_key(self, principal, body):
        """(key or None, body to send)."""
        r, m = self.rng, self.model
        mine = [k for (p, k) in m.idem if p == principal]
        if r.random() < 0.15 and mine:
            key = r.choice(mine)
            body0 = m.idem[(principal, key)][1]
            if "booking" not in body0 and r.random() < 0.6:
                body = notif_request_of(body0["notification"])
                if not body["data"] and r.random() >= 0.5:
                    del body["data"]
                if r.random() < 0.3:
                    body["unknown"] = True
            return key, body
        if r.random() < 0.3:
            self.seq_keys += 1
            key = "nt-%d-%d" % (self.seed, self.seq_keys)
            if r.random() < 0.3:
                key = r.choice(SHORT_KEYS)
            return key, body
        return None, body

    def op_post_notification(self):
        r, m = self.rng, self.model
        role = r.choice(["service", "service", "admin", "guest", "host"])
        sub = {"service": "svc-a", "admin": "ad", "guest": "g-1", "host": "h1"}[role]
        if r.random() < 0.7 and role in ("service", "admin"):
            sub = r.choice(SERVICES)
        principal = "%s:%s" % (role, sub)
        key, body = self._pick_notif_key(principal, self.gen_notif_body())
        fault = None
        if role in ("service", "admin") and key is None and r.random() < 0.15:
            fault = self.notif_fault(body)
        headers = {"Idempotency-Key": key} if key is not None else {}
        st, h, js, rawb, ctx, t0, t1 = self.call("POST", "/notifications", body=body,
                                                 tok=self.t(sub, role), headers=headers)
        if role not in ("service", "admin"):
            self.stat("post notif 403")
            self.expect_error(st, h, js, ctx, 403)
            return
        if fault:
            self.stat("post notif invalid")
            self.expect_error(st, h, js, ctx, 400, fault)
            return
        if st == 503 and self.args.allow_503:
            self.stat("post notif 503 (storage full)")
            self.expect_error(st, h, js, ctx, 503)
            return
        fp = notif_fp(body)
        if key is not None and (principal, key) in m.idem:
            fp0, body0, _ = m.idem[(principal, key)]
            if fp0 == fp:
                self.stat("post notif idem replay")
                if st != 201 or js != body0:
                    self.fail("notification idempotent replay differs from the first 201", ctx)
            else:
                self.stat("post notif idem reuse 409")
                self.expect_error(st, h, js, ctx, 409)
            return
        if st != 201:
            self.fail("model expects 201 for a valid notification", ctx)
            return
        self.stat("post notif 201")
        nid = m.host(body["hostId"]).last_id + 1
        got = (js or {}).get("notification") if isinstance(js, dict) else None
        if not isinstance(js, dict) or set(js) != {"notification"}:
            self.fail("201 body keys", ctx)
        if isinstance(got, dict):
            nid = self.allow_gap(got.get("id"), nid, "notification")
            if got.get("id") != nid:
                self.fail("notification id %r, model expects %d" % (got.get("id"), nid), ctx)
                nid = got.get("id")
        n = Notif(nid, body["hostId"], body["type"], body["title"], body["body"],
                  body.get("data") or {}, (t0, t1))
        self.compare_notif(got, n, ctx)
        if key is not None:
            m.idem[(principal, key)] = (fp, js, None)
        self.add_notif(n)
