"""Operations and limits of the REST port (API.md section 4, Operations and
Limits): health, readiness, metrics, rate limits and a full store."""

import json
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import token  # noqa: E402
from rest_case import (uid, booking_body, host_token, read_head,  # noqa: E402
                       ServerTestCase, booking_of)


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
        import websocket  # python3-websocket, as in email_case.py
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
