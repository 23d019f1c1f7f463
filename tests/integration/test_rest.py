"""REST contract tests (API.md sections 1-4, 9) against the bellhop binary."""

import datetime
import fcntl
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (Client, Server, b64url, jwt_claims,  # noqa: E402
                     make_key, run_cli, token)

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


# =================================================================== auth

class AuthTest(ServerTestCase):
    """Section 2: who may call what."""

    PROTECTED = [("GET", "/notifications/count", None),
                 ("GET", "/notifications/list", None),
                 ("POST", "/notifications/mark-read", {"all": True}),
                 ("POST", "/bookings", booking_body("h1", "r1", guest_id="g")),
                 ("POST", "/notifications", {"hostId": "h1", "type": "system",
                                             "title": "t", "body": "b"}),
                 ("GET", "/bookings/bk_unknown", None)]

    def assert_count_401(self, tok=None, headers=None):
        resp = self.req("GET", "/notifications/count", token=tok,
                        headers=headers)
        self.assert_error(resp, 401, "unauthorized")

    def test_missing_token_is_401_on_every_protected_endpoint(self):
        for method, path, body in self.PROTECTED:
            with self.subTest(method=method, path=path):
                self.assert_error(self.req(method, path, body), 401,
                                  "unauthorized")

    def test_garbage_token_is_401(self):
        for garbage in ("garbage", "a.b.c", "", "x" * 300):
            with self.subTest(token=garbage):
                self.assert_count_401(garbage)

    def test_non_bearer_scheme_is_401(self):
        good = host_token(uid("h"))
        self.assert_count_401(headers={"Authorization": "Basic " + good})
        self.assert_count_401(headers={"Authorization": good})

    def test_blanks_around_the_bearer_token_are_not_part_of_it(self):
        good = host_token(uid("h"))
        for value in ("Bearer %s " % good, "Bearer  %s" % good,
                      "bearer %s\t" % good):
            with self.subTest(value=value):
                resp = self.req("GET", "/notifications/count",
                                headers={"Authorization": value})
                self.assert_status(resp, 200)

    def test_wrong_signature_is_401(self):
        self.assert_count_401(token(uid("h"), "host", secret="not-the-secret"))

    def test_tampered_payload_is_401(self):
        header, _, sig = host_token("h1").split(".")
        forged = b64url(b'{"sub":"h1","role":"admin","exp":9999999999}')
        self.assert_count_401("%s.%s.%s" % (header, forged, sig))

    def test_token_expired_beyond_leeway_is_401(self):
        self.assert_count_401(token(uid("h"), "host", exp_in=-60))

    def test_token_expired_within_leeway_is_accepted(self):
        resp = self.count(uid("h"), tok=token("hx", "host", exp_in=-10))
        self.assert_status(resp, 200)

    def test_alg_none_is_401(self):
        self.assert_count_401(token(uid("h"), "host", alg="none"))

    def test_alg_other_than_configured_is_401(self):
        # Genuine HS384 and HS512 tokens with the right secret: only the
        # algorithm is wrong.
        for alg in ("HS384", "HS512"):
            with self.subTest(alg=alg):
                self.assert_count_401(token(uid("h"), "host", alg=alg))

    def test_missing_sub_is_401(self):
        self.assert_count_401(token("h1", "host", drop=("sub",)))

    def test_host_sub_that_is_no_host_id_is_401(self):
        for sub in ("h 1", "h1\u0001U", "x" * 65, "h/1"):
            self.assert_count_401(token(sub, "host"))

    def test_alg_is_compared_exactly(self):
        # RFC 7515: "HS256" only, not "hs256" (the signature is HMAC-SHA256
        # either way, so only the spelling differs).
        for alg in ("hs256", "Hs256"):
            with self.subTest(alg=alg):
                self.assert_count_401(token(uid("h"), "host", alg=alg))

    def test_401_names_the_bearer_scheme(self):
        resp = self.req("GET", "/notifications/count")
        self.assert_error(resp, 401, "unauthorized")
        self.assertTrue(resp[1].get("www-authenticate", "").startswith("Bearer"),
                        resp[1])

    def test_nbf_in_the_future_is_401(self):
        now = int(time.time())
        self.assert_count_401(token(uid("h"), "host", extra={"nbf": now + 3600}))
        resp = self.count(uid("h"), tok=token("hx", "host",
                                              extra={"nbf": now - 5}))
        self.assert_status(resp, 200)

    def test_guest_sub_that_is_no_guest_id_is_401(self):
        body = booking_body(uid("h"), uid("r"))
        resp = self.req("POST", "/bookings", body, token=token("g 1", "guest"))
        self.assert_error(resp, 401, "unauthorized")

    def test_missing_exp_is_401(self):
        self.assert_count_401(token("h1", "host", drop=("exp",)))

    def test_missing_role_is_401(self):
        self.assert_count_401(token("h1", "host", drop=("role",)))

    def test_unknown_role_is_401(self):
        for role in ("superuser", "HOST", "", "owner"):
            with self.subTest(role=role):
                self.assert_count_401(token("h1", role))

    def test_guest_on_count_is_403(self):
        self.assert_error(self.count("h1", tok=token("g1", "guest")), 403,
                          "forbidden")

    def test_service_on_count_is_403(self):
        self.assert_error(self.count("h1", tok=self.service), 403, "forbidden")

    def test_guest_and_service_on_list_and_mark_read_are_403(self):
        host = uid("h")
        note = self.notify_ok(host)
        for tok in (token("g1", "guest"), self.service):
            with self.subTest(role=jwt_claims(tok)["role"]):
                self.assert_error(self.list(host, tok=tok, hostId=host), 403,
                                  "forbidden")
                self.assert_error(self.mark(host, {"all": True}, tok=tok,
                                            hostId=host), 403, "forbidden")
        self.assertIsNone(self.list_ok(host)["items"][0]["readAt"])
        self.assertEqual(note["id"], self.list_ids(host)[0])

    def test_host_on_post_notifications_is_403(self):
        host = uid("h")
        self.assert_error(self.notify(host, tok=host_token(host)), 403,
                          "forbidden")

    def test_guest_on_post_notifications_is_403(self):
        self.assert_error(self.notify(uid("h"), tok=token("g1", "guest")), 403,
                          "forbidden")

    def test_host_on_post_bookings_is_403(self):
        host = uid("h")
        resp = self.book(booking_body(host, "r1", guest_id="g1"),
                         tok=host_token(host))
        self.assert_error(resp, 403, "forbidden")

    def test_host_naming_another_host_is_403(self):
        me, other = uid("h"), uid("h")
        self.notify_ok(other)
        tok = host_token(me)
        self.assert_error(self.count(me, tok=tok, hostId=other), 403,
                          "forbidden")
        self.assert_error(self.list(me, tok=tok, hostId=other), 403,
                          "forbidden")
        self.assert_error(self.mark(me, {"all": True}, tok=tok, hostId=other),
                          403, "forbidden")
        self.assertEqual(self.count_ok(other)["unread"], 1)

    def test_host_naming_itself_is_allowed(self):
        me = uid("h")
        self.notify_ok(me)
        body = self.count_ok(me, hostId=me)
        self.assertEqual(body["unread"], 1)

    def test_admin_with_host_id_reads_and_marks_that_host(self):
        host = uid("h")
        note = self.notify_ok(host)
        resp = self.count(host, tok=self.admin, hostId=host)
        self.assert_status(resp, 200)
        self.assertEqual(resp[2]["unread"], 1)
        self.assertEqual(resp[2]["latestId"], note["id"])
        resp = self.list(host, tok=self.admin, hostId=host)
        self.assert_status(resp, 200)
        self.assertEqual([n["hostId"] for n in resp[2]["items"]], [host])
        resp = self.mark(host, {"all": True}, tok=self.admin, hostId=host)
        self.assert_status(resp, 200)
        self.assertEqual(resp[2], {"updated": 1, "unread": 0})


# =============================================================== bookings

class CreateBookingTest(ServerTestCase):
    """POST /bookings: answer shape and every field rule."""

    def assert_rejected(self, body, field, tok=None):
        self.assert_error(self.book(body, tok), 400, "invalid_request", field)

    def test_created_booking_has_201_location_and_all_fields(self):
        host, room = uid("h"), uid("r")
        resp = self.book(booking_body(host, room, note="late arrival"),
                         tok=token("g-7", "guest"))
        self.assert_status(resp, 201)
        booking = resp[2]["booking"]
        self.assert_booking_shape(booking)
        self.assertEqual(resp[1].get("location"), "/bookings/" + booking["id"])
        expected = {"hostId": host, "roomId": room, "guestId": "g-7",
                    "checkIn": day(10), "checkOut": day(12), "guests": 2,
                    "note": "late arrival"}
        self.assertEqual({k: booking.get(k) for k in expected}, expected)
        created = datetime.datetime.strptime(booking["createdAt"],
                                             "%Y-%m-%dT%H:%M:%S.%fZ")
        now = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None)
        self.assertLess(abs((now - created)
                            .total_seconds()), 300)
        notification = resp[2]["notification"]
        self.assertIsInstance(notification.get("id"), int)
        self.assertGreater(notification["id"], 0)

    def test_guest_token_sub_is_guest_id_and_body_guest_id_ignored(self):
        booking, _ = self.book_ok(
            booking_body(uid("h"), uid("r"), guest_id="someone-else"),
            tok=token("g-real", "guest"))
        self.assertEqual(booking["guestId"], "g-real")

    def test_a_guest_body_guest_id_is_ignored_even_when_invalid(self):
        for ignored in (5, None, "", "not valid!", {"x": 1}):
            with self.subTest(guest_id=ignored):
                body = booking_body(uid("h"), uid("r"))
                body["guestId"] = ignored
                booking, _ = self.book_ok(body, tok=token("g-real", "guest"))
                self.assertEqual(booking["guestId"], "g-real")

    def test_service_and_admin_must_name_guest_id(self):
        for tok in (self.service, self.admin):
            self.assert_rejected(booking_body(uid("h"), uid("r")), "guestId",
                                 tok)

    def test_service_and_admin_book_for_the_named_guest(self):
        for tok in (self.service, self.admin):
            booking, _ = self.book_ok(
                booking_body(uid("h"), uid("r"), guest_id="g-named"), tok)
            self.assertEqual(booking["guestId"], "g-named")

    BAD_IDS = ["", "x" * 65, "h 1", "h/1", "h\u00e9", "h:1", "h@1", 5, None,
               ["h1"]]

    def check_id_field(self, field):
        for bad in self.BAD_IDS + ["<missing>"]:
            with self.subTest(field=field, value=bad):
                body = booking_body(uid("h"), uid("r"), guest_id=uid("g"))
                if bad == "<missing>":
                    del body[field]
                else:
                    body[field] = bad
                self.assert_rejected(body, field)

    def test_host_id_charset_and_length(self):
        self.check_id_field("hostId")

    def test_room_id_charset_and_length(self):
        self.check_id_field("roomId")

    def test_guest_id_charset_and_length(self):
        self.check_id_field("guestId")

    def test_ids_of_1_and_64_allowed_characters_are_accepted(self):
        for value in ("a", "A" * 60 + "._-9"):
            with self.subTest(length=len(value)):
                booking, _ = self.book_ok(booking_body(value, value,
                                                       guest_id=value))
                self.assertEqual((booking["hostId"], booking["roomId"],
                                  booking["guestId"]), (value,) * 3)

    BAD_DATES = ["2030-1-05", "2030/01/05", "2030-13-01", "2030-02-30",
                 "2030-01-10T00:00:00Z", "10-01-2030", "", 20300110, None]

    def test_check_in_format(self):
        for bad in self.BAD_DATES + ["<missing>"]:
            with self.subTest(checkIn=bad):
                body = booking_body(uid("h"), uid("r"), guest_id="g1")
                if bad == "<missing>":
                    del body["checkIn"]
                else:
                    body["checkIn"] = bad
                self.assert_rejected(body, "checkIn")

    def test_check_out_format(self):
        for bad in self.BAD_DATES + ["<missing>"]:
            with self.subTest(checkOut=bad):
                body = booking_body(uid("h"), uid("r"), guest_id="g1")
                if bad == "<missing>":
                    del body["checkOut"]
                else:
                    body["checkOut"] = bad
                self.assert_rejected(body, "checkOut")

    def test_check_out_not_after_check_in_is_400_check_out(self):
        for check_out in (10, 9, 0):
            with self.subTest(check_out=day(check_out)):
                self.assert_rejected(booking_body(uid("h"), uid("r"), 10,
                                                  check_out, guest_id="g1"),
                                     "checkOut")

    def test_more_than_365_nights_is_400_check_out(self):
        self.assert_rejected(booking_body(uid("h"), uid("r"), 0, 366,
                                          guest_id="g1"), "checkOut")

    def test_exactly_365_nights_is_accepted(self):
        self.book_ok(booking_body(uid("h"), uid("r"), 0, 365, guest_id="g1"))

    def test_guests_between_1_and_50(self):
        for bad in (0, 51, -1, 2.5, "2", None, True, "<missing>"):
            with self.subTest(guests=bad):
                body = booking_body(uid("h"), uid("r"), guest_id="g1")
                if bad == "<missing>":
                    del body["guests"]
                else:
                    body["guests"] = bad
                self.assert_rejected(body, "guests")
        for good in (1, 50):
            with self.subTest(guests=good):
                booking, _ = self.book_ok(booking_body(
                    uid("h"), uid("r"), guests=good, guest_id="g1"))
                self.assertEqual(booking["guests"], good)

    def test_note_over_500_characters_is_400_note(self):
        self.assert_rejected(booking_body(uid("h"), uid("r"), note="n" * 501,
                                          guest_id="g1"), "note")
        self.assert_rejected(booking_body(uid("h"), uid("r"), note=17,
                                          guest_id="g1"), "note")

    def test_note_of_500_characters_is_accepted(self):
        booking, _ = self.book_ok(booking_body(uid("h"), uid("r"),
                                               note="n" * 500, guest_id="g1"))
        self.assertEqual(booking["note"], "n" * 500)

    def test_note_limit_counts_characters_not_bytes(self):
        note = "\u00e9" * 500  # 1000 bytes of UTF-8
        booking, _ = self.book_ok(booking_body(uid("h"), uid("r"), note=note,
                                               guest_id="g1"))
        self.assertEqual(booking["note"], note)

    def test_bad_json_is_400(self):
        for raw in ("{not json", '{"hostId":', "", "[]", '"text"', "null"):
            with self.subTest(raw=raw):
                resp = self.req("POST", "/bookings", raw_body=raw,
                                token=self.service)
                self.assert_error(resp, 400, "invalid_request")

    def test_unknown_fields_are_ignored(self):
        body = booking_body(uid("h"), uid("r"), guest_id="g1", colour="red",
                            extra={"nested": [1, 2]})
        booking, _ = self.book_ok(body)
        self.assertNotIn("colour", booking)

    def test_overlapping_stay_is_409_conflict(self):
        host, room = uid("h"), uid("r")
        self.book_ok(booking_body(host, room, 10, 14, guest_id="g1"))
        for check_in, check_out in ((10, 14), (11, 13), (8, 11), (13, 16),
                                    (5, 20)):
            with self.subTest(stay=(day(check_in), day(check_out))):
                resp = self.book(booking_body(host, room, check_in, check_out,
                                              guest_id="g2"))
                self.assert_error(resp, 409, "conflict")

    def test_stay_may_begin_the_day_another_ends(self):
        host, room = uid("h"), uid("r")
        self.book_ok(booking_body(host, room, 10, 12, guest_id="g1"))
        self.book_ok(booking_body(host, room, 12, 14, guest_id="g2"))
        self.book_ok(booking_body(host, room, 8, 10, guest_id="g3"))

    def test_same_dates_in_another_room_or_of_another_host_are_accepted(self):
        host, room = uid("h"), uid("r")
        self.book_ok(booking_body(host, room, guest_id="g1"))
        self.book_ok(booking_body(host, uid("r"), guest_id="g1"))
        self.book_ok(booking_body(uid("h"), room, guest_id="g1"))

    def padded_body(self, size):
        """A valid booking body padded with spaces to exactly size bytes."""
        raw = booking_body(uid("h"), uid("r"), guest_id="g1")
        text = json.dumps(raw)
        return text[:-1] + " " * (size - len(text)) + "}"

    def test_body_over_64_kib_is_413(self):
        for body in (self.padded_body(64 * KIB + 1),
                     json.dumps(booking_body(uid("h"), uid("r"), guest_id="g1",
                                             note="n" * 70000))):
            with self.subTest(size=len(body)):
                client = self.server.client()
                self.addCleanup(client.close)
                resp = client.req("POST", "/bookings", raw_body=body,
                                  token=self.service)
                self.assert_error(resp, 413, "payload_too_large")

    def test_body_of_exactly_64_kib_is_accepted(self):
        body = self.padded_body(64 * KIB)
        self.assertEqual(len(body.encode()), 64 * KIB)
        resp = self.req("POST", "/bookings", raw_body=body, token=self.service)
        self.assert_status(resp, 201)

    def test_missing_or_non_json_content_type_is_415(self):
        raw = json.dumps(booking_body(uid("h"), uid("r"),
                                                    guest_id="g1"))
        # Media types that Pistache 0.0.5's own header parser rejects (such
        # as "application/jsonx") never reach bellhop: see docs/decisions.md.
        for ctype in ("text/plain", None, "application/x-www-form-urlencoded",
                      "application/xml", "text/html; charset=utf-8",
                      "application/json+x"):
            with self.subTest(content_type=ctype):
                # A connection of its own, so that a server that mis-frames
                # this request cannot spoil the answers of later tests.
                client = self.server.client()
                self.addCleanup(client.close)
                resp = client.req("POST", "/bookings", raw_body=raw,
                                  token=self.service, content_type=ctype)
                self.assert_error(resp, 415, "unsupported_media_type")

    def test_json_content_type_with_charset_is_accepted(self):
        resp = self.book(booking_body(uid("h"), uid("r"), guest_id="g1"),
                         content_type="application/json; charset=utf-8")
        self.assert_status(resp, 201)

    def test_json_responses_have_json_content_type(self):
        resp = self.book(booking_body(uid("h"), uid("r"), guest_id="g1"))
        self.assertTrue(resp[1].get("content-type", "")
                        .startswith("application/json"), resp[1])
        resp = self.req("GET", "/notifications/count")
        self.assertTrue(resp[1].get("content-type", "")
                        .startswith("application/json"), resp[1])


