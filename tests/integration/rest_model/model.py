"""What the contract says the state is: hosts' notifications, bookings, stays
and idempotency records, as the sequential operations leave them."""

import datetime as dt
import re

CATS = ["booking", "review", "message", "system"]
TYPE_CAT = {"new_booking": "booking", "booking_cancelled": "booking",
            "new_review": "review", "new_message": "message",
            "system": "system"}
POSTABLE_TYPES = ["booking_cancelled", "new_review", "new_message", "system"]
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def valid_date(s):
    """The date YYYY-MM-DD names, or None if it names none."""
    if not isinstance(s, str) or not DATE_RE.match(s):
        return None
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


class Notif:
    """One notification. createdAt and readAt are unknown (None) until the
    server first shows them; *_win is the (send, receive) time of the request
    that set them, which the first sight must fall in."""
    __slots__ = ("id", "host", "type", "title", "body", "data", "created",
                 "created_win", "read", "read_at", "read_win")

    def __init__(self, nid, host, typ, title, body, data, created_win):
        self.id, self.host, self.type = nid, host, typ
        self.title, self.body, self.data = title, body, data
        self.created, self.created_win = None, created_win
        self.read, self.read_at, self.read_win = False, None, None

    @property
    def cat(self):
        return TYPE_CAT[self.type]

    def as_json(self):
        return {"id": self.id, "hostId": self.host, "type": self.type,
                "category": self.cat, "title": self.title, "body": self.body,
                "data": self.data, "createdAt": self.created,
                "readAt": self.read_at}


class HostState:
    def __init__(self):
        self.notifs = {}   # id -> Notif
        self.last_id = 0

    def unread(self, cat=None):
        return sum(1 for n in self.notifs.values()
                   if not n.read and (cat is None or n.cat == cat))

    def latest(self, cat=None):
        ids = [n.id for n in self.notifs.values() if cat is None or n.cat == cat]
        return max(ids) if ids else 0


class Model:
    def __init__(self):
        self.hosts = {}
        self.bookings = {}   # id -> booking object as first answered
        self.stays = {}      # (host, room) -> [(checkIn, checkOut)]
        # (principal, key) -> (fingerprint, first 201 body, Location)
        self.idem = {}

    def host(self, h):
        return self.hosts.setdefault(h, HostState())
