"""POST /notifications/mark-read (§4): ids (read, unknown, another host's),
upTo and all, by the host or an admin, and bad bodies and roles."""

from .bodies import HOSTS
from .ops_reads import READ_HOSTS


class MarkReadOps:
    def _pick_ids(self, hs):
        r, m = self.rng, self.model
        ids = []
        for _ in range(r.choice([0, 1, 1, 2, 3, 5, 10])):
            c = r.random()
            if c < 0.6 and hs.notifs:
                ids.append(r.choice(list(hs.notifs)))   # maybe read already
            elif c < 0.8:
                ids.append(hs.last_id + r.randint(1, 50))   # unknown (future) id
            else:   # an id of another host's
                ids.append(r.randint(1, max(1, m.host(r.choice(HOSTS)).last_id)))
        if r.random() < 0.05:
            ids = list(range(1, 1001))
        return ids

    def op_mark_read(self):
        r = self.rng
        host = r.choice(READ_HOSTS)
        hs = self.model.host(host)
        tok, q = self.host_auth(host)
        kind = r.choice(["ids", "ids", "ids", "upTo", "upTo", "all"])
        if kind == "ids":
            body = {"ids": self._pick_ids(hs)}
            asked = set(body["ids"])
            target = [n for i, n in hs.notifs.items() if i in asked and not n.read]
        elif kind == "upTo":
            body = {"upTo": r.randint(0, hs.last_id + 3)}
            target = [n for n in hs.notifs.values() if n.id <= body["upTo"] and not n.read]
        else:
            body = {"all": True}
            target = [n for n in hs.notifs.values() if not n.read]
        path = "/notifications/mark-read" + ("?" + q.rstrip("&") if q else "")
        st, h, js, rawb, ctx, t0, t1 = self.call("POST", path, body=body, tok=tok)
        if st == 503 and self.args.allow_503:
            self.stat("mark-read 503 (storage full)")
            self.expect_error(st, h, js, ctx, 503)
            return
        exp = {"updated": len(target), "unread": hs.unread() - len(target)}
        if st != 200 or js != exp:
            self.fail("mark-read: model expects 200 %r" % (exp,), ctx)
        self.stat("mark-read %s" % kind)
        for n in target:
            n.read, n.read_win = True, (t0, t1)
        if target:
            self.ws_expect(host, ("read", kind, [n.id for n in target], body.get("upTo"),
                                  hs.unread(), hs.latest()))
        elif host in self.ws:
            self.ws_check(host)   # no frame may come (§5: only when one changed)

    def op_mark_read_bad(self):
        r = self.rng
        host = r.choice(HOSTS)
        tok = self.t(host, "host")
        kind = r.choice(["two", "none", "ids-neg", "ids-str", "ids-many", "upTo-neg",
                         "all-false", "other-host", "guest", "admin-nohost", "badjson"])
        q, status, field, body = "", 400, None, None
        if kind == "two":
            body, field = r.choice([{"ids": [1], "all": True}, {"upTo": 3, "ids": [1]},
                                    {"upTo": 1, "all": True}]), "__any"
        elif kind == "none":
            body, field = {}, "__any"
        elif kind == "ids-neg":
            body, field = {"ids": [r.choice([0, -1])]}, "ids"
        elif kind == "ids-str":
            body, field = {"ids": r.choice([["1"], "1", [1.5], None])}, "ids"
        elif kind == "ids-many":
            body, field = {"ids": list(range(1, 1002))}, "ids"
        elif kind == "upTo-neg":
            body, field = {"upTo": r.choice([-1, "5", 1.5])}, "upTo"
        elif kind == "all-false":
            body, field = {"all": r.choice([False, "true", 1])}, "all"
        elif kind == "other-host":
            body, status = {"all": True}, 403
            q = "?hostId=" + r.choice([x for x in HOSTS if x != host])
        elif kind == "guest":
            body, status, tok = {"all": True}, 403, self.t("g-1", "guest")
            q = "?hostId=" + host
        elif kind == "admin-nohost":
            body, field, tok = {"all": True}, "hostId", self.t("ad", "admin")
        else:
            field = "__any"
        st, h, js, rawb, ctx, *_ = self.call(
            "POST", "/notifications/mark-read" + q, body=body, tok=tok,
            raw="{ids:[1]}" if kind == "badjson" else None)
        self.expect_error(st, h, js, ctx, status, None if field == "__any" else field,
                          field_any=(field == "__any"))
        self.stat("mark-read bad")