class IdempotencyTest(ServerTestCase):
    """Idempotency-Key on POST /bookings and POST /notifications."""

    def keyed(self, body, key, tok=None):
        return self.book(body, tok, headers={"Idempotency-Key": key})

    def test_same_key_same_body_replays_first_response(self):
        host = uid("h")
        body = booking_body(host, uid("r"), guest_id="g1")
        first = self.keyed(body, "key-1")
        self.assert_status(first, 201)
        before = self.count_ok(host)
        again = self.keyed(body, "key-1")
        self.assert_status(again, 201)
        self.assertEqual(again[2], first[2])
        self.assertEqual(self.count_ok(host), before)
        self.assertEqual(before["unread"], 1)

    def test_same_key_different_body_is_409(self):
        host = uid("h")
        self.assert_status(self.keyed(booking_body(host, uid("r"),
                                                   guest_id="g1"), "key-2"),
                           201)
        resp = self.keyed(booking_body(host, uid("r"), guest_id="g1"), "key-2")
        self.assert_error(resp, 409, "conflict")
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_a_long_service_sub_with_a_long_key_replays(self):
        # role:sub + key is longer than a store key may be (511 bytes).
        tok = token("svc-" + "s" * 400, "service")
        host = uid("h")
        body = booking_body(host, uid("r"), guest_id="g1")
        key = "k" * 128
        first = self.keyed(body, key, tok)
        self.assert_status(first, 201)
        again = self.keyed(body, key, tok)
        self.assert_status(again, 201)
        self.assertEqual(again[2], first[2])
        other = self.keyed(booking_body(host, uid("r"), guest_id="g1"), key,
                           tok)
        self.assert_error(other, 409, "conflict")
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_key_must_be_1_to_128_printable_ascii(self):
        for bad in ("k" * 129, "", "ab\x01cd", "a\tb", "caf\u00e9", "del\x7f"):
            with self.subTest(key=bad):
                resp = self.keyed(booking_body(uid("h"), uid("r"),
                                               guest_id="g1"), bad)
                self.assert_error(resp, 400, "invalid_request")
        for good in ("k" * 128, "x", "with space ~!{}"):
            with self.subTest(key=good):
                self.assert_status(self.keyed(booking_body(
                    uid("h"), uid("r"), guest_id="g1"), good), 201)

    def test_same_key_from_another_principal_is_independent(self):
        host = uid("h")
        first = self.keyed(booking_body(host, uid("r")), "shared-key",
                           token("g-a", "guest"))
        second = self.keyed(booking_body(host, uid("r")), "shared-key",
                            token("g-b", "guest"))
        self.assert_status(first, 201)
        self.assert_status(second, 201)
        self.assertNotEqual(first[2]["booking"]["id"],
                            second[2]["booking"]["id"])
        self.assertEqual(self.count_ok(host)["unread"], 2)

    def race(self, path, body, key, n=8):
        """Sends n requests with one Idempotency-Key at once; returns them."""
        barrier = threading.Barrier(n)
        results = [None] * n

        def worker(i):
            client = Client(self.server.http_port)
            client.req("GET", "/healthz")  # connect before the barrier
            barrier.wait()
            try:
                results[i] = client.req("POST", path, body,
                                        token=self.service,
                                        headers={"Idempotency-Key": key})
            except Exception as exc:  # noqa: BLE001 - reported below
                results[i] = (0, {}, None, repr(exc).encode())
            client.close()

        threads = [threading.Thread(target=worker, args=(i,))
                   for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return results

    def test_concurrent_requests_with_one_key_create_one_booking(self):
        # All eight get the first one's 201: those that arrive while it is
        # being committed wait for it (a 409 would be the overlap rule
        # refusing a second booking the key should never have made).
        host = uid("h")
        results = self.race("/bookings",
                            booking_body(host, uid("r"), guest_id="g1"),
                            "race-key")
        for resp in results:
            self.assert_status(resp, 201)
        self.assertEqual(len({json.dumps(r[2], sort_keys=True)
                              for r in results}), 1)
        self.assertEqual(len({r[1].get("location") for r in results}), 1)
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_concurrent_notifications_with_one_key_create_one(self):
        # No overlap rule here to hide a second notification.
        host = uid("h")
        results = self.race("/notifications", {
            "hostId": host, "type": "system", "title": "Once",
            "body": "Only one"}, "race-n-key")
        for resp in results:
            self.assert_status(resp, 201)
        self.assertEqual(len({json.dumps(r[2], sort_keys=True)
                              for r in results}), 1)
        self.assertEqual(self.count_ok(host)["unread"], 1)
        self.assertEqual(len(self.list_ok(host)["items"]), 1)

    def test_same_key_replays_a_posted_notification(self):
        host = uid("h")
        headers = {"Idempotency-Key": "n-key"}
        first = self.notify(host, headers=headers)
        self.assert_status(first, 201)
        again = self.notify(host, headers=headers)
        self.assert_status(again, 201)
        self.assertEqual(again[2], first[2])
        self.assertEqual(self.count_ok(host)["unread"], 1)
        resp = self.notify(host, title="other", headers=headers)
        self.assert_error(resp, 409, "conflict")


class GetBookingTest(ServerTestCase):
    """GET /bookings/{id}: who may see a booking."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = uid("h")
        status, _, body, raw = cls.http.req(
            "POST", "/bookings", booking_body(cls.host, "r1"),
            token=token("g-owner", "guest"))
        assert status == 201, raw
        cls.booking = body["booking"]

    def path(self):
        return "/bookings/" + self.booking["id"]

    def test_owner_guest_host_service_admin_get_the_booking(self):
        for name, tok in (("guest", token("g-owner", "guest")),
                          ("host", host_token(self.host)),
                          ("service", self.service), ("admin", self.admin)):
            with self.subTest(role=name):
                resp = self.req("GET", self.path(), token=tok)
                self.assert_status(resp, 200)
                self.assertEqual(booking_of(resp[2]), self.booking)

    def test_other_guest_or_host_gets_404(self):
        for tok in (token("g-other", "guest"), host_token(uid("h"))):
            self.assert_error(self.req("GET", self.path(), token=tok), 404,
                              "not_found")

    def test_unknown_id_is_404(self):
        for booking_id in ("bk_doesnotexist", "nothing", "bk_" + "0" * 26):
            with self.subTest(id=booking_id):
                self.assert_error(self.get_booking(booking_id, self.admin),
                                  404, "not_found")


# ========================================================== notifications

class PostNotificationTest(ServerTestCase):
    """POST /notifications: answer shape and field rules."""

    def test_created_notification_has_201_and_all_fields(self):
        host = uid("h")
        resp = self.notify(host, "new_review", title="New review",
                           body="5 stars", data={"stars": 5})
        self.assert_status(resp, 201)
        note = resp[2]["notification"]
        self.assert_notification_shape(note)
        expected = {"hostId": host, "type": "new_review", "category": "review",
                    "title": "New review", "body": "5 stars",
                    "data": {"stars": 5}, "readAt": None}
        self.assertEqual({k: note[k] for k in expected}, expected)

    def test_types_map_to_categories(self):
        host = uid("h")
        for type_, category in (("new_review", "review"),
                                ("new_message", "message"),
                                ("system", "system"),
                                ("booking_cancelled", "booking")):
            with self.subTest(type=type_):
                note = self.notify_ok(host, type_)
                self.assertEqual(note["type"], type_)
                self.assertEqual(note["category"], category)

    def test_type_new_booking_or_unknown_is_400_type(self):
        for bad in ("new_booking", "nonsense", "", None, 3):
            with self.subTest(type=bad):
                self.assert_error(self.notify(uid("h"), bad), 400,
                                  "invalid_request", "type")

    def test_title_is_1_to_200_characters(self):
        for bad in ("", "t" * 201, None):
            with self.subTest(title=repr(bad)[:20]):
                self.assert_error(self.notify(uid("h"), title=bad), 400,
                                  "invalid_request", "title")
        self.assertEqual(self.notify_ok(uid("h"), title="t" * 200)["title"],
                         "t" * 200)

    def test_body_is_at_most_2000_characters(self):
        self.assert_error(self.notify(uid("h"), body="b" * 2001), 400,
                          "invalid_request", "body")
        self.assertEqual(self.notify_ok(uid("h"), body="b" * 2000)["body"],
                         "b" * 2000)

    def test_data_must_be_an_object_of_at_most_8_kib(self):
        for bad in ([1, 2], "text", 5, True, {"x": "a" * (9 * KIB)}):
            with self.subTest(data=str(bad)[:20]):
                self.assert_error(self.notify(uid("h"), data=bad), 400,
                                  "invalid_request", "data")
        data = {"x": "a" * (7 * KIB)}
        self.assertEqual(self.notify_ok(uid("h"), data=data)["data"], data)

    def test_host_id_must_be_valid(self):
        for bad in ("", "h 1", "x" * 65, None):
            with self.subTest(hostId=bad):
                self.assert_error(self.notify(bad), 400, "invalid_request",
                                  "hostId")

    def test_admin_may_post(self):
        self.assert_status(self.notify(uid("h"), tok=self.admin), 201)

    def test_bad_json_is_400(self):
        resp = self.req("POST", "/notifications", raw_body="{oops",
                        token=self.service)
        self.assert_error(resp, 400, "invalid_request")


class BookingNotificationTest(ServerTestCase):
    """The notification that a booking creates (section 3)."""

    def test_booking_notification_object(self):
        host = uid("h")
        booking, note_id = self.book_ok(
            booking_body(host, "r-12", 10, 12, guests=2),
            tok=token("g-7", "guest"))
        items = self.list_ok(host)["items"]
        self.assertEqual(len(items), 1)
        note = items[0]
        self.assert_notification_shape(note)
        self.assertEqual(note["id"], note_id)
        expected = {
            "id": 1, "hostId": host, "type": "new_booking",
            "category": "booking", "title": "New booking: r-12",
            "body": "g-7 booked r-12 for %s to %s (2 guests)" % (day(10),
                                                                 day(12)),
            "readAt": None}
        self.assertEqual({k: note[k] for k in expected}, expected)
        data = {"bookingId": booking["id"], "roomId": "r-12",
                "guestId": "g-7", "checkIn": day(10), "checkOut": day(12),
                "guests": 2}
        self.assertEqual({k: note["data"].get(k) for k in data}, data)

    def test_one_guest_is_singular(self):
        host = uid("h")
        self.book_ok(booking_body(host, "r-1", 3, 4, guests=1, guest_id="g-1"))
        body = self.list_ok(host)["items"][0]["body"]
        self.assertEqual(body, "g-1 booked r-1 for %s to %s (1 guest)"
                         % (day(3), day(4)))

    def test_ids_increase_per_host_from_1(self):
        host_a, host_b = uid("h"), uid("h")
        ids_a = [self.book_ok(booking_body(host_a, "r%d" % i,
                                           guest_id="g"))[1]
                 for i in range(3)]
        ids_b = [self.book_ok(booking_body(host_b, "r%d" % i,
                                           guest_id="g"))[1]
                 for i in range(2)]
        ids_a.append(self.notify_ok(host_a)["id"])
        self.assertEqual(ids_a, [1, 2, 3, 4])
        self.assertEqual(ids_b, [1, 2])


class CountTest(ServerTestCase):
    """GET /notifications/count with ETag / If-None-Match."""

    def test_empty_host_has_zero_unread_and_latest_id_0(self):
        body = self.count_ok(uid("h"))
        self.assertEqual((body["unread"], body["latestId"]), (0, 0))

    def test_count_reports_unread_and_latest_id(self):
        host = uid("h")
        ids = self.seed(host, 3)
        body = self.count_ok(host)
        self.assertEqual((body["unread"], body["latestId"]), (3, ids[-1]))

    def test_matching_if_none_match_is_304_without_body(self):
        host = uid("h")
        self.seed(host, 1)
        first = self.count(host)
        self.assert_status(first, 200)
        etag = first[1].get("etag")
        self.assertTrue(etag, "no ETag header: %r" % first[1])
        resp = self.count(host, headers={"If-None-Match": etag})
        self.assert_status(resp, 304)
        self.assertEqual(resp[3], b"")

    def test_if_none_match_list_and_weak_tags_match(self):
        host = uid("h")
        self.seed(host, 1)
        etag = self.count(host)[1].get("etag")
        self.assertTrue(etag)
        for inm in ('"x", ' + etag, etag + ', "x"', "W/" + etag, "*",
                    ' %s ' % etag):
            with self.subTest(if_none_match=inm):
                resp = self.count(host, headers={"If-None-Match": inm})
                self.assert_status(resp, 304)
        resp = self.count(host, headers={"If-None-Match": '"x", "y"'})
        self.assert_status(resp, 200)

    def test_query_values_are_percent_decoded(self):
        host = uid("h")
        self.seed(host, 3)
        encoded = "".join("%%%02X" % ord(c) for c in host)
        resp = self.req("GET", "/notifications/count?hostId=" + encoded,
                        token=host_token(host))
        self.assert_status(resp, 200)
        self.assertEqual(resp[2]["unread"], 3)
        resp = self.req("GET", "/notifications/list?limit=%32&unread=tru%65",
                        token=host_token(host))
        self.assert_status(resp, 200)
        self.assertEqual(len(resp[2]["items"]), 2)

    def test_old_etag_after_new_notification_is_200(self):
        host = uid("h")
        self.seed(host, 1)
        etag = self.count(host)[1].get("etag")
        self.assertTrue(etag)
        self.seed(host, 1)
        resp = self.count(host, headers={"If-None-Match": etag})
        self.assert_status(resp, 200)
        self.assertEqual(resp[2]["unread"], 2)
        self.assertNotEqual(resp[1].get("etag"), etag)

    def test_old_etag_after_mark_read_is_200(self):
        host = uid("h")
        self.seed(host, 2)
        etag = self.count(host)[1].get("etag")
        self.mark_ok(host, {"ids": [1]})
        resp = self.count(host, headers={"If-None-Match": etag})
        self.assert_status(resp, 200)
        self.assertEqual(resp[2]["unread"], 1)

    def test_category_filter(self):
        host = uid("h")
        self.seed(host, 2, "new_review")
        self.seed(host, 1, "new_message")
        self.book_ok(booking_body(host, "r1", guest_id="g1"))
        for category, unread in (("review", 2), ("message", 1),
                                 ("booking", 1), ("system", 0)):
            with self.subTest(category=category):
                self.assertEqual(self.count_ok(host, category=category)
                                 ["unread"], unread)
        self.assertEqual(self.count_ok(host)["unread"], 4)

    def test_bad_category_is_400(self):
        for bad in ("bookings", "nonsense", ""):
            with self.subTest(category=bad):
                self.assert_error(self.count(uid("h"), category=bad), 400,
                                  "invalid_request")


class ListTest(ServerTestCase):
    """GET /notifications/list: order, limits, cursors, after=, filters."""

    TOTAL = 45

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = uid("hl")
        for i in range(1, cls.TOTAL + 1):
            type_ = "new_review" if i % 3 == 0 else "system"
            status, _, _, raw = cls.http.req(
                "POST", "/notifications",
                {"hostId": cls.host, "type": type_, "title": "n%d" % i,
                 "body": "b"}, token=cls.service)
            assert status == 201, raw

    def page(self, **params):
        return self.list_ok(self.host, **params)

    def test_default_is_20_newest_first(self):
        body = self.page()
        ids = [n["id"] for n in body["items"]]
        self.assertEqual(ids, list(range(45, 25, -1)))
        self.assertIsInstance(body["nextCursor"], str)
        self.assertEqual(body["unread"], 45)
        for note in body["items"]:
            self.assert_notification_shape(note)
            self.assertEqual(note["hostId"], self.host)

    def test_limit_out_of_range_is_400(self):
        for bad in ("0", "101", "abc", "-1", "1.5", ""):
            with self.subTest(limit=bad):
                self.assert_error(self.list(self.host, limit=bad), 400,
                                  "invalid_request")

    def test_limit_100_returns_everything(self):
        body = self.page(limit=100)
        self.assertEqual([n["id"] for n in body["items"]],
                         list(range(45, 0, -1)))
        self.assertIsNone(body["nextCursor"])

    def test_cursor_pagination_has_no_gaps_or_duplicates(self):
        seen, cursor, pages = [], None, 0
        while True:
            body = self.page(limit=10, cursor=cursor)
            pages += 1
            self.assertLessEqual(len(body["items"]), 10)
            seen += [n["id"] for n in body["items"]]
            cursor = body["nextCursor"]
            if cursor is None or pages > 10:
                break
        self.assertEqual(seen, list(range(45, 0, -1)))
        self.assertEqual(pages, 5)

    def test_bad_cursor_is_400(self):
        for bad in ("!!!not-a-cursor", "zzzz"):
            with self.subTest(cursor=bad):
                self.assert_error(self.list(self.host, cursor=bad), 400,
                                  "invalid_request")

    def test_after_returns_newer_ids_oldest_first(self):
        body = self.page(after=40)
        self.assertEqual([n["id"] for n in body["items"]],
                         [41, 42, 43, 44, 45])
        self.assertIsNone(body["nextCursor"])

    def test_after_is_capped_by_limit_and_continues_by_cursor(self):
        body = self.page(after=0, limit=10)
        self.assertEqual([n["id"] for n in body["items"]], list(range(1, 11)))
        self.assertIsInstance(body["nextCursor"], str)
        body = self.page(cursor=body["nextCursor"], limit=10)
        self.assertEqual([n["id"] for n in body["items"]], list(range(11, 21)))

    def test_after_latest_is_empty(self):
        for after in (45, 2**63, 2**64 - 1):
            with self.subTest(after=after):
                body = self.page(after=after)
                self.assertEqual(body["items"], [])
                self.assertIsNone(body["nextCursor"])
        self.assert_error(self.list(self.host, after=2**64), 400,
                          "invalid_request", "after")

    def test_cursor_and_after_together_is_400_without_field(self):
        cursor = self.page(limit=10)["nextCursor"]
        resp = self.list(self.host, cursor=cursor, after=3)
        self.assert_error(resp, 400, "invalid_request")
        self.assertNotIn("field", resp[2]["error"])

    def test_category_filter(self):
        body = self.page(category="review", limit=100)
        self.assertEqual([n["id"] for n in body["items"]],
                         list(range(45, 0, -3)))
        self.assertTrue(all(n["category"] == "review" for n in body["items"]))

    def test_bad_category_is_400(self):
        self.assert_error(self.list(self.host, category="nope"), 400,
                          "invalid_request")

    def test_unread_filter_and_unread_field(self):
        host = uid("h")
        self.seed(host, 6)
        self.mark_ok(host, {"ids": [2, 4]})
        body = self.list_ok(host, unread="true")
        self.assertEqual([n["id"] for n in body["items"]], [6, 5, 3, 1])
        self.assertTrue(all(n["readAt"] is None for n in body["items"]))
        self.assertEqual(body["unread"], 4)
        self.assertEqual(self.list_ok(host)["unread"], 4)
        self.assertEqual(self.count_ok(host)["unread"], 4)


class MarkReadTest(ServerTestCase):
    """POST /notifications/mark-read: the three forms and their answers."""

    def fresh_host(self, n=5):
        host = uid("h")
        self.seed(host, n)
        return host

    def test_ids_marks_only_known_unread_ids(self):
        host = self.fresh_host()
        # Ids the host does not have are ignored, however large.
        self.assertEqual(self.mark_ok(host, {"ids": [1, 2, 999, 2**63,
                                                     2**64 - 1]}),
                         {"updated": 2, "unread": 3})
        self.assertEqual(self.mark_ok(host, {"ids": [2, 3]}),
                         {"updated": 1, "unread": 2})
        self.assertEqual(self.count_ok(host)["unread"], 2)

    def test_up_to_marks_all_ids_up_to_n(self):
        host = self.fresh_host()
        self.assertEqual(self.mark_ok(host, {"upTo": 3}),
                         {"updated": 3, "unread": 2})
        self.assertEqual(self.list_ids(host, unread="true"), [5, 4])

    def test_all_marks_everything(self):
        host = self.fresh_host()
        self.mark_ok(host, {"ids": [1]})
        self.assertEqual(self.mark_ok(host, {"all": True}),
                         {"updated": 4, "unread": 0})
        self.assertEqual(self.count_ok(host)["unread"], 0)

    def test_each_form_is_idempotent(self):
        for form in ({"ids": [1, 2]}, {"upTo": 2}, {"all": True}):
            with self.subTest(form=form):
                host = self.fresh_host()
                first = self.mark_ok(host, form)
                self.assertGreater(first["updated"], 0)
                self.assertEqual(self.mark_ok(host, form),
                                 {"updated": 0, "unread": first["unread"]})

    def test_zero_or_two_forms_is_400(self):
        host = self.fresh_host(1)
        for body in ({}, {"ids": [1], "all": True}, {"upTo": 1, "all": True},
                     {"ids": [1], "upTo": 1}):
            with self.subTest(body=body):
                self.assert_error(self.mark(host, body), 400,
                                  "invalid_request")
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_no_body_at_all_is_400(self):
        # Nothing was sent, so there is no media type to refuse.
        host = self.fresh_host(1)
        resp = self.req("POST", "/notifications/mark-read",
                        token=host_token(host))
        self.assert_error(resp, 400, "invalid_request")
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_malformed_forms_are_400(self):
        host = self.fresh_host(1)
        for body in ({"ids": "1"}, {"ids": ["a"]}, {"upTo": "x"},
                     {"all": "yes"}, [1, 2], {"ids": [0]}, {"ids": [-1]},
                     {"ids": [1.5]}, {"upTo": -1}):
            with self.subTest(body=body):
                self.assert_error(self.mark(host, body), 400,
                                  "invalid_request")

    def test_more_than_1000_ids_is_400(self):
        host = self.fresh_host(2)
        self.assert_error(self.mark(host, {"ids": list(range(1, 1002))}), 400,
                          "invalid_request")
        self.assertEqual(self.mark_ok(host, {"ids": list(range(1, 1001))}),
                         {"updated": 2, "unread": 0})

    def test_read_at_is_set_in_the_list(self):
        host = self.fresh_host(3)
        self.mark_ok(host, {"ids": [2]})
        items = {n["id"]: n for n in self.list_ok(host)["items"]}
        self.assertRegex(items[2]["readAt"], RFC3339_MS)
        self.assertIsNone(items[1]["readAt"])
        self.assertIsNone(items[3]["readAt"])


class BodyRulesOfEveryRouteTest(ServerTestCase):
    """§4 Limits on every route that takes a body, not only bookings:
    over 64 KiB is 413, a body that is not application/json is 415."""

    def routes(self):
        host = uid("h")
        return [("POST", "/notifications", self.service,
                 {"hostId": host, "type": "system", "title": "t", "body": "b"}),
                ("POST", "/notifications/mark-read", host_token(host),
                 {"all": True}),
                ("PUT", "/preferences", host_token(host),
                 {"email": None, "channels": {
                     c: {"realtime": True, "email": False}
                     for c in ("booking", "review", "message", "system")},
                  "emailDelaySeconds": 0, "digest": False})]

    def test_body_over_64_kib_is_413(self):
        for method, path, tok, body in self.routes():
            with self.subTest(route=path):
                body = dict(body, pad="")
                raw = json.dumps(body)
                raw = json.dumps(dict(body, pad="p" * (64 * KIB + 1 - len(raw))))
                self.assertEqual(len(raw), 64 * KIB + 1)
                client = self.server.client()
                self.addCleanup(client.close)
                resp = client.req(method, path, raw_body=raw, token=tok)
                self.assert_error(resp, 413, "payload_too_large")

    def test_missing_or_non_json_content_type_is_415(self):
        for method, path, tok, body in self.routes():
            for ctype in ("text/plain", None):
                with self.subTest(route=path, content_type=ctype):
                    client = self.server.client()
                    self.addCleanup(client.close)
                    resp = client.req(method, path, raw_body=json.dumps(body),
                                      token=tok, content_type=ctype)
                    self.assert_error(resp, 415, "unsupported_media_type")

    def test_a_body_on_a_get_follows_the_same_rules(self):
        # §4: "A request with a body whose Content-Type is missing or is not
        # application/json: 415" -- a GET's too; a JSON one is ignored.
        host = uid("h")
        tok = host_token(host)
        for ctype in ("text/plain", None):
            with self.subTest(content_type=ctype):
                client = self.server.client()
                self.addCleanup(client.close)
                resp = client.req("GET", "/notifications/count",
                                  raw_body="hello", token=tok,
                                  content_type=ctype)
                self.assert_error(resp, 415, "unsupported_media_type")
        client = self.server.client()
        self.addCleanup(client.close)
        resp = client.req("GET", "/notifications/count",
                          raw_body="p" * (64 * KIB + 1), token=tok,
                          content_type="application/json")
        self.assert_error(resp, 413, "payload_too_large")
        resp = self.req("GET", "/notifications/count", {"ignored": True},
                        token=tok)
        self.assert_status(resp, 200)
        # Who is asking comes first: without a token it is 401.
        client = self.server.client()
        self.addCleanup(client.close)
        resp = client.req("GET", "/notifications/count", raw_body="hello",
                          content_type="text/plain")
        self.assert_error(resp, 401, "unauthorized")

    def test_the_same_bodies_as_json_are_accepted(self):
        for method, path, tok, body in self.routes():
            with self.subTest(route=path):
                resp = self.req(method, path, body, token=tok)
                self.assertIn(resp[0], (200, 201), resp[3][:300])


class HostIsolationTest(ServerTestCase):
    """A host never sees or changes another host's notifications."""

    def test_hosts_see_only_their_own_notifications(self):
        host_a, host_b = uid("ha"), uid("hb")
        self.seed(host_a, 2)
        self.seed(host_b, 5)
        self.book_ok(booking_body(host_b, "r1", guest_id="g1"))
        self.assertEqual(self.count_ok(host_a), {"unread": 2, "latestId": 2})
        items = self.list_ok(host_a, limit=100)["items"]
        self.assertEqual([n["hostId"] for n in items], [host_a, host_a])
        self.assertEqual(self.list_ok(host_a, after=0)["items"], items[::-1])

    def test_host_cannot_mark_another_hosts_notifications(self):
        host_a, host_b = uid("ha"), uid("hb")
        self.seed(host_a, 1)
        self.seed(host_b, 3)
        self.assertEqual(self.mark_ok(host_a, {"ids": [1, 2, 3]}),
                         {"updated": 1, "unread": 0})
        self.mark_ok(host_a, {"all": True})
        self.mark_ok(host_a, {"upTo": 3})
        self.assertEqual(self.count_ok(host_b)["unread"], 3)
        self.assert_error(self.mark(host_a, {"all": True},
                                    tok=host_token(host_a), hostId=host_b),
                          403, "forbidden")
        self.assertEqual(self.count_ok(host_b)["unread"], 3)


class OperationsTest(ServerTestCase):
    """Health endpoints, unknown paths and the listening line."""

    def test_healthz_is_200_ok_without_token(self):
        resp = self.req("GET", "/healthz")
        self.assert_status(resp, 200)
        self.assertEqual(resp[2], {"status": "ok"})

    def test_readyz_is_200_without_token(self):
        self.assert_status(self.req("GET", "/readyz"), 200)

    def test_unknown_path_is_404_in_error_shape(self):
        for tok in (None, self.admin):
            for method, path in (("GET", "/no/such/path"),
                                 ("GET", "/notificationsx"),
                                 ("POST", "/nothing-here")):
                with self.subTest(path=path, token=bool(tok)):
                    body = {} if method == "POST" else None
                    self.assert_error(self.req(method, path, body, token=tok),
                                      404, "not_found")

    def raw_exchange(self, sock, request):
        """Sends one request; returns (status line, headers, bytes after
        the header block read so far)."""
        sock.sendall(request.encode())
        return read_head(self, sock)

    def test_head_is_answered_like_get_without_a_body(self):
        auth = "Authorization: Bearer %s\r\n" % token(uid("h"), "host")
        for path, status, extra in (("/healthz", "200", ""),
                                    ("/", "200", ""),
                                    ("/no/such/path", "404", ""),
                                    ("/notifications/count", "200", auth),
                                    ("/notifications/count", "401", "")):
            with self.subTest(path=path, status=status):
                sock = socket.create_connection(
                    ("127.0.0.1", self.server.http_port), timeout=10)
                self.addCleanup(sock.close)
                line, headers, rest = self.raw_exchange(
                    sock, "HEAD %s HTTP/1.1\r\nHost: t\r\n%s\r\n"
                    % (path, extra))
                self.assertEqual(line.split(" ")[1], status, line)
                # The same request's GET answers with the same status, and
                # it is the next thing on the connection: no HEAD body came
                # before it.
                line2, headers2, _ = self.raw_exchange(
                    sock, "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n"
                    % (path, extra))
                self.assertEqual(rest, b"", "HEAD sent a body")
                self.assertEqual(line2.split(" ")[1], status, line2)
                self.assertEqual(headers.get("content-type"),
                                 headers2.get("content-type"))
                # RFC 9110 §9.3.2: the length the GET's content has.
                self.assertEqual(headers.get("content-length"),
                                 headers2.get("content-length"))
                self.assertNotEqual(headers.get("content-length"), "0")
                if "etag" in headers2:
                    self.assertEqual(headers.get("etag"), headers2["etag"])

    def test_connection_close_and_http_1_0_end_the_connection(self):
        # Reads, refusals and errors, and an actor's answer (a write).
        auth = "Authorization: Bearer %s\r\n" % token(uid("h"), "host")
        note = json.dumps({"hostId": uid("h"), "type": "new_message",
                           "title": "t", "body": "b"})
        for name, request, status in (
                ("write", "POST /notifications HTTP/1.1\r\nHost: t\r\n"
                          "Authorization: Bearer %s\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                          % (self.service, len(note), note), "201"),
                ("close", "GET /healthz HTTP/1.1\r\nHost: t\r\n"
                          "Connection: close\r\n\r\n", "200"),
                ("HTTP/1.0", "GET /healthz HTTP/1.0\r\n\r\n", "200"),
                ("404", "GET /nothing HTTP/1.1\r\nHost: t\r\n"
                        "Connection: close\r\n\r\n", "404"),
                ("count", "GET /notifications/count HTTP/1.1\r\nHost: t\r\n"
                          + auth + "Connection: close\r\n\r\n", "200"),
                ("401", "GET /notifications/count HTTP/1.0\r\n\r\n",
                 "401")):
            with self.subTest(name):
                sock = socket.create_connection(
                    ("127.0.0.1", self.server.http_port), timeout=10)
                self.addCleanup(sock.close)
                line, headers, rest = self.raw_exchange(sock, request)
                self.assertEqual(line.split(" ")[1], status, line)
                self.assertEqual(headers.get("connection", "").lower(),
                                 "close")
                # The answer says close, and the server does close: a
                # client reading to the end is not left waiting.
                length = int(headers["content-length"])
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                self.assertEqual(len(rest), length)

    def test_an_idle_connection_outlives_the_header_timeout(self):
        # The 10 s header timeout is for a request still arriving; between
        # requests a connection is kept for the keep-alive time (60 s), with
        # no unsolicited 408.
        sock = socket.create_connection(
            ("127.0.0.1", self.server.http_port), timeout=20)
        self.addCleanup(sock.close)
        line, _, _ = self.raw_exchange(
            sock, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(line.split(" ")[1], "200", line)
        time.sleep(12)
        line, _, rest = self.raw_exchange(
            sock, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(line.split(" ")[1], "200", line)
        while b"ready" not in rest:
            chunk = sock.recv(65536)
            self.assertTrue(chunk, "closed before the answer: %r" % rest)
            rest += chunk

    def test_listening_line_names_both_ports_and_no_cluster(self):
        line = self.server.listening
        self.assertIsInstance(line["http"], int)
        self.assertIsInstance(line["ws"], int)
        self.assertGreater(line["http"], 0)
        self.assertGreater(line["ws"], 0)
        self.assertNotEqual(line["http"], line["ws"])
        self.assertIn("cluster", line)
        self.assertIsNone(line["cluster"])


def _hang_up_after_asking(port, seconds, request):
    """Sends `request` on fresh connections and closes each at once."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(request)
            sock.close()
        except OSError:
            pass


def _answers_on_fresh_connections(port, seconds, request):
    """Sends `request` on fresh connections; returns (connections, what
    came back other than one answer of the asker's own, the first few)."""
    end = time.monotonic() + seconds
    count, wrong = 0, []
    while time.monotonic() < end:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            time.sleep(0.002)  # a second answer would be here by now
            sock.setblocking(False)
            try:
                data += sock.recv(65536)
            except (BlockingIOError, OSError):
                pass
            sock.close()
        except OSError:
            continue
        count += 1
        if data.count(b"HTTP/1.") != 1 or b"h-other" in data:
            wrong.append(data[:300])
    return count, len(wrong), wrong[:3]


class ConnectionReuseTest(ServerTestCase):
    """An answer goes to the connection that asked, never to the next one:
    clients that ask and hang up at once free their descriptor numbers,
    which new connections are given (a host's data must not reach
    another's device)."""

    server_args = ("--rate-limit", "0")

    def test_answers_never_reach_the_next_connection(self):
        port = self.server.http_port
        for host in ("h-other", "h-asker"):
            self.assert_status(self.req(
                "POST", "/notifications",
                {"hostId": host, "type": "new_message", "title": host,
                 "body": "b"}, token=self.service), 201)

        def request(method, path, host, body=b""):
            return ("%s %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s"
                    "\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n"
                    % (method, path, token(host, "host"), len(body))).encode() + body
        # Reads (answered on the reactor) and writes (answered by actors).
        other = [request("GET", "/notifications/list?limit=1", "h-other"),
                 request("POST", "/notifications/mark-read", "h-other",
                         b'{"ids":[1]}')]
        asker = request("GET", "/notifications/list?limit=1", "h-asker")
        seconds = 6
        ctx = __import__("multiprocessing").get_context("fork")
        with ctx.Pool(6) as pool:
            hang_ups = [pool.apply_async(_hang_up_after_asking,
                                         (port, seconds, other[i // 2]))
                        for i in range(3)]
            askers = [pool.apply_async(_answers_on_fresh_connections,
                                       (port, seconds, asker))
                      for _ in range(3)]
            for h in hang_ups:
                h.get(timeout=60)
            results = [a.get(timeout=60) for a in askers]
        asked = sum(r[0] for r in results)
        wrong = sum(r[1] for r in results)
        self.assertGreater(asked, 100)
        self.assertEqual(wrong, 0, "%d of %d connections got what they did "
                         "not ask for, e.g. %r"
                         % (wrong, asked, [r[2] for r in results]))


class PipelinedRequestTest(ServerTestCase):
    """A request sent before the previous answer came (pipelined) is not
    answered out of order: answers come whole and in the order of their
    requests, and where bellhop does not take the later request, the
    connection ends after the answer in flight (docs/decisions.md,
    "Pipelined requests")."""

    server_args = ("--rate-limit", "0", "--booking-rate-limit", "0")

    def raw(self, method, path, body=b""):
        return ("%s %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (method, path, self.service, len(body))).encode() + body

    def pipeline(self, host, room, then):
        """Books `room`, sends `then` in a segment of its own before the
        commit's answer can have come, and returns every answer."""
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = json.dumps(booking_body(host, room, guest_id="g-pipe"))
        sock.sendall(self.raw("POST", "/bookings", body.encode()))
        time.sleep(0.0003)
        sock.sendall(then)
        return answers_until_end(self, sock)

    def test_a_request_sent_before_the_booking_answer_never_overtakes_it(self):
        host = uid("h-pipe")
        for i in range(20):
            got = self.pipeline(host, "r%d" % i, self.raw("GET", "/healthz"))
            self.assertGreaterEqual(len(got), 1)
            self.assertEqual(got[0][0], 201, "the booking's answer is not "
                             "first: %r" % got)
            self.assertIn(len(got), (1, 2))
            if len(got) == 2:
                self.assertEqual(got[1], (200, b'{"status":"ok"}'))
        # Each booking was made once, whatever became of the health check.
        self.assertEqual(self.count_ok(host)["unread"], 20)

    def test_a_booking_pipelined_behind_another_is_made_only_if_answered(self):
        host = uid("h-pipe2")
        answered = 0
        for i in range(10):
            second = json.dumps(booking_body(host, "b%d" % i,
                                             guest_id="g-pipe")).encode()
            got = self.pipeline(host, "a%d" % i,
                                self.raw("POST", "/bookings", second))
            self.assertEqual(got[0][0], 201)
            self.assertEqual(json.loads(got[0][1])["booking"]["roomId"],
                             "a%d" % i)
            if len(got) == 2:
                self.assertEqual(got[1][0], 201)
                self.assertEqual(json.loads(got[1][1])["booking"]["roomId"],
                                 "b%d" % i)
                answered += 1
        # A booking the server did not answer was not made: the client may
        # send it again without booking twice.
        self.assertEqual(self.count_ok(host)["unread"], 10 + answered)


    def test_requests_sent_in_one_write_get_the_first_answered_then_the_end(
            self):
        host = uid("h-pipe3")
        for i in range(5):
            sock = socket.create_connection(("127.0.0.1",
                                             self.server.http_port))
            self.addCleanup(sock.close)
            first, second = (json.dumps(booking_body(
                host, room, guest_id="g-pipe")).encode()
                for room in ("c%d" % i, "d%d" % i))
            sock.sendall(self.raw("POST", "/bookings", first)
                         + self.raw("POST", "/bookings", second))
            status, headers, _ = read_head(self, sock)
            self.assertEqual(status, "HTTP/1.1 201 Created")
            self.assertEqual(headers["connection"].lower(), "close")
            assert_connection_ends(self, sock)
        # Only the answered bookings were made: the client may send the
        # others again on a new connection.
        self.assertEqual(self.count_ok(host)["unread"], 5)
        self.assertEqual(
            [n["data"]["roomId"] for n in self.list_ok(host)["items"]],
            ["c4", "c3", "c2", "c1", "c0"])

    def test_empty_lines_between_requests_keep_the_connection(self):
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        healthz = self.raw("GET", "/healthz")
        for sent in (healthz + b"\r\n", b"\r\n" + healthz, healthz):
            sock.sendall(sent)
            status, headers, rest = read_head(self, sock)
            self.assertEqual(status, "HTTP/1.1 200 OK")
            self.assertEqual(headers["connection"].lower(), "keep-alive")
            while len(rest) < int(headers["content-length"]):
                rest += sock.recv(65536)
            self.assertEqual(rest, b'{"status":"ok"}')

    def test_a_chunked_booking_keeps_the_connection(self):
        host = uid("h-chunk")
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        body = json.dumps(booking_body(host, "r1", guest_id="g-pipe"))
        half = len(body) // 2
        chunked = ("POST /bookings HTTP/1.1\r\nHost: t\r\nAuthorization: "
                   "Bearer %s\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s"
                   "\r\n0\r\n\r\n" % (self.service, half, body[:half],
                                      len(body) - half, body[half:]))
        sock.sendall(chunked.encode())
        status, headers, rest = read_head(self, sock)
        self.assertEqual(status, "HTTP/1.1 201 Created")
        self.assertEqual(headers["connection"].lower(), "keep-alive")
        while len(rest) < int(headers["content-length"]):
            rest += sock.recv(65536)
        self.assertEqual(json.loads(rest)["booking"]["hostId"], host)
        self.assertEqual(self.count_ok(host)["unread"], 1)


    def chunked_booking(self, prefix):
        """A new host, a booking's JSON body for it, a connection that
        sends each piece at once, and the head of a chunked booking
        request without its last empty line."""
        host = uid(prefix)
        body = json.dumps(booking_body(host, "r1", guest_id="g-pipe"))
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(10)
        head = ("POST /bookings HTTP/1.1\r\nHost: t\r\nAuthorization: "
                "Bearer %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n" % self.service)
        return host, body, sock, head

    def test_a_chunked_booking_with_trailers_keeps_the_connection(self):
        # The trailer fields after the last chunk are read past, also when
        # they come in a later read: neither a pipelined request nor one
        # of their own.
        host, body, sock, head = self.chunked_booking("h-trail")
        sock.sendall((head + "Trailer: X-Sum\r\n\r\n%x\r\n%s\r\n0\r\nX-Sum: a"
                      % (len(body), body)).encode())
        status, headers, rest = read_head(self, sock)
        self.assertEqual(status, "HTTP/1.1 201 Created")
        self.assertEqual(headers["connection"].lower(), "keep-alive")
        while len(rest) < int(headers["content-length"]):
            rest += sock.recv(65536)
        sock.sendall(b"bc\r\nX-Other: 1\r\n\r\n" + self.raw("GET", "/healthz"))
        status, headers, rest = read_head(self, sock)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers["connection"].lower(), "keep-alive")
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_a_chunked_body_split_after_a_chunks_cr_is_read(self):
        # Pistache's own chunk parser spun for ever on this split, and with
        # it the reactor that serves every REST connection.
        host, body, sock, head = self.chunked_booking("h-chunk2")
        sock.sendall((head + "\r\n%x\r\n%s\r" % (len(body), body)).encode())
        time.sleep(0.2)
        sock.sendall(b"\n0\r\n\r\n")
        status, _, _ = read_head(self, sock)
        self.assertEqual(status, "HTTP/1.1 201 Created")
        self.assert_status(self.req("GET", "/healthz"), 200)
        self.assertEqual(self.count_ok(host)["unread"], 1)


class UnreadableRequestTest(ServerTestCase):
    """What Pistache's parser cannot read is answered in the contract's
    error shape, and the connection ends (docs/decisions.md, "Requests
    that cannot be read")."""

    def exchange(self, raw):
        """Sends `raw` and returns (status line, headers, body) of the one
        answer, which must be followed by the end of the connection."""
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        sock.sendall(raw)
        status, headers, rest = read_head(self, sock)
        rest += assert_connection_ends(self, sock)
        self.assertEqual(len(rest), int(headers["content-length"]), rest)
        return status, headers, rest

    def assert_error_answer(self, raw, status, code):
        line, headers, body = self.exchange(raw)
        self.assertEqual(int(line.split(" ")[1]), status, (raw, line, body))
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["connection"].lower(), "close")
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], code, raw)
        self.assertTrue(err["message"])
        # Neither the library's exception text nor the input comes back.
        for word in ("basic_string", "stoull", "stol", "PROPFIND", "gzip"):
            self.assertNotIn(word, err["message"])

    def test_a_request_line_or_header_that_cannot_be_read_is_400(self):
        for raw in (b"PROPFIND / HTTP/1.1\r\nHost: t\r\n\r\n",
                    b"get /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
                    b"GET /healthz HTTP/3.0\r\nHost: t\r\n\r\n",
                    b"POST /bookings HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                    b"POST /bookings HTTP/1.1\r\nContent-Length: "
                    b"123456789012345678901234567890\r\n\r\n",
                    b"POST /bookings HTTP/1.1\r\nTransfer-Encoding: gzip"
                    b"\r\n\r\n"):
            self.assert_error_answer(raw, 400, "invalid_request")

    def test_a_content_type_that_is_no_media_type_is_415(self):
        for ctype in (b"application/jsonx", b"json", b""):
            self.assert_error_answer(
                b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                + ctype + b"\r\nContent-Length: 2\r\n\r\n{}", 415,
                "unsupported_media_type")

    def test_a_request_over_128_kib_is_413(self):
        for size in (200 * 1024, 3 * 1024 * 1024):
            head = (b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                    b"application/json\r\nContent-Length: %d\r\n\r\n" % size)
            self.assert_error_answer(head + b" " * size, 413,
                                     "payload_too_large")

    def test_a_body_declared_over_128_kib_is_413_before_it_is_sent(self):
        # The answer comes once the header (or the chunk's size line) is
        # read: nothing of the body is waited for, and nothing of its
        # declared size is reserved.
        chunked = (b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                   b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        for raw in (b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                    b"application/json\r\nContent-Length: %d\r\n\r\n"
                    % (200 * 1024),
                    b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Length: "
                    b"1000000000000000\r\n\r\n{",
                    chunked + b"ffffffffff\r\n{",
                    chunked + b"1\r\n{\r\n30000\r\n"):
            self.assert_error_answer(raw, 413, "payload_too_large")
        self.assert_status(self.req("GET", "/healthz"), 200)

    def test_a_client_may_finish_its_body_after_the_413(self):
        # The server answers once 128 KiB are read, and reads and drops
        # what comes after: a client that goes on sending its body is not
        # reset, and still reads the answer and then the end.
        size = 3 * 1024 * 1024
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        sock.sendall(b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n"
                     % size + b" " * (200 * 1024))
        status, headers, rest = read_head(self, sock)
        self.assertEqual(status, "HTTP/1.1 413 Request Entity Too Large")
        self.assertEqual(headers["connection"].lower(), "close")
        time.sleep(0.2)  # the server has shut its side down by now
        sock.sendall(b" " * (size - 200 * 1024))
        rest += assert_connection_ends(self, sock)
        self.assertEqual(json.loads(rest)["error"]["code"],
                         "payload_too_large")

    def test_a_header_over_128_kib_is_413(self):
        self.assert_error_answer(
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: "
            + b"a" * (130 * 1024) + b"\r\n\r\n", 413, "payload_too_large")

    def test_a_body_over_64_kib_within_128_kib_keeps_the_connection(self):
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        size = 100 * 1024
        for _ in range(2):
            sock.sendall(b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                         b"application/json\r\nAuthorization: Bearer %s\r\n"
                         b"Content-Length: %d\r\n\r\n"
                         % (self.service.encode(), size) + b" " * size)
            status, headers, rest = read_head(self, sock)
            self.assertEqual(status, "HTTP/1.1 413 Request Entity Too Large")
            self.assertEqual(headers["connection"].lower(), "keep-alive")
            while len(rest) < int(headers["content-length"]):
                rest += sock.recv(65536)
            self.assertEqual(json.loads(rest)["error"]["code"],
                             "payload_too_large")

    def test_the_answers_are_counted(self):
        def unknown_400():
            text = self.req("GET", "/metrics")[3].decode()
            found = re.search(r'(?m)^bellhop_http_requests_total\{route='
                              r'"unknown",code="400"\} (\d+)$', text)
            return int(found.group(1)) if found else 0
        before = unknown_400()
        for _ in range(3):
            self.assert_error_answer(b"BREW /pot HTTP/1.1\r\n\r\n", 400,
                                     "invalid_request")
        self.assertEqual(unknown_400(), before + 3)


class ExpectContinueTest(ServerTestCase):
    """A client that sends `Expect: 100-continue` gets `100 Continue` once
    the header is read, and only then sends its body (RFC 9110 §10.1.1;
    docs/decisions.md, "Expect: 100-continue")."""

    server_args = ("--booking-rate-limit", "0")

    def head(self, version, body, expect=True):
        return ("POST /bookings %s\r\nHost: t\r\nAuthorization: Bearer %s"
                "\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                "%s\r\n" % (version, self.service, len(body),
                             "Expect: 100-continue\r\n" if expect else "")
                ).encode()

    def test_curl_sends_its_body_when_told_to_continue(self):
        host = uid("h-expect")
        body = json.dumps(booking_body(host, "r1", guest_id="g-expect"))
        # curl waits up to --expect100-timeout for the 100 before it sends
        # the body: far beyond --max-time, so only a 100 lets it finish.
        out = subprocess.run(
            ["curl", "-sS", "--max-time", "20", "--expect100-timeout", "60",
             "-o", "/dev/null", "-w", "%{http_code}",
             "-H", "Expect: 100-continue",
             "-H", "Content-Type: application/json",
             "-H", "Authorization: Bearer " + self.service,
             "--data-binary", body,
             "http://127.0.0.1:%d/bookings" % self.server.http_port],
            capture_output=True, text=True, timeout=60)
        self.assertEqual((out.returncode, out.stdout), (0, "201"), out.stderr)
        self.assertEqual(self.count_ok(host)["unread"], 1)

    def test_100_continue_comes_before_the_body_is_sent(self):
        host = uid("h-expect2")
        body = json.dumps(booking_body(host, "r1",
                                       guest_id="g-expect")).encode()
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        sock.settimeout(10)
        sock.sendall(self.head("HTTP/1.1", body))
        interim = b"HTTP/1.1 100 Continue\r\n\r\n"
        got = b""
        while len(got) < len(interim):
            chunk = sock.recv(len(interim) - len(got))
            self.assertTrue(chunk, "closed before 100 Continue: %r" % got)
            got += chunk
        self.assertEqual(got, interim)
        sock.sendall(body)
        status, headers, _ = read_head(self, sock)
        self.assertEqual(status, "HTTP/1.1 201 Created")

    def test_no_interim_answer_when_the_body_came_or_for_http_1_0(self):
        for version, together in (("HTTP/1.1", True), ("HTTP/1.0", False)):
            host = uid("h-expect3")
            body = json.dumps(booking_body(host, "r1",
                                           guest_id="g-expect")).encode()
            sock = socket.create_connection(("127.0.0.1",
                                             self.server.http_port))
            self.addCleanup(sock.close)
            sock.settimeout(10)
            if together:
                sock.sendall(self.head(version, body) + body)
            else:
                sock.sendall(self.head(version, body))
                time.sleep(0.3)
                sock.sendall(body)
            status, _, _ = read_head(self, sock)
            self.assertEqual(status, version + " 201 Created")


class CorsTest(ServerTestCase):
    """Pages of the origins of --cors-origins may call the API from a
    browser (docs/decisions.md, "Cross-origin requests"); the browser side
    is tests/browser/cross_origin.test.mjs."""

    app = "https://app.example"
    server_args = ("--cors-origins", "HTTPS://App.Example:443, "
                   "http://localhost:5173")

    def preflight(self, origin, method="GET", path="/notifications/count"):
        return self.req("OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type"})

    def test_a_listed_origin_is_allowed_and_may_read_the_answer_headers(self):
        host = uid("h-cors")
        resp = self.count(host, headers={"Origin": self.app})
        self.assert_status(resp, 200)
        h = resp[1]
        self.assertEqual(h["access-control-allow-origin"], self.app)
        self.assertEqual(h["vary"], "Origin")
        exposed = [x.strip() for x in
                   h["access-control-expose-headers"].split(",")]
        self.assertEqual(sorted(exposed), ["ETag", "Location", "Retry-After"])
        booked = self.book(booking_body(host, "r1", guest_id="g-cors"),
                           headers={"Origin": "http://localhost:5173"})
        self.assert_status(booked, 201)
        self.assertEqual(booked[1]["access-control-allow-origin"],
                         "http://localhost:5173")
        # Errors carry them too: a script must be able to read a 401.
        resp = self.count(host, tok="x", headers={"Origin": self.app})
        self.assert_error(resp, 401, "unauthorized")
        self.assertEqual(resp[1]["access-control-allow-origin"], self.app)

    def test_a_preflight_of_a_listed_origin_is_204(self):
        for method, path in (("GET", "/notifications/count"),
                             ("POST", "/bookings"),
                             ("PUT", "/preferences")):
            resp = self.preflight(self.app, method, path)
            self.assertEqual(resp[0], 204, resp)
            self.assertEqual(resp[3], b"")
            h = resp[1]
            self.assertEqual(h["access-control-allow-origin"], self.app)
            self.assertIn(method, [m.strip() for m in
                          h["access-control-allow-methods"].split(",")])
            allowed = [x.strip().lower() for x in
                       h["access-control-allow-headers"].split(",")]
            for name in ("authorization", "content-type", "idempotency-key",
                         "if-none-match"):
                self.assertIn(name, allowed)
            self.assertEqual(h["access-control-max-age"], "600")

    def test_another_origin_gets_no_allowance(self):
        for origin in ("https://evil.example", "https://app.example:8443",
                       "http://app.example", "null"):
            resp = self.count(uid("h-cors"), headers={"Origin": origin})
            self.assert_status(resp, 200)
            self.assertNotIn("access-control-allow-origin", resp[1])
            self.assertEqual(resp[1]["vary"], "Origin")
            self.assert_error(self.preflight(origin), 403, "forbidden")

    def test_requests_without_origin_are_as_before(self):
        resp = self.count(uid("h-cors"))
        self.assert_status(resp, 200)
        self.assertNotIn("access-control-allow-origin", resp[1])
        # An OPTIONS that is no preflight is an unknown route.
        self.assert_error(self.req("OPTIONS", "/notifications/count"), 404,
                          "not_found")

    def test_preflights_are_counted(self):
        text = self.req("GET", "/metrics")[3].decode()
        before = re.search(r'(?m)^bellhop_http_requests_total\{route='
                           r'"OPTIONS preflight",code="204"\} (\d+)$', text)
        self.preflight(self.app)
        text = self.req("GET", "/metrics")[3].decode()
        after = re.search(r'(?m)^bellhop_http_requests_total\{route='
                          r'"OPTIONS preflight",code="204"\} (\d+)$', text)
        self.assertEqual(int(after.group(1)),
                         (int(before.group(1)) if before else 0) + 1)


class CorsAnyOriginTest(ServerTestCase):
    """--cors-origins '*': any origin, and no Vary."""

    server_args = ("--cors-origins", "*")

    def test_any_origin_is_allowed(self):
        resp = self.count(uid("h-cors"), headers={
            "Origin": "https://whoever.example"})
        self.assert_status(resp, 200)
        self.assertEqual(resp[1]["access-control-allow-origin"], "*")
        self.assertNotIn("vary", resp[1])
        pre = self.req("OPTIONS", "/bookings", headers={
            "Origin": "https://whoever.example",
            "Access-Control-Request-Method": "POST"})
        self.assertEqual(pre[0], 204)
        self.assertEqual(pre[1]["access-control-allow-origin"], "*")


class CorsOffTest(ServerTestCase):
    """Without --cors-origins nothing is allowed, and nothing answered for
    a preflight but the unknown route."""

    def test_no_allowance_without_the_option(self):
        resp = self.count(uid("h-cors"), headers={
            "Origin": "https://app.example"})
        self.assert_status(resp, 200)
        self.assertNotIn("access-control-allow-origin", resp[1])
        self.assertNotIn("vary", resp[1])
        pre = self.req("OPTIONS", "/bookings", headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST"})
        self.assert_error(pre, 404, "not_found")
        self.assertNotIn("access-control-allow-origin", pre[1])


class SlowReaderTest(ServerTestCase):
    """A page of ~1 MB to a client that reads it slowly in small bites
    arrives whole, and the connection goes on (or closes when asked).
    (Over loopback the kernel takes such a page at once; tests/unit/
    wire_test.cpp covers an answer the socket cannot take.)"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = uid("h-big")
        # 100 notifications of ~11 KB each: a page of ~1 MB.
        for i in range(100):
            status, _, _, raw = cls.http.req(
                "POST", "/notifications",
                {"hostId": cls.host, "type": "system", "title": "n%d" % i,
                 "body": "b" * 2000, "data": {"blob": "d" * 8000}},
                token=cls.service)
            assert status == 201, raw

    def slow_socket(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(20)
        sock.connect(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        return sock

    def read_answer(self, sock):
        """One answer: (status, headers, body), read in small bites."""
        line, headers, body = read_head(self, sock, bite=4096)
        length = int(headers["content-length"])
        while len(body) < length:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, "closed after %d of %d bytes"
                            % (len(body), length))
            body += chunk
        self.assertEqual(len(body), length, "more than the answer came")
        return int(line.split(" ")[1]), headers, body

    def request(self, path, close=False):
        return ("GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n%s"
                "\r\n" % (path, host_token(self.host),
                           "Connection: close\r\n" if close else "")).encode()

    def test_a_big_page_read_slowly_arrives_whole_and_the_connection_goes_on(self):
        expected = self.list_ok(self.host, limit=100)
        sock = self.slow_socket()
        sock.sendall(self.request("/notifications/list?limit=100"))
        time.sleep(1)  # the server's buffers fill; the rest waits
        status, _, body = self.read_answer(sock)
        self.assertEqual(status, 200)
        self.assertGreater(len(body), 1000000)
        self.assertEqual(json.loads(body), expected)
        # The same connection answers the next request.
        sock.sendall(self.request("/notifications/count"))
        status, _, body = self.read_answer(sock)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["unread"], 100)

    def test_a_big_page_read_slowly_then_the_connection_closes_when_asked(self):
        sock = self.slow_socket()
        sock.sendall(self.request("/notifications/list?limit=100", close=True))
        time.sleep(1)
        status, headers, body = self.read_answer(sock)
        self.assertEqual(status, 200)
        self.assertEqual(headers["connection"].lower(), "close")
        self.assertEqual(len(json.loads(body)["items"]), 100)
        self.assertEqual(sock.recv(4096), b"", "the connection stayed open")

    def test_answers_to_requests_sent_before_reading_come_whole_and_in_order(self):
        expected = self.list_ok(self.host, limit=100)
        sock = self.slow_socket()
        # Pipelined: each sent before the answers before it were read. More
        # than the kernel's buffers hold, so answers wait in the server.
        asked = 6
        for _ in range(asked):
            sock.sendall(self.request("/notifications/list?limit=100"))
            time.sleep(0.05)
        sock.sendall(self.request("/notifications/count"))
        time.sleep(0.5)
        got = answers_until_end(self, sock)
        for status, _ in got:
            self.assertEqual(status, 200)
        got = [json.loads(body) for _, body in got]
        # Whole answers, in the order asked: the pages, then the count; the
        # connection may end after any of them (those after were not taken).
        self.assertGreaterEqual(len(got), 1)
        want = [expected] * asked + [{"unread": 100}]
        for i, answer in enumerate(got):
            if i < asked:
                self.assertEqual(answer, want[i], "answer %d" % i)
            else:
                self.assertEqual(answer["unread"], 100)

    def test_a_client_that_asks_without_reading_holds_one_answer_at_a_time(self):
        fds = "/proc/%d/fd" % self.server.proc.pid
        before = len(os.listdir(fds))
        sock = self.slow_socket()
        for _ in range(200):
            try:
                sock.sendall(self.request("/notifications/list?limit=100"))
            except OSError:
                break  # the server ended the connection: fine
            time.sleep(0.005)
        time.sleep(0.5)
        # One answer waits for the client, with its descriptors: not one
        # per request (200 MB and 200 descriptors held for one client).
        self.assertLess(len(os.listdir(fds)), before + 10)
        sock.close()

    def test_a_client_gone_before_reading_leaves_the_server_answering(self):
        for _ in range(5):
            sock = self.slow_socket()
            sock.sendall(self.request("/notifications/list?limit=100"))
            time.sleep(0.2)
            sock.close()
        self.assertEqual(self.count_ok(self.host)["unread"], 100)


# =============================================================== limits

class RateLimitTest(ServerTestCase):
    """--rate-limit 5 and --booking-rate-limit 2: 429 and Retry-After."""

    server_omit = ("--rate-limit", "--booking-rate-limit")
    server_args = ["--rate-limit", "5", "--booking-rate-limit", "2"]

    def first_429(self, send, max_requests):
        for _ in range(max_requests):
            resp = send()
            if resp[0] == 429:
                return resp
            self.assertIn(resp[0], (200, 201), resp[3][:300])
        self.fail("no 429 after %d requests" % max_requests)

    def test_rest_burst_beyond_limit_is_429_then_served_again(self):
        host = uid("h")
        resp = self.first_429(lambda: self.count(host), 300)
        self.assert_error(resp, 429, "rate_limited")
        wait = self.assert_retry_after(resp)
        self.assertGreaterEqual(wait, 1)
        # Limits are per principal: another host is still served.
        self.assert_status(self.count(uid("h")), 200)
        time.sleep(wait)
        self.assert_status(self.count(host), 200)

    def test_requests_without_a_valid_token_are_limited_by_address(self):
        # Each one is a 401 until the address's bucket (burst 10) is empty.
        for _ in range(300):
            resp = self.req("GET", "/notifications/count")
            if resp[0] == 429:
                break
            self.assert_error(resp, 401, "unauthorized")
        self.assert_error(resp, 429, "rate_limited")
        self.assertGreaterEqual(self.assert_retry_after(resp), 1)
        # A valid token is another principal, with its own bucket.
        self.assert_status(self.count(uid("h")), 200)


    def test_metrics_are_limited_by_address(self):
        for _ in range(300):
            resp = self.req("GET", "/metrics")
            if resp[0] == 429:
                break
            self.assert_status(resp, 200)
        self.assert_error(resp, 429, "rate_limited")
        self.assertGreaterEqual(self.assert_retry_after(resp), 1)
        # Health probes are never refused.
        self.assert_status(self.req("GET", "/healthz"), 200)


class BookingRateLimitTest(ServerTestCase):
    """--booking-rate-limit 2 alone (REST limit off): 2/s, burst 4, per
    guestId."""

    server_omit = ("--booking-rate-limit",)
    server_args = ["--booking-rate-limit", "2"]

    def burst(self, send):
        """Sends until a 429; returns (201s before it, the 429)."""
        for sent in range(20):
            resp = send()
            if resp[0] == 429:
                return sent, resp
            self.assert_status(resp, 201)
        self.fail("no 429 after 20 bookings")

    def test_a_guest_beyond_the_limit_gets_429_then_is_served_again(self):
        host, guest = uid("h"), token(uid("g"), "guest")
        sent, resp = self.burst(
            lambda: self.book(booking_body(host, uid("r")), tok=guest))
        self.assertLessEqual(sent, 5)  # burst 4, plus what refilled meanwhile
        self.assert_error(resp, 429, "rate_limited")
        wait = self.assert_retry_after(resp)
        self.assertGreaterEqual(wait, 1)
        # Another guest is not held back by the first one's limit.
        self.assert_status(self.book(booking_body(host, uid("r")),
                                     tok=token(uid("g"), "guest")), 201)
        time.sleep(wait)
        self.assert_status(self.book(booking_body(host, uid("r")), tok=guest),
                           201)

    def test_a_service_is_limited_per_guest_named_in_the_body(self):
        host, guest = uid("h"), uid("g")
        sent, resp = self.burst(
            lambda: self.book(booking_body(host, uid("r"), guest_id=guest)))
        self.assertLessEqual(sent, 5)
        self.assert_error(resp, 429, "rate_limited")
        self.assert_status(self.book(booking_body(host, uid("r"),
                                                  guest_id=uid("g"))), 201)
        # Other routes are not the booking limit's business.
        self.assert_status(self.count(host), 200)


class StorageFullTest(ServerTestCase):
    """--map-size 1 MiB: a full store answers 503 and loses nothing."""

    server_args = ["--map-size", "1048576"]

    def test_full_storage_is_503_and_committed_bookings_survive(self):
        host, created, full = uid("h"), [], None
        for i in range(3000):
            resp = self.book(booking_body(host, "r%d" % i, guest_id="g1",
                                          note="n" * 500))
            if resp[0] != 201:
                full = resp
                break
            created.append(resp[2]["booking"])
        self.assertIsNotNone(full, "no 503 after 3000 bookings in 1 MiB")
        self.assert_error(full, 503, "unavailable")
        self.assert_retry_after(full)
        health = self.req("GET", "/healthz")
        self.assert_status(health, 200)
        self.assertEqual(health[2], {"status": "ok"})
        for booking in created:
            resp = self.get_booking(booking["id"], self.admin)
            self.assert_status(resp, 200)
            self.assertEqual(booking_of(resp[2]), booking)
        self.assertEqual(self.count_ok(host)["unread"], len(created))
        # Operators see it coming: the metrics show the store's use, and the
        # log warned at 80, 90 and 95 % of --map-size.
        metrics = self.req("GET", "/metrics")[3].decode()
        used = re.search(r"^bellhop_storage_used_bytes (\d+)$", metrics, re.M)
        size = re.search(r"^bellhop_storage_map_bytes (\d+)$", metrics, re.M)
        self.assertEqual(int(size.group(1)), 1048576, metrics[-600:])
        self.assertGreaterEqual(int(used.group(1)), 0.95 * 1048576)
        self.assertLessEqual(int(used.group(1)), 1048576)
        deadline = time.time() + 5
        while "percent=95" not in self.server.stderr_text() and \
                time.time() < deadline:
            time.sleep(0.1)
        log = self.server.stderr_text()
        for percent in (80, 90, 95):
            self.assertEqual(log.count("the store is filling up percent=%d "
                                       % percent), 1, log[-2000:])
        # A socket's mark-read fails as the REST call does (§5: "same
        # effect"): unavailable, not a malformed request.
        import websocket  # python3-websocket, as in test_email.py
        conn = websocket.create_connection(
            "ws://127.0.0.1:%d/ws?access_token=%s"
            % (self.server.ws_port, host_token(host)), timeout=10)
        self.addCleanup(conn.close)
        self.assertEqual(json.loads(conn.recv())["event"], "hello")
        conn.send(json.dumps({"op": "mark-read", "all": True}))
        frame = json.loads(conn.recv())
        self.assertEqual(frame["event"], "error", frame)
        self.assertEqual(frame["data"]["code"], "unavailable", frame)
        self.assert_error(self.mark(host, {"all": True}), 503, "unavailable")


# ================================================================== CLI

class CliTest(ContractAssertions, unittest.TestCase):
    """Section 9: the command line."""

    def test_version_exits_0(self):
        result = run_cli("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.strip())

    def test_help_exits_0(self):
        result = run_cli("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for command in ("serve", "token", "sim", "--version"):
            self.assertIn(command, result.stdout)
        for command in ("serve", "token", "sim"):
            with self.subTest(command=command):
                result = run_cli(command, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("usage: bellhop " + command, result.stdout)

    def test_unknown_option_exits_2(self):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        result = run_cli("serve", "--no-such-flag", "--data-dir", data_dir,
                         "--http-port", "0", "--ws-port", "0", timeout=10)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertTrue((result.stdout + result.stderr).strip())

    def test_a_short_hs256_secret_is_served_with_a_warning(self):
        # RFC 7518 §3.2: 256 bits at least. The contract's examples use
        # short secrets, so the server runs, and says so once at start.
        for secret, warned in (("s" * 31, True), ("s" * 32, False)):
            server = Server(secret=secret)
            self.addCleanup(server.cleanup)
            status = server.client().req(
                "GET", "/notifications/count",
                token=token("h1", "host", secret=secret))[0]
            self.assertEqual(status, 200)
            server.stop()
            self.assertEqual("shorter than 32 bytes" in server.stderr_text(),
                             warned, server.stderr_text()[-2000:])

    def test_a_socket_cap_beyond_the_open_files_is_named_at_start(self):
        for cap, warned in (("10000000", True), ("100", False)):
            server = Server(("--max-connections", cap))
            self.addCleanup(server.cleanup)
            server.stop()
            self.assertEqual("more than the open-file limit" in
                             server.stderr_text(), warned,
                             server.stderr_text()[-2000:])

    def test_a_wildcard_bind_warns_about_email_links_only_without_public_url(self):
        base = ("--bind", "0.0.0.0", "--smtp-url", "smtp://127.0.0.1:1")
        for extra, warned in (((), True),
                              (("--public-url", "http://bellhop.example/"),
                               False)):
            server = Server(base + extra)
            self.addCleanup(server.cleanup)
            server.stop()
            self.assertEqual("emails link to this host's name" in
                             server.stderr_text(), warned,
                             server.stderr_text()[-2000:])

    def test_a_cors_origin_that_is_no_origin_exits_2(self):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for value in ("app.example", "https://app.example/", "", "*,*"):
            with self.subTest(value=value):
                result = run_cli("serve", "--jwt-secret", "s" * 32,
                                 "--cors-origins", value, "--data-dir",
                                 data_dir, "--http-port", "0", "--ws-port",
                                 "0", timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn("--cors-origins", result.stderr)

    def test_an_smtp_url_of_another_scheme_exits_2(self):
        # curl would PUT the email over HTTP, or write it to a file and
        # count it as sent.
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for url in ("127.0.0.1:2525", "http://127.0.0.1:2525",
                    "file:///tmp/mail", "smtp://", "smtp://relay:port",
                    "http://bh:s3cret@relay.example"):
            with self.subTest(url=url):
                result = run_cli("serve", "--jwt-secret", "s" * 32,
                                 "--smtp-url", url, "--data-dir", data_dir,
                                 "--http-port", "0", "--ws-port", "0",
                                 timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn("--smtp-url", result.stderr)
                # The address may hold a password: it is not repeated.
                self.assertNotIn("s3cret", result.stdout + result.stderr)

    def test_an_smtp_password_in_clear_over_the_network_is_named_at_start(self):
        auth = ("--smtp-user", "bh", "--smtp-password", "pw")
        for extra, warned in (
                (("--smtp-url", "smtp://192.0.2.1:25") + auth, True),
                (("--smtp-url", "SMTP://bh@relay.example") + auth, True),
                (("--smtp-url", "smtp://192.0.2.1:25", "--smtp-starttls")
                 + auth, False),
                (("--smtp-url", "smtps://192.0.2.1:465") + auth, False),
                (("--smtp-url", "smtp://127.0.0.1:2525") + auth, False),
                (("--smtp-url", "smtp://[::ffff:127.0.0.1]:2525") + auth,
                 False),
                (("--smtp-url", "smtp://127.example.net") + auth, True),
                (("--smtp-url", "smtp://bh:pw@relay.example"), True),
                (("--smtp-url", "smtp://192.0.2.1:25"), False)):
            with self.subTest(extra=extra):
                server = Server(extra)
                self.addCleanup(server.cleanup)
                server.stop()
                self.assertEqual("password goes over the network in clear"
                                 in server.stderr_text(), warned,
                                 server.stderr_text()[-2000:])

    def test_unknown_command_exits_2(self):
        result = run_cli("no-such-command", timeout=10)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)

    def test_token_command_prints_a_jwt_the_server_accepts(self):
        result = run_cli("token", "--sub", "h1", "--role", "host",
                         "--jwt-secret", "s")
        self.assertEqual(result.returncode, 0, result.stderr)
        jwt = result.stdout.strip()
        self.assertEqual(len(jwt.split(".")), 3, jwt)
        claims = jwt_claims(jwt)
        self.assertEqual((claims["sub"], claims["role"]), ("h1", "host"))
        self.assertGreater(claims["exp"], time.time())
        server = Server(secret="s")
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/notifications/count",
                                      token=jwt), 200)

    def test_token_with_an_empty_sub_exits_2(self):
        for role in ("admin", "service", "host", "guest"):
            with self.subTest(role=role):
                result = run_cli("token", "--sub", "", "--role", role,
                                 "--jwt-secret", "s")
                self.assertEqual(result.returncode, 2, result.stdout)
                self.assertEqual(result.stdout.strip(), "")
                self.assertIn("--sub", result.stderr)

    def test_jwt_alg_without_a_public_key_exits_2(self):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for alg in ("ES256", "bogus"):
            with self.subTest(alg=alg):
                result = run_cli("serve", "--jwt-secret", "s", "--jwt-alg",
                                 alg, "--data-dir", data_dir, "--http-port",
                                 "0", "--ws-port", "0", timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn("--jwt-alg", result.stderr)

    def test_bind_to_an_ipv6_address_serves_rest_and_websocket(self):
        server = Server(["--bind", "::1"], omit=("--bind",))
        self.addCleanup(server.cleanup)
        client = Client(server.http_port, host="::1")
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/healthz"), 200)
        self.assert_status(client.req("GET", "/notifications/count",
                                      token=token("h1", "host")), 200)
        with socket.create_connection(("::1", server.ws_port), timeout=10):
            pass
        # Nothing listens on IPv4 loopback.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", server.http_port),
                                     timeout=5).close()

    def test_token_ttl_sets_expiry(self):
        result = run_cli("token", "--sub", "h1", "--role", "host", "--ttl",
                         "120", "--jwt-secret", "s")
        self.assertEqual(result.returncode, 0, result.stderr)
        exp = jwt_claims(result.stdout.strip())["exp"]
        self.assertAlmostEqual(exp, time.time() + 120, delta=15)

    def config_file(self, text):
        """A TOML file of `text` in a directory of its own; its path."""
        conf_dir = tempfile.mkdtemp(prefix="bellhop-conf-")
        self.addCleanup(shutil.rmtree, conf_dir, True)
        path = os.path.join(conf_dir, "bellhop.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def config_server(self, extra_args=()):
        """A server whose secret and ports come from a TOML --config file."""
        path = self.config_file('# integration test config\n'
                                'jwt-secret = "file-secret"\n'
                                'http-port = 0\nws-port = 0\n')
        server = Server(["--config", path, *extra_args],
                        omit=("--jwt-secret", "--http-port", "--ws-port"))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        return server, client

    def test_config_file_sets_options(self):
        server, client = self.config_server()
        self.assertNotIn(server.http_port, (0, 8080))
        self.assertNotIn(server.ws_port, (0, 8081))
        ok = client.req("GET", "/notifications/count",
                        token=token("h1", "host", secret="file-secret"))
        self.assert_status(ok, 200)
        bad = client.req("GET", "/notifications/count", token=token("h1",
                                                                    "host"))
        self.assert_error(bad, 401, "unauthorized")

    def assert_secret_used(self, client, used, unused):
        ok = client.req("GET", "/notifications/count",
                        token=token("h1", "host", secret=used))
        self.assert_status(ok, 200)
        old = client.req("GET", "/notifications/count",
                         token=token("h1", "host", secret=unused))
        self.assert_error(old, 401, "unauthorized")

    def test_flag_overrides_config_file(self):
        _, client = self.config_server(["--jwt-secret", "flag-secret"])
        self.assert_secret_used(client, "flag-secret", "file-secret")

    def test_environment_overrides_config_file(self):
        # Flags beat the environment, which beats the file.
        saved = os.environ.get("BELLHOP_JWT_SECRET")
        os.environ["BELLHOP_JWT_SECRET"] = "env-secret"
        try:
            _, client = self.config_server()
        finally:
            if saved is None:
                del os.environ["BELLHOP_JWT_SECRET"]
            else:
                os.environ["BELLHOP_JWT_SECRET"] = saved
        self.assert_secret_used(client, "env-secret", "file-secret")

    def test_switches_in_the_config_file_are_toml_booleans(self):
        path = self.config_file('jwt-secret = "file-secret"\ndemo = true\n')
        server = Server(["--config", path], omit=("--jwt-secret",))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        resp = client.req("GET", "/config.json")
        self.assert_status(resp, 200)
        self.assertIs(resp[2]["demo"], True)
        with open(path, "w") as f:
            f.write('jwt-secret = "s"\nws-close-on-delivery = "yes"\n')
        code, err = self.serve_exit_code("--config", path)
        self.assertEqual(code, 2, err)
        self.assertIn("ws-close-on-delivery", err)

    def test_one_server_per_data_directory(self):
        first = Server()
        self.addCleanup(first.cleanup)
        code, err = self.serve_exit_code("--data-dir", first.data_dir,
                                         "--jwt-secret", "s")
        self.assertEqual(code, 1, err)
        self.assertIn("in use", err)
        self.assertIn("(pid %d)" % first.proc.pid, err)
        # The lock is not a file one can delete while the server runs:
        # with every file but LMDB's own gone, a second server is still
        # refused.
        for name in os.listdir(first.data_dir):
            if name not in ("data.mdb", "lock.mdb"):
                os.remove(os.path.join(first.data_dir, name))
        code, err = self.serve_exit_code("--data-dir", first.data_dir,
                                         "--jwt-secret", "s")
        self.assertEqual(code, 1, err)
        self.assertIn("in use", err)
        client = first.client()
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/healthz"), 200)

    def test_a_server_of_the_older_lock_file_is_refused_too(self):
        # Servers before the directory lock held a flock on bellhop.lock.
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        with open(os.path.join(data_dir, "bellhop.lock"), "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            result = run_cli("serve", "--data-dir", data_dir, "--jwt-secret",
                             "s", "--http-port", "0", "--ws-port", "0",
                             timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("in use by an older bellhop", result.stderr)

    def test_token_refuses_a_sub_the_server_would_refuse(self):
        for role in ("host", "guest"):
            with self.subTest(role=role):
                result = run_cli("token", "--sub", "h 1", "--role", role,
                                 "--jwt-secret", "s")
                self.assertEqual(result.returncode, 2, result.stdout)
                self.assertEqual(result.stdout, "")
                self.assertIn("--sub", result.stderr)

    def key_file(self, kind):
        """A PEM public key of `kind` ("rsa" or "ec"), made by openssl."""
        key_dir = tempfile.mkdtemp(prefix="bellhop-key-")
        self.addCleanup(shutil.rmtree, key_dir, True)
        return make_key(kind, key_dir)[1]

    def serve_exit_code(self, *args):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        result = run_cli("serve", "--data-dir", data_dir, "--http-port", "0",
                         "--ws-port", "0", *args, timeout=10)
        return result.returncode, result.stderr

    def test_key_options_that_cannot_work_exit_2(self):
        rsa, ec = self.key_file("rsa"), self.key_file("ec")
        for args in (["--jwt-public-key", ec],  # RS256 by default
                     ["--jwt-public-key", rsa, "--jwt-alg", "ES256"],
                     ["--jwt-public-key", rsa, "--jwt-secret", "s"],
                     ["--jwt-public-key", "/dev/null"]):
            with self.subTest(args=args):
                code, err = self.serve_exit_code(*args)
                self.assertEqual(code, 2, err)
                self.assertIn("--jwt-", err)

    def test_values_of_the_wrong_form_exit_2(self):
        # A bad flag will not fix itself: 2, so that a service manager does
        # not restart the server over and over (docs/operations.md).
        for args, named in (
                (["--bind", "localhost"], "--bind"),
                (["--bind", "999.1.1.1"], "--bind"),
                (["--bind", "[::1]"], "--bind"),
                (["--bind", ""], "--bind"),
                (["--rate-limit", "inf"], "--rate-limit"),
                (["--rate-limit", "0x10"], "--rate-limit"),
                (["--booking-rate-limit", "nan"], "--booking-rate-limit")):
            with self.subTest(args=args):
                code, err = self.serve_exit_code("--jwt-secret", "s", *args)
                self.assertEqual(code, 2, err)
                self.assertIn(named, err)
        path = self.config_file('jwt-secret = "s"\nws-ttl-ms = [99999999, 3000]\n')
        code, err = self.serve_exit_code("--config", path)
        self.assertEqual(code, 2, err)
        self.assertIn("ws-ttl-ms", err)
        # A directory is not a config file (toml++ reads it as empty).
        code, err = self.serve_exit_code("--config", os.path.dirname(path))
        self.assertEqual(code, 2, err)
        self.assertIn("cannot read config file", err)
        # A store smaller than 1 MiB would be full from the start.
        code, err = self.serve_exit_code("--jwt-secret", "s", "--map-size", "1")
        self.assertEqual(code, 2, err)
        self.assertIn("--map-size", err)

    def test_a_tiny_rate_in_the_config_file_is_kept(self):
        # 1e-7 a second is one request and then none; read as 0 it would
        # turn the limit off.
        path = self.config_file('jwt-secret = "s"\nrate-limit = 0.0000001\n')
        server = Server(["--config", path],
                        omit=("--jwt-secret", "--rate-limit"))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        host = token("h-tiny-rate", "host", secret="s")
        codes = [client.req("GET", "/notifications/count", token=host)[0]
                 for _ in range(3)]
        self.assertEqual(codes[0], 200, codes)
        self.assertEqual(codes[-1], 429, codes)

    def test_a_port_in_use_is_named(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        for flag, name in (("--http-port", "REST port"),
                           ("--ws-port", "WebSocket port")):
            with self.subTest(flag=flag):
                data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
                self.addCleanup(shutil.rmtree, data_dir, True)
                args = ["serve", "--data-dir", data_dir, "--jwt-secret", "s",
                        "--http-port", "0", "--ws-port", "0", flag, str(port)]
                result = run_cli(*args, timeout=10)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn("%s %d" % (name, port), result.stderr)


# ========================================================= process life

class HotBackupTest(ContractAssertions, unittest.TestCase):
    """docs/operations.md, backups: `mdb_copy -c` of the data directory of a
    running server, under writes, is a store another server opens with
    every booking answered before the copy began."""

    def test_mdb_copy_of_a_live_store_opens_with_everything_committed(self):
        server = Server()
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        service, host = token("svc", "service"), uid("h")
        before = []
        for i in range(30):
            resp = client.req("POST", "/bookings",
                              booking_body(host, "r%d" % i, guest_id="g1"),
                              token=service)
            self.assert_status(resp, 201)
            before.append(resp[2]["booking"])

        stop = threading.Event()

        def keep_booking():  # writes go on while the copy is made
            other = server.client()
            n = 0
            while not stop.is_set():
                other.req("POST", "/bookings",
                          booking_body(host, "w%d" % n, guest_id="g1"),
                          token=service)
                n += 1
            other.close()

        writer = threading.Thread(target=keep_booking)
        writer.start()
        copy_dir = tempfile.mkdtemp(prefix="bellhop-copy-")
        self.addCleanup(shutil.rmtree, copy_dir, True)
        try:
            result = subprocess.run(["mdb_copy", "-c", server.data_dir,
                                     copy_dir], capture_output=True,
                                    text=True, timeout=60)
        finally:
            stop.set()
            writer.join(30)
        self.assertEqual(result.returncode, 0, result.stderr)

        copy = Server(data_dir=copy_dir)
        self.addCleanup(copy.cleanup)
        other = copy.client()
        self.addCleanup(other.close)
        admin = token("a", "admin")
        for booking in before:
            got = other.req("GET", "/bookings/" + booking["id"], token=admin)
            self.assert_status(got, 200)
            self.assertEqual(got[2], booking)
        count = other.req("GET", "/notifications/count",
                          token=token(host, "host"))[2]
        self.assertGreaterEqual(count["unread"], 30)
        # The copy goes on from its own latest id.
        resp = other.req("POST", "/bookings",
                         booking_body(host, "after-copy", guest_id="g1"),
                         token=service)
        self.assert_status(resp, 201)
        self.assertEqual(resp[2]["notification"]["id"], count["latestId"] + 1)


class ShutdownTest(ContractAssertions, unittest.TestCase):
    """SIGTERM/SIGINT: exit 0 with committed data flushed."""

    def test_sigterm_exits_0_and_keeps_data(self):
        server = Server()
        self.addCleanup(server.cleanup)
        client = server.client()
        resp = client.req("POST", "/bookings",
                          booking_body("h1", "r1", guest_id="g1"),
                          token=token("svc", "service"))
        self.assert_status(resp, 201)
        client.close()
        self.assertEqual(server.stop(), 0, server.stderr_text()[-2000:])
        server.restart()
        client = server.client()
        self.addCleanup(client.close)
        got = client.req("GET", "/bookings/" + resp[2]["booking"]["id"],
                         token=token("a", "admin"))
        self.assert_status(got, 200)

    def test_answers_to_clients_that_reset_do_not_hold_the_stop(self):
        # A booking whose client resets before the 201 is written: Pistache
        # drops that write without a word, and the stop must not wait for
        # it (it would wait out its grace and say so in the log).
        server = Server()
        self.addCleanup(server.cleanup)
        data = json.dumps(booking_body("h-reset", "r", guest_id="g")).encode()
        socks = []
        for i in range(300):
            body = data.replace(b'"r"', b'"r%d"' % i)
            head = ("POST /bookings HTTP/1.1\r\nHost: x\r\n"
                    "Authorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n"
                    % (token("svc", "service"), len(body))).encode()
            sock = socket.create_connection(("127.0.0.1", server.http_port))
            # Closed with a reset (SO_LINGER 0) instead of a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            sock.sendall(head + body)
            socks.append(sock)
            if len(socks) == 30:  # reset in bursts, answers still due
                for s in socks:
                    s.close()
                socks = []
        time.sleep(0.5)  # let the last commits and answers happen
        self.assertEqual(server.stop(), 0, server.stderr_text()[-2000:])
        self.assertNotIn("unanswered after the grace period",
                         server.stderr_text())

    def test_sigint_exits_0(self):
        server = Server()
        self.addCleanup(server.cleanup)
        self.assertEqual(server.stop(signal.SIGINT), 0,
                         server.stderr_text()[-2000:])

    def test_sighup_is_left_alone_under_nohup(self):
        # Started with SIGHUP ignored, as nohup does: the server runs on.
        server = Server(preexec_fn=lambda: signal.signal(signal.SIGHUP,
                                                         signal.SIG_IGN))
        self.addCleanup(server.cleanup)
        server.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertIsNone(server.proc.poll(), server.stderr_text()[-2000:])
        client = server.client()
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/healthz"), 200)
        self.assertEqual(server.stop(), 0)

    def test_sighup_stops_as_sigterm_does(self):
        # The terminal of `make run` closed: a clean stop, not a kill.
        server = Server()
        self.addCleanup(server.cleanup)
        self.assertEqual(server.stop(signal.SIGHUP), 0,
                         server.stderr_text()[-2000:])
        self.assertIn("stopping", server.stderr_text())


class StopUnderLoadTest(ContractAssertions, unittest.TestCase):
    """§1 "stop accepting", under booking load: once SIGTERM arrives, every
    request that reaches the server is answered 201 (and is on disk after a
    restart) or 503 `unavailable` with Retry-After and `Connection: close`;
    every booking committed was answered 201; the server exits 0. /readyz
    answers 503 in the stop window, checked when the poller catches it."""

    CLIENTS = 8
    ATTEMPTS = 10  # a refusal needs a request to land in the short stop window

    def test_sigterm_refuses_new_work_and_keeps_every_201(self):
        refusals, readyz = [], []
        for _ in range(self.ATTEMPTS):
            got, ready = self.stop_under_load()
            refusals += got
            readyz += ready
            if refusals:
                break
        self.assertTrue(refusals, "no request landed between SIGTERM and "
                        "the stop in %d runs" % self.ATTEMPTS)
        for resp in refusals:
            self.assert_error(resp, 503, "unavailable")
            self.assert_retry_after(resp)
            self.assertEqual(resp[1].get("connection", "").lower(), "close",
                             resp[1])
        for resp in readyz:
            self.assert_error(resp, 503, "unavailable")
            self.assertEqual(resp[1].get("connection", "").lower(), "close",
                             resp[1])

    @staticmethod
    def exchange(sock, method, path, body=None, headers=()):
        """One request on a raw socket; (status, headers, JSON, raw)."""
        data = json.dumps(body).encode() if body is not None else b""
        head = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1",
                "Content-Length: %d" % len(data)] + list(headers)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        raw = resp.read()
        parsed = json.loads(raw) if raw else None
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                parsed, raw)

    def stop_under_load(self):
        """One server, CLIENTS connections booking without pause, SIGTERM
        once bookings flow. Returns the refusals and the /readyz answers
        that were not 200."""
        server = Server()
        self.addCleanup(server.cleanup)
        service = token("svc", "service")
        auth = ["Authorization: Bearer " + service,
                "Content-Type: application/json"]
        hosts = [uid("hstop") for _ in range(self.CLIENTS)]
        booked = {host: [] for host in hosts}
        refusals, readyz, unexpected = [], [], []
        stopping = threading.Event()

        def book(host):
            sock = socket.create_connection(("127.0.0.1", server.http_port),
                                            timeout=15)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                for i in itertools.count():
                    try:
                        resp = self.exchange(sock, "POST", "/bookings",
                                             booking_body(host, "r%d" % i,
                                                          guest_id="g"),
                                             auth)
                    except (http.client.HTTPException, OSError):
                        return  # closed by the stopping server
                    if resp[0] == 201:
                        booked[host].append(resp[2]["booking"])
                        continue
                    if resp[0] != 503:
                        unexpected.append(resp[:3])
                        return
                    refusals.append(resp)
                    return
            finally:
                sock.close()

        def poll_readyz():
            sock = socket.create_connection(("127.0.0.1", server.http_port),
                                            timeout=15)
            try:
                while True:
                    try:
                        resp = self.exchange(sock, "GET", "/readyz")
                    except (http.client.HTTPException, OSError):
                        return
                    if resp[0] != 200:
                        readyz.append(resp)
                        return
                    time.sleep(0.0005 if stopping.is_set() else 0.005)
            finally:
                sock.close()

        threads = [threading.Thread(target=book, args=(h,)) for h in hosts]
        threads.append(threading.Thread(target=poll_readyz))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while (sum(len(b) for b in booked.values()) < 20 * self.CLIENTS
               and time.monotonic() < deadline
               and all(t.is_alive() for t in threads)):
            time.sleep(0.01)
        stopping.set()
        server.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(30)
        self.assertEqual(server.stop(), 0, server.stderr_text()[-2000:])
        self.assertEqual(unexpected, [])
        self.assertTrue(all(booked.values()), "not every client booked")

        server.restart()
        client = server.client()
        self.addCleanup(client.close)
        for host in hosts:
            self.assert_stored(client, booked[host])
            count = client.req("GET", "/notifications/count",
                               token=host_token(host))
            self.assert_status(count, 200)
            # Every booking committed was answered 201 before the stop.
            self.assertEqual(count[2]["unread"], len(booked[host]))
        server.stop()
        return refusals, readyz

class CrashRecoveryTest(ContractAssertions, unittest.TestCase):
    """kill -9 after 201s: every acknowledged booking survives a restart."""

    HOSTS = 5
    PER_HOST = 10

    def test_kill9_loses_no_acknowledged_booking(self):
        server = Server()
        self.addCleanup(server.cleanup)
        hosts = [uid("hc") for _ in range(self.HOSTS)]
        service = token("svc", "service")
        results = {host: [] for host in hosts}

        def book_for(host):
            client = server.client()
            for i in range(self.PER_HOST):
                resp = client.req("POST", "/bookings", booking_body(
                    host, "r%d" % i, guest_id="g%d" % i), token=service)
                results[host].append(resp)
            client.close()

        threads = [threading.Thread(target=book_for, args=(h,))
                   for h in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for host in hosts:
            for resp in results[host]:
                self.assert_status(resp, 201)
        server.kill9()
        server.restart()
        client = server.client()
        self.addCleanup(client.close)
        for host in hosts:
            self.assert_stored(client, [r[2]["booking"] for r in results[host]])
            note_ids = sorted(r[2]["notification"]["id"]
                              for r in results[host])
            self.assertEqual(note_ids, list(range(1, self.PER_HOST + 1)))
            count = client.req("GET", "/notifications/count",
                               token=host_token(host))
            self.assert_status(count, 200)
            self.assertEqual(count[2], {"unread": self.PER_HOST,
                                        "latestId": self.PER_HOST})
            listing = client.req("GET", "/notifications/list?limit=100",
                                 token=host_token(host))
            self.assert_status(listing, 200)
            self.assertEqual([n["id"] for n in listing[2]["items"]],
                             list(range(self.PER_HOST, 0, -1)))
        resp = client.req("POST", "/bookings",
                          booking_body(hosts[0], "after-crash", guest_id="g"),
                          token=service)
        self.assert_status(resp, 201)
        self.assertEqual(resp[2]["notification"]["id"], self.PER_HOST + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
