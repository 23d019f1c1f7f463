"""Authentication of the REST API (API.md section 2): tokens, roles,
algorithms and host isolation by token."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import b64url, jwt_claims, token  # noqa: E402
from rest_case import (uid, booking_body, host_token,  # noqa: E402
                       ServerTestCase)


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


if __name__ == "__main__":
    unittest.main(verbosity=2)
