"""What the REST test files share (test_rest_*.py, test_http_connections.py,
test_cli.py, test_lifecycle.py, test_tokens.py): the contract's shapes as
assertions, request helpers, and ServerTestCase, one bellhop server per test
class."""

import datetime
import itertools
import os
import re
import socket
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, token  # noqa: E402

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
BOOKING_FIELDS = ("id", "hostId", "roomId", "guestId", "checkIn", "checkOut",
                  "guests", "createdAt")
NOTIFICATION_FIELDS = ("id", "hostId", "type", "category", "title", "body",
                       "data", "createdAt", "readAt")
KIB = 1024
_ids = itertools.count(1)


def uid(prefix):
    """A fresh identifier, so that tests sharing a server never collide."""
    return "%s-%d" % (prefix, next(_ids))


def day(n):
    """The date n days after 2030-01-01, as YYYY-MM-DD."""
    return (datetime.date(2030, 1, 1) + datetime.timedelta(days=n)).isoformat()


def booking_body(host, room, check_in=10, check_out=12, guests=2, note=None,
                 guest_id=None, **extra):
    """A valid POST /bookings body; check_in/check_out are day offsets."""
    body = {"hostId": host, "roomId": room, "checkIn": day(check_in),
            "checkOut": day(check_out), "guests": guests}
    if note is not None:
        body["note"] = note
    if guest_id is not None:
        body["guestId"] = guest_id
    body.update(extra)
    return body


def query(path, **params):
    params = {k: v for k, v in params.items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def host_token(host):
    return token(host, "host")


def read_head(test, sock, bite=65536):
    """Reads an answer's header block from `sock`; returns (status line,
    headers by lower-case name, the bytes after the block read so far)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(bite)
        test.assertTrue(chunk, "connection closed: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, rest


def answers_until_end(test, sock, quiet=3):
    """Every answer on `sock` until the connection ends (or `quiet` seconds
    pass without a byte): [(status, body)], each checked to be whole."""
    sock.settimeout(quiet)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    out = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        test.assertTrue(sep and head.startswith(b"HTTP/1.1 "),
                        "not an answer's head after %d answers: %r"
                        % (len(out), head[:80]))
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)",
                               head).group(1))
        test.assertGreaterEqual(len(data), length,
                                "answer %d cut short" % len(out))
        out.append((int(head.split(b" ")[1]), data[:length]))
        data = data[length:]
    return out


def assert_connection_ends(test, sock, quiet=5):
    """Reads `sock` until the server ends the connection; fails if it is
    still open after `quiet` seconds without a byte. Returns what came."""
    sock.settimeout(quiet)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            test.fail("the connection is still open: %r" % data[:200])
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


class ContractAssertions:
    """Assertions shared by every test class (mixed into unittest.TestCase)."""

    def assert_status(self, resp, status):
        self.assertEqual(resp[0], status, "expected %d, got %d: %r" % (
            status, resp[0], resp[3][:400]))

    def assert_error(self, resp, status, code, field=None):
        self.assert_status(resp, status)
        body = resp[2]
        self.assertIsInstance(body, dict, "error body is not JSON: %r"
                              % resp[3][:400])
        err = body.get("error")
        self.assertIsInstance(err, dict, "no error object: %r" % body)
        self.assertEqual(err.get("code"), code, body)
        self.assertIsInstance(err.get("message"), str, body)
        self.assertTrue(err["message"], body)
        if field is not None:
            self.assertEqual(err.get("field"), field, body)

    def assert_retry_after(self, resp):
        value = resp[1].get("retry-after")
        self.assertIsNotNone(value, "no Retry-After header: %r" % resp[1])
        self.assertRegex(value.strip(), r"^\d+$")
        return int(value)

    def assert_stored(self, client, bookings):
        """Each booking (as its 201 returned it) reads back unchanged."""
        admin = token("a", "admin")
        for booking in bookings:
            got = client.req("GET", "/bookings/" + booking["id"], token=admin)
            self.assert_status(got, 200)
            self.assertEqual(booking_of(got[2]), booking)

    def assert_booking_shape(self, booking):
        for name in BOOKING_FIELDS:
            self.assertIn(name, booking)
        self.assertTrue(booking["id"].startswith("bk_"), booking)
        self.assertRegex(booking["createdAt"], RFC3339_MS)

    def assert_notification_shape(self, note):
        for name in NOTIFICATION_FIELDS:
            self.assertIn(name, note)
        self.assertIsInstance(note["id"], int)
        self.assertGreater(note["id"], 0)
        self.assertRegex(note["createdAt"], RFC3339_MS)


class ServerTestCase(ContractAssertions, unittest.TestCase):
    """One bellhop server per test class, with request helpers."""

    server_args = ()
    server_omit = ()

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.server_args, omit=cls.server_omit)
        cls.http = cls.server.client()
        cls.service = token("svc-1", "service")
        cls.admin = token("admin-1", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.server.cleanup()

    def req(self, *args, **kwargs):
        return self.http.req(*args, **kwargs)

    # --- bookings
    def book(self, body, tok=None, headers=None, **kwargs):
        return self.req("POST", "/bookings", body, token=tok or self.service,
                        headers=headers, **kwargs)

    def book_ok(self, body, tok=None, headers=None):
        """Posts a booking that must succeed; returns (booking, notif id)."""
        resp = self.book(body, tok, headers)
        self.assert_status(resp, 201)
        return resp[2]["booking"], resp[2]["notification"]["id"]

    def get_booking(self, booking_id, tok):
        return self.req("GET", "/bookings/" + booking_id, token=tok)

    # --- notifications
    def notify(self, host, type_="system", title="Hello", body="Body",
               data=None, tok=None, headers=None):
        payload = {"hostId": host, "type": type_, "title": title,
                   "body": body}
        if data is not None:
            payload["data"] = data
        return self.req("POST", "/notifications", payload,
                        token=tok or self.service, headers=headers)

    def notify_ok(self, host, type_="system", **kwargs):
        resp = self.notify(host, type_, **kwargs)
        self.assert_status(resp, 201)
        return resp[2]["notification"]

    def count(self, host, tok=None, headers=None, **params):
        return self.req("GET", query("/notifications/count", **params),
                        token=tok or host_token(host), headers=headers)

    def count_ok(self, host, **params):
        resp = self.count(host, **params)
        self.assert_status(resp, 200)
        return resp[2]

    def list(self, host, tok=None, **params):
        return self.req("GET", query("/notifications/list", **params),
                        token=tok or host_token(host))

    def list_ok(self, host, **params):
        resp = self.list(host, **params)
        self.assert_status(resp, 200)
        return resp[2]

    def list_ids(self, host, **params):
        return [n["id"] for n in self.list_ok(host, **params)["items"]]

    def mark(self, host, body, tok=None, **params):
        return self.req("POST", query("/notifications/mark-read", **params),
                        body, token=tok or host_token(host))

    def mark_ok(self, host, body):
        resp = self.mark(host, body)
        self.assert_status(resp, 200)
        return resp[2]

    def seed(self, host, n, type_="system"):
        """Creates n notifications for host; returns their ids."""
        return [self.notify_ok(host, type_, title="n%d" % i)["id"]
                for i in range(n)]


def booking_of(body):
    """GET /bookings/{id} answers with the booking object itself
    (docs/decisions.md), not wrapped as in POST's answer."""
    assert isinstance(body, dict) and "booking" not in body, body
    return body
