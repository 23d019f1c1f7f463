"""Operations on bookings (§3): POST /bookings valid, overlapping, with one
invalid field, with keys (new, replayed, replayed in another spelling, reused
with another body, another principal's, one whose first use failed), bad
requests and roles; GET /bookings/{id} by every role."""

import json
import re

from harness import token

from .bodies import GUESTS, HOSTS, SERVICES
from .model import Notif, valid_date

BK_RE = re.compile(r"^bk_[0-9A-Za-z]+$")
SHORT_KEYS = ["k", "t:k", "0k", "a:t:k", ":", " k ", "~"]


def booking_fp(body, role, sub):
    """What makes two bookings with one key the same request."""
    g = sub if role == "guest" else body.get("guestId")
    return json.dumps(["booking", body["hostId"], body["roomId"], g, body["checkIn"],
                       body["checkOut"], body["guests"], body.get("note")])


def booking_request_of(b, role):
    """The request body that books booking object b again, as role."""
    body = {k: b[k] for k in ("hostId", "roomId", "checkIn", "checkOut", "guests")}
    if b["note"] is not None:
        body["note"] = b["note"]
    if role != "guest":
        body["guestId"] = b["guestId"]
    return body


class BookingOps:
    def _pick_booking_key(self, role, principal):
        """(key or None, body to send or None, whether body is a replay of
        the key's first request in another spelling)."""
        r, m = self.rng, self.model
        mine = [k for (p, k) in m.idem if p == principal]
        roll = r.random()
        if roll < 0.15 and mine:
            key = r.choice(mine)
            body0 = m.idem[(principal, key)][1]
            if "booking" not in body0 or r.random() >= 0.6:
                return key, None, False
            body = booking_request_of(body0["booking"], role)
            if role == "guest" and r.random() < 0.5:
                body["guestId"] = "ignored-" + str(r.randint(0, 9))
            if r.random() < 0.3:
                body["zzz"] = "unknown fields do not matter"
            items = list(body.items())
            r.shuffle(items)
            return key, dict(items), True
        if roll < 0.22 and (self.failed_keys or m.idem):
            # a key whose first use failed (not remembered), or another's key
            if self.failed_keys and r.random() < 0.5:
                self.stat("booking key reused after a failed first use")
                return r.choice(self.failed_keys), None, False
            self.stat("booking key of another principal")
            return r.choice(sorted(k for (p, k) in m.idem if p != principal)
                            or ["fresh-x"]), None, False
        if roll < 0.45:
            self.seq_keys += 1
            key = "bk-%d-%d" % (self.seed, self.seq_keys)
            if r.random() < 0.3:
                key = r.choice(SHORT_KEYS)
            if r.random() < 0.1:   # printable, space included, up to 128
                key = ("k " + "~" * r.randint(0, 120))[:128] + str(self.seq_keys)
                key = key[-128:]
            return key, None, False
        return None, None, False

    def _remember_failed_key(self, key, principal):
        if key is not None and (principal, key) not in self.model.idem \
                and key not in self.failed_keys:
            self.failed_keys.append(key)

    def op_booking(self):
        r, m = self.rng, self.model
        role = r.choice(["guest", "guest", "guest", "service", "admin"])
        sub = r.choice(GUESTS) if role == "guest" else r.choice(SERVICES)
        principal = "%s:%s" % (role, sub)
        key, body, replay_variant = self._pick_booking_key(role, principal)
        if body is None:
            body = self.gen_booking_body(role)
        fault = None
        if not replay_variant and r.random() < 0.15:
            fault = self.booking_fault(body, role)
        headers = {}
        if key is not None:
            headers[r.choice(["Idempotency-Key", "idempotency-key",
                              "IDEMPOTENCY-KEY"])] = key
        st, h, js, rawb, ctx, t0, t1 = self.call("POST", "/bookings", body=body,
                                                 tok=self.t(sub, role), headers=headers)
        if st == 503 and self.args.allow_503:
            self.stat("booking 503 (storage full)")
            self.expect_error(st, h, js, ctx, 503)
            return
        if fault is not None:
            self.stat("booking invalid")
            self.expect_error(st, h, js, ctx, 400, fault)
            self._remember_failed_key(key, principal)
            return
        fp = booking_fp(body, role, sub)
        if key is not None and (principal, key) in m.idem:
            fp0, body0, loc0 = m.idem[(principal, key)]
            if fp0 == fp:
                self.stat("booking idem replay")
                if st != 201 or js != body0 or h.get("location") != loc0:
                    self.fail("idempotent replay differs from the first 201 (loc %r vs %r)"
                              % (h.get("location"), loc0), ctx)
            else:
                self.stat("booking idem reuse 409")
                self.expect_error(st, h, js, ctx, 409)
            return
        ci, co = valid_date(body["checkIn"]), valid_date(body["checkOut"])
        stays = m.stays.get((body["hostId"], body["roomId"]), [])
        if any(a < co and ci < b for a, b in stays):
            self.stat("booking overlap 409")
            self.expect_error(st, h, js, ctx, 409)
            self._remember_failed_key(key, principal)
            return
        if st != 201:
            self.fail("model expects 201 for a valid, non-overlapping booking", ctx)
            return
        self.stat("booking 201")
        guest = sub if role == "guest" else body["guestId"]
        if self._check_created_booking(body, guest, js, h, ctx, (t0, t1)):
            m.stays.setdefault((body["hostId"], body["roomId"]), []).append((ci, co))
            if key is not None:
                m.idem[(principal, key)] = (fp, js, h.get("location"))

    def _check_created_booking(self, body, guest, js, h, ctx, win):
        """Compares a 201 with the model and adds its booking and its
        new_booking notification to the model; False if it has no shape."""
        m = self.model
        hs = m.host(body["hostId"])
        nid = hs.last_id + 1
        if not isinstance(js, dict) or set(js) != {"booking", "notification"}:
            self.fail("201 body keys", ctx)
            return False
        b = js["booking"]
        exp = {"hostId": body["hostId"], "roomId": body["roomId"], "guestId": guest,
               "checkIn": body["checkIn"], "checkOut": body["checkOut"],
               "guests": body["guests"], "note": body.get("note")}
        if set(b) != set(exp) | {"id", "createdAt"}:
            self.fail("booking keys %s" % sorted(b), ctx)
        for k, v in exp.items():
            if b.get(k) != v:
                self.fail("booking field %s: got %r, model %r" % (k, b.get(k), v), ctx)
        if not isinstance(b.get("id"), str) or not BK_RE.match(b["id"]) \
                or b["id"] in m.bookings:
            self.fail("booking id %r not fresh bk_..." % b.get("id"), ctx)
        self.check_ts(b.get("createdAt"), win, "booking createdAt", ctx)
        nid = self.allow_gap(js["notification"].get("id"), nid, "booking")
        if js["notification"] != {"id": nid}:
            self.fail("notification id %r, model expects %d (dense per-host sequence)"
                      % (js["notification"], nid), ctx)
            nid = js["notification"].get("id", nid)
        if h.get("location") != "/bookings/%s" % b.get("id"):
            self.fail("Location %r" % h.get("location"), ctx)
        m.bookings[b["id"]] = b
        n = body["guests"]
        data = {"bookingId": b["id"], "roomId": body["roomId"], "guestId": guest,
                "checkIn": body["checkIn"], "checkOut": body["checkOut"], "guests": n}
        text = "%s booked %s for %s to %s (%d %s)" % (
            guest, body["roomId"], body["checkIn"], body["checkOut"], n,
            "guest" if n == 1 else "guests")
        self.add_notif(Notif(nid, body["hostId"], "new_booking",
                             "New booking: %s" % body["roomId"], text, data, win))
        return True

    def allow_gap(self, got, nid, what):
        """With --allow-gaps an id above the model's next one is taken as
        is (ids burned by failed writes); returns the id to expect."""
        if self.args.allow_gaps and isinstance(got, int) and got > nid:
            self.stat("note: id gap (%s)" % what)
            return got
        return nid

    def add_notif(self, n):
        hs = self.model.host(n.host)
        hs.notifs[n.id] = n
        hs.last_id = max(hs.last_id, n.id)
        self.ws_expect(n.host, ("notif", n.id))

    def op_booking_bad_request(self):
        r = self.rng
        tok = self.t(r.choice(GUESTS), "guest")
        kind = r.choice(["badjson", "array", "ctype", "nobody", "badkey", "host",
                         "notoken", "badtoken"])
        body = self.gen_booking_body("guest")
        status, field_any, raw, headers = 400, True, None, None
        if kind == "badjson":
            body, raw = None, '{"hostId": "h1",'
        elif kind == "array":
            body, raw = None, "[1,2]"
        elif kind == "ctype":
            status, field_any = 415, False
        elif kind == "nobody":
            body, headers = None, {"Content-Length": "0"}
        elif kind == "badkey":
            headers = {"Idempotency-Key": r.choice(["", "x" * 129, "tab\there", "é"])}
        elif kind == "host":
            status, field_any, tok = 403, False, self.t(r.choice(HOSTS), "host")
        elif kind == "notoken":
            status, field_any, tok = 401, False, None
        else:
            status, field_any = 401, False
            tok = r.choice([token("g-1", "guest", secret="wrong"),
                            token("g-1", "guest", exp_in=-120),
                            token("g-1", "superuser"), token("g-1", "guest", alg="none")])
        ctype = r.choice(["text/plain", "application/xml", None]) \
            if kind == "ctype" else "application/json"
        st, h, js, rawb, ctx, *_ = self.call("POST", "/bookings", body=body, tok=tok,
                                             headers=headers, raw=raw, ctype=ctype)
        self.expect_error(st, h, js, ctx, status, field_any=field_any)
        self.stat("booking bad request")

    def op_get_booking(self):
        r, m = self.rng, self.model
        if not m.bookings or r.random() < 0.1:
            bid = r.choice(["bk_NOPE", "bk_01AAAAAAAAAAAAAAAAAAAAAAAA", "nothing"])
            role, sub = r.choice([("admin", "ad"), ("service", "svc-a"),
                                  ("host", "h1"), ("guest", "g-1")])
            st, h, js, rawb, ctx, *_ = self.call("GET", "/bookings/" + bid,
                                                 tok=self.t(sub, role))
            self.expect_error(st, h, js, ctx, 404)
            return
        bid = r.choice(sorted(m.bookings))
        b = m.bookings[bid]
        role = r.choice(["guest", "host", "service", "admin"])
        if role == "guest":
            sub = r.choice(GUESTS + ["g-other"])
            allowed = sub == b["guestId"]
        elif role == "host":
            sub = r.choice(HOSTS)
            allowed = sub == b["hostId"]
        else:
            sub, allowed = "whoever", True
        st, h, js, rawb, ctx, *_ = self.call("GET", "/bookings/" + bid,
                                             tok=self.t(sub, role))
        if allowed:
            self.stat("get booking 200")
            if st != 200 or js != b:
                self.fail("GET /bookings/{id}: expected 200 with the stored booking %r"
                          % (b,), ctx)
        else:
            self.stat("get booking 404 (not theirs)")
            self.expect_error(st, h, js, ctx, 404)
