"""Cross-origin requests to the REST port (--cors-origin)."""

import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rest_case import (uid, booking_body, read_head,  # noqa: E402
                       ServerTestCase)


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

    def test_requests_refused_before_they_are_read_whole_carry_them(self):
        # A body over 128 KiB, or a Content-Type line that cannot be read,
        # is answered before routing; a page of the origin must still be
        # able to read that 413 or 415.
        svc = "Authorization: Bearer %s\r\n" % self.service
        for status, head in (
                ("413", "Content-Type: application/json\r\n"
                        "Content-Length: %d\r\n" % (200 * 1024)),
                ("415", "Content-Type: application/jsonx\r\n"
                        "Content-Length: 2\r\n"),
                ("415", "Content-Type:\r\nContent-Length: 2\r\n")):
            with self.subTest(status=status, head=head):
                with socket.create_connection(
                        ("127.0.0.1", self.server.http_port), timeout=5) as s:
                    s.sendall(("POST /notifications HTTP/1.1\r\nHost: t\r\n"
                               "Origin: %s\r\n%s%s\r\n"
                               % (self.app, svc, head)).encode())
                    line, headers, _ = read_head(self, s)
                self.assertEqual(line.split(" ")[1], status, line)
                self.assertEqual(headers.get("access-control-allow-origin"),
                                 self.app, headers)
                self.assertEqual(headers.get("vary"), "Origin")
                self.assertIn("access-control-expose-headers", headers)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
