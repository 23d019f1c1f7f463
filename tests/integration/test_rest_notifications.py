"""Notifications over REST (API.md section 4): POST /notifications, the
badge count with its ETag, the list and its cursors, mark-read, the body
rules of every route and host isolation."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import token  # noqa: E402
from rest_case import (RFC3339_MS, KIB, uid, day, booking_body,  # noqa: E402
                       host_token, ServerTestCase)


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

    def test_anything_after_the_document_is_400_and_marks_nothing(self):
        # A NUL byte ends no JSON document: what follows it is read too.
        host = self.fresh_host(2)
        for raw in ('{"all":true}\0this is not json', '{"all":true} x',
                    '{"all":true}\0'):
            with self.subTest(raw=raw):
                resp = self.req("POST", "/notifications/mark-read",
                                raw_body=raw, token=host_token(host))
                self.assert_error(resp, 400, "invalid_request")
        self.assertEqual(self.count_ok(host)["unread"], 2)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
