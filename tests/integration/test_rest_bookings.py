"""POST /bookings and GET /bookings/{id} (API.md section 4): validation,
overlaps, idempotency and the stored booking."""

import datetime
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Client, token  # noqa: E402
from rest_case import (KIB, uid, day, booking_body, host_token,  # noqa: E402
                       ServerTestCase, booking_of)


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
        for raw in ("{not json", '{"hostId":', "", "[]", '"text"', "null",
                    json.dumps(booking_body(uid("h"), uid("r"), guest_id="g1"))
                    + "\0 not json"):
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
