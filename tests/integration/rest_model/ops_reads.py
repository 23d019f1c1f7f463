"""Host-scoped reads (§4): count (ETag, If-None-Match, HEAD, Cache-Control),
list (limit, cursor, after, unread, category) with cursor walks interleaved
with everything else, and bad queries and roles."""

from .bodies import HOSTS
from .model import CATS

READ_HOSTS = HOSTS + ["h-empty"]


def etag_matches(inm, etag):
    return inm is not None and etag in [
        x.strip().replace("W/", "") for x in inm.split(",")]


class ReadOps:
    def host_auth(self, host):
        """Token and query prefix to act for host: the host itself (naming
        itself or not), or an admin."""
        x = self.rng.random()
        if x < 0.15:
            return self.t("ad", "admin"), "hostId=%s&" % host
        if x < 0.25:
            return self.t(host, "host"), "hostId=%s&" % host
        return self.t(host, "host"), ""

    def op_count(self):
        r = self.rng
        host = r.choice(READ_HOSTS)
        cat = r.choice([None, None, None] + CATS)
        tok, q = self.host_auth(host)
        if cat:
            q += "category=%s&" % cat
        path = "/notifications/count" + ("?" + q.rstrip("&") if q else "")
        hs = self.model.host(host)
        unread, latest = hs.unread(cat), hs.latest(cat)
        etag = '"%s-%d-%d"' % (cat or "all", unread, latest)
        prev = self.etags.get((host, cat))
        inm = None
        if prev is not None and r.random() < 0.6:
            inm = prev
            if r.random() < 0.2:
                inm = r.choice(['W/' + prev, '"zzz", ' + prev, '"zzz"'])
        method = "HEAD" if r.random() < 0.08 else "GET"
        if "hostId=" in path and r.random() < 0.3:
            path = path.replace("hostId=" + host,
                                "hostId=" + "".join("%%%02X" % ord(c) for c in host))
        st, h, js, rawb, ctx, *_ = self.call(
            method, path, tok=tok, headers={"If-None-Match": inm} if inm else None)
        if h.get("cache-control") != "no-cache":
            self.fail("count Cache-Control %r (decisions: no-cache)"
                      % h.get("cache-control"), ctx)
        match = etag_matches(inm, etag)
        if method == "HEAD":
            self.stat("count HEAD")
            exp_st = 304 if match else 200
            if st != exp_st or rawb or h.get("etag") != etag:
                self.fail("HEAD count: expected %d, ETag %s, no body" % (exp_st, etag), ctx)
            return
        if match:
            self.stat("count 304")
            if st != 304 or rawb:
                self.fail("expected 304 with no body (If-None-Match %s matches %s)"
                          % (inm, etag), ctx)
            if h.get("etag") != etag:
                self.fail("304 ETag %r, model %r" % (h.get("etag"), etag), ctx)
        else:
            self.stat("count 200")
            if st != 200 or js != {"unread": unread, "latestId": latest}:
                self.fail("count: model expects 200 %r"
                          % ({"unread": unread, "latestId": latest},), ctx)
            if h.get("etag") != etag:
                self.fail("ETag %r, model %r (changes exactly when unread/latestId change)"
                          % (h.get("etag"), etag), ctx)
        self.etags[(host, cat)] = etag

    def expected_page(self, host, cat, unread_only, direction, pos, limit):
        """The model's page: (notifications, whether more follow)."""
        ns = [n for n in self.model.host(host).notifs.values()
              if (cat is None or n.cat == cat) and (not unread_only or not n.read)]
        if direction == "d":
            ns = sorted((n for n in ns if pos is None or n.id < pos), key=lambda n: -n.id)
        else:
            ns = sorted((n for n in ns if n.id > pos), key=lambda n: n.id)
        return ns[:limit], len(ns) > limit

    def do_list(self, host, cat, unread_only, limit, cursor=None, after=None, walk=None):
        """One list request checked against the model. The cursor is kept
        with the direction and position the model reads it as; returns the
        next (cursor, direction, position), or None at the end."""
        tok, q = self.host_auth(host)
        parts = []
        if limit is not None:
            parts.append("limit=%d" % limit)
        if cat:
            parts.append("category=" + cat)
        if unread_only is True:
            parts.append("unread=true")
        elif unread_only == "false":
            parts.append("unread=false")
        if cursor is not None:
            parts.append("cursor=" + cursor[0])
        if after is not None:
            parts.append("after=%d" % after)
        self.rng.shuffle(parts)
        st, h, js, rawb, ctx, *_ = self.call(
            "GET", "/notifications/list?" + q + "&".join(parts), tok=tok)
        if cursor is not None:
            direction, pos = cursor[1], cursor[2]
        elif after is not None:
            direction, pos = "a", after
        else:
            direction, pos = "d", None
        uo = unread_only is True
        exp_items, more = self.expected_page(host, cat, uo, direction, pos,
                                             limit if limit is not None else 20)
        hs = self.model.host(host)
        if st != 200 or not isinstance(js, dict):
            self.fail("list: model expects 200", ctx)
            return None
        if set(js) != {"items", "nextCursor", "unread"}:
            self.fail("list body keys %s" % sorted(js), ctx)
        if js.get("unread") != hs.unread(cat):
            self.fail("list unread %r, model %d" % (js.get("unread"), hs.unread(cat)), ctx)
        items = js.get("items") or []
        got_ids = [it.get("id") for it in items]
        exp_ids = [n.id for n in exp_items]
        if got_ids != exp_ids:
            self.fail("list ids %s, model %s (dir %s, pos %s, filters cat=%s unread=%s,"
                      " walk=%s)" % (got_ids, exp_ids, direction, pos, cat, uo, walk), ctx)
            return None
        for it, n in zip(items, exp_items):
            self.compare_notif(it, n, ctx)
        nc = js.get("nextCursor")
        if nc is not None and not isinstance(nc, str):
            self.fail("nextCursor not a string or null", ctx)
            return None
        if more and nc is None:
            self.fail("nextCursor null although more items follow", ctx)
            return None
        if nc is not None and not more:
            self.stat("note: non-null nextCursor at the end")
        return (nc, direction, exp_ids[-1] if exp_ids else pos) if nc else None

    def op_list(self):
        r = self.rng
        host = r.choice(READ_HOSTS)
        cat = r.choice([None, None] + CATS)
        uo = r.choice([None, None, True, "false"])
        limit = r.choice([None, 1, 2, 3, 5, 20, 100])
        after = None
        if r.random() < 0.3:
            after = r.randint(0, self.model.host(host).last_id + 2)
            if r.random() < 0.05:
                after = r.choice([2**63, 2**64 - 1])
        cur = self.do_list(host, cat, uo, limit, after=after)
        self.stat("list")
        if cur and r.random() < 0.5 and len(self.walks) < 4:
            self.walks.append({"host": host, "cat": cat, "uo": uo, "limit": limit,
                               "cursor": cur, "pages": 1})

    def op_walk_step(self):
        r = self.rng
        if not self.walks:
            return self.op_list()
        w = r.choice(self.walks)
        cat, uo, limit = w["cat"], w["uo"], w["limit"]
        if r.random() < 0.1:   # a cursor sent with other filters continues by position
            cat, uo = r.choice([None] + CATS), r.choice([None, True])
            limit = r.choice([None, 1, 4, 100])
        cur = self.do_list(w["host"], cat, uo, limit, cursor=w["cursor"], walk=w["pages"])
        self.stat("walk page")
        w["pages"] += 1
        if cur is None:
            self.walks.remove(w)
            self.stat("walk done")
        else:
            w["cursor"] = cur

    def op_list_bad(self):
        r = self.rng
        host = r.choice(HOSTS)
        kind = r.choice(["limit", "limit", "cursor", "both", "category", "unread", "after",
                         "otherhost", "guest", "service", "admin-nohost", "admin-badhost"])
        tok = self.t(host, "host")
        ep = "/notifications/" + r.choice(["list", "count"])
        status, field = 400, None
        if kind == "limit":
            path, field = "/notifications/list?limit=" + r.choice(
                ["0", "101", "abc", "-1", "1.5", ""]), "limit"
        elif kind == "cursor":
            path, field = "/notifications/list?cursor=" + r.choice(
                ["@@@", "!!", "%FF%FE"]), "cursor"
        elif kind == "both":
            path, field = "/notifications/list?after=1&cursor=ZDoy", "__any"
        elif kind == "category":
            path, field = ep + "?category=" + r.choice(
                ["bogus", "Booking", "", "new_booking"]), "category"
        elif kind == "unread":
            path, field = "/notifications/list?unread=" + r.choice(
                ["yes", "1", "TRUE?"]), "unread"
        elif kind == "after":
            path, field = "/notifications/list?after=" + r.choice(
                ["-1", "x", "1.0", "18446744073709551616"]), "after"
        elif kind == "otherhost":
            path, status = ep + "?hostId=" + r.choice([x for x in HOSTS if x != host]), 403
        elif kind in ("guest", "service"):
            tok = self.t("g-1", "guest") if kind == "guest" else self.t("svc-a", "service")
            path, status = ep + "?hostId=" + host, 403
        elif kind == "admin-nohost":
            tok, path, field = self.t("ad", "admin"), ep, "hostId"
        else:
            tok, field = self.t("ad", "admin"), "hostId"
            path = ep + "?hostId=" + r.choice(["bad%20id", "x" * 65])
        st, h, js, rawb, ctx, *_ = self.call("GET", path, tok=tok)
        self.expect_error(st, h, js, ctx, status, None if field == "__any" else field,
                          field_any=(field == "__any"))
        self.stat("list/count bad")
