"""Random request bodies, valid ones and ones with one invalid field (which
the 400 must name). The names are chosen so that a store key made by plain
concatenation of host and room, principal and key, would collide."""

import datetime as dt

from .model import POSTABLE_TYPES, valid_date

HOSTS = ["h1", "h10", "a", "a-b", "a.b", "H" * 64]
ROOMS = ["r-1", "r-10", "c", "b-c", "b.c"]
GUESTS = ["g-1", "g-10", "g.3"]
SERVICES = ["svc", "svc:a", "s:t", "s"]


def set_or_drop(body, field, value):
    """body[field] = value, or no field when value is None."""
    if value is None:
        body.pop(field, None)
    else:
        body[field] = value


class Bodies:
    """Mixin: bodies drawn from self.rng."""

    def rand_date(self):
        return dt.date(2027, 1, 1) + dt.timedelta(days=self.rng.randint(0, 120))

    def rand_text(self, n):
        """n code points from every plane (no surrogates), controls and
        JSON-special characters included: the server must count code points
        and round-trip them."""
        r = self.rng
        out = []
        for _ in range(n):
            x = r.random()
            if x < 0.4:
                out.append(chr(r.randint(0x20, 0x7e)))
            elif x < 0.5:
                out.append(r.choice(['"', "\\", "/", "\n", "\t", "\u0000", "\u001f",
                                     "\u007f", "\u2028", "\u2029", "\ufeff", "\u200f"]))
            elif x < 0.7:
                out.append(chr(r.randint(0x80, 0x7ff)))
            elif x < 0.85:
                c = r.randint(0x800, 0xfffd)
                while 0xd800 <= c <= 0xdfff:
                    c = r.randint(0x800, 0xfffd)
                out.append(chr(c))
            else:
                out.append(chr(r.randint(0x10000, 0x10ffff)))
        return "".join(out)

    def gen_booking_body(self, role):
        r = self.rng
        room = r.choice(ROOMS)
        ci = self.rand_date()
        nights = r.choice([1, 1, 2, 2, 3, 4, 5, 7])
        if r.random() < 0.02:
            nights = 365
            room = "long-%d" % r.randint(0, 50)
        elif r.random() < 0.08:
            # long and short stays mixed in a few rooms, over ~15 months
            room = "L-%d" % r.randint(0, 3)
            ci = dt.date(2027, 1, 1) + dt.timedelta(days=r.randint(0, 450))
            nights = r.choice([1, 1, 2, 3, 14, 30, 90, 200, 365])
        body = {"hostId": r.choice(HOSTS), "roomId": room,
                "checkIn": ci.isoformat(),
                "checkOut": (ci + dt.timedelta(days=nights)).isoformat(),
                "guests": r.choice([1, 1, 2, 3, 4, 50])}
        if r.random() < 0.4:
            body["note"] = r.choice(["late arrival", "", "é" * 500, "😀" * 500,
                                     "x" * 500, "quiet room \"please\"", None])
            if r.random() < 0.4:
                body["note"] = self.rand_text(r.choice([0, 1, 17, 499, 500]))
        if role in ("service", "admin"):
            body["guestId"] = r.choice(GUESTS)
        elif r.random() < 0.2:   # ignored for guests
            body["guestId"] = r.choice(["someone-else", "!!bad id!!", "g-2"])
        if r.random() < 0.1:
            body["unknownField"] = {"x": 1}
        return body

    def booking_fault(self, body, role):
        """Makes one field of body invalid; returns the field the 400 names."""
        r = self.rng
        choices = ["hostId", "roomId", "checkIn", "checkOut", "guests", "note",
                   "order", "nights"]
        if role in ("service", "admin"):
            choices.append("guestId")
        f = r.choice(choices)
        if f in ("hostId", "roomId"):
            set_or_drop(body, f, r.choice([None, "", "x" * 65, "bad id", "a/b", 12, "é"]))
        elif f in ("checkIn", "checkOut"):
            set_or_drop(body, f, r.choice([None, "2027-02-30", "2027-13-01", "20270101",
                                           "2027-1-01", 20270101,
                                           "2027-01-01T00:00:00Z", ""]))
        elif f == "order":
            ci = valid_date(body["checkIn"])
            body["checkOut"] = body["checkIn"] if r.random() < 0.5 else (
                ci - dt.timedelta(days=r.randint(1, 5))).isoformat()
            f = "checkOut"
        elif f == "nights":
            body["checkOut"] = (valid_date(body["checkIn"]) + dt.timedelta(
                days=r.choice([366, 400, 1000]))).isoformat()
            f = "checkOut"
        elif f == "guests":
            set_or_drop(body, f, r.choice([None, 0, 51, -1, "2", 2.5, True,
                                           1000000000000]))
        elif f == "note":
            body["note"] = r.choice(["x" * 501, "é" * 501, 5, ["a"], self.rand_text(501),
                                     self.rand_text(r.randint(502, 900))])
        else:
            set_or_drop(body, f, r.choice([None, "", "bad id", "x" * 65]))
        return f

    def gen_notif_body(self):
        r = self.rng
        body = {"hostId": r.choice(HOSTS), "type": r.choice(POSTABLE_TYPES),
                "title": r.choice(["t", "Review!", "x" * 200, "é" * 200,
                                   "😀" * 200, "ünïcode title"]),
                "body": r.choice(["", "b", "y" * 2000, "é" * 2000, "line1\nline2"])}
        if r.random() < 0.3:
            body["title"] = self.rand_text(r.choice([1, 2, 199, 200]))
        if r.random() < 0.3:
            body["body"] = self.rand_text(r.choice([0, 5, 1999, 2000]))
        x = r.random()
        if x < 0.1:
            body["data"] = {self.rand_text(3): self.rand_text(20),
                            "n": [r.randint(-10**15, 10**15), 1.5, -0.25, True, None]}
        elif x < 0.3:
            body["data"] = {"k": r.randint(0, 9), "nested": {"a": [1, 2, {"b": None}]}}
        elif x < 0.35:
            body["data"] = {"big": "z" * 8000}
        elif x < 0.4:
            body["data"] = {}
        if r.random() < 0.05:
            body["extra"] = 1
        return body

    def notif_fault(self, body):
        """Makes one field of body invalid; returns the field the 400 names."""
        r = self.rng
        f = r.choice(["hostId", "type", "title", "body", "data"])
        set_or_drop(body, f, r.choice({
            "hostId": [None, "", "bad host", "x" * 65],
            "type": [None, "new_booking", "bogus", "", 3],
            "title": [None, "", "x" * 201, "é" * 201, 7, self.rand_text(201)],
            "body": ["x" * 2001, "é" * 2001, 5, self.rand_text(2001)],
            "data": [[1], "str", 5, {"big": "z" * 9000}]}[f]))
        return f
