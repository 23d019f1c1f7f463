"""How the REST port treats its connections: reuse, pipelining, unreadable
requests, Expect: 100-continue and clients that read slowly."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import token  # noqa: E402
from rest_case import (uid, booking_body, host_token, read_head,  # noqa: E402
                       answers_until_end, assert_connection_ends,
                       ServerTestCase)


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


class AbsoluteFormTest(ServerTestCase):
    """A request target in absolute form, as clients send to proxies, is
    routed by its path (RFC 9112, 3.2.2: a server must take it)."""

    def ask(self, target, tok=None):
        """(status, body) of one GET of `target` on its own connection."""
        sock = socket.create_connection(("127.0.0.1", self.server.http_port))
        self.addCleanup(sock.close)
        auth = "Authorization: Bearer %s\r\n" % tok if tok else ""
        sock.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close"
                      "\r\n\r\n" % (target, auth)).encode())
        answers = answers_until_end(self, sock)
        self.assertEqual(len(answers), 1, answers)
        return answers[0]

    def test_the_path_of_an_absolute_target_is_routed(self):
        host = uid("h-abs")
        booking, _ = self.book_ok(booking_body(host, uid("r"),
                                               guest_id="g1"))
        origin = "http://127.0.0.1:%d" % self.server.http_port
        status, body = self.ask(origin + "/notifications/count?category=booking",
                                host_token(host))
        self.assertEqual((status, json.loads(body)["unread"]), (200, 1))
        status, body = self.ask("HTTPS://Bellhop.Example/bookings/"
                                + booking["id"], host_token(host))
        self.assertEqual((status, json.loads(body)["id"]),
                         (200, booking["id"]))
        self.assertEqual(self.ask(origin + "/healthz")[0], 200)
        status, body = self.ask(origin)  # no path: the page
        self.assertEqual(status, 200)
        self.assertIn(b"<html", body.lower())
        status, body = self.ask(origin + "/nowhere")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["error"]["code"], "not_found")


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

    def test_a_head_another_reader_would_frame_otherwise_is_400_at_once(self):
        # Each of these splits into a request and a body that a proxy in
        # front could take for another request (or waited for ever): RFC
        # 9112 asks for a 400 and the end of the connection, not a 408
        # after the header's deadline. The Authorization line is one the
        # request would lose.
        auth = b"Authorization: Bearer " + host_token("h1").encode() + b"\r\n"
        for raw in (b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0"
                    b"\r\nContent-Length: 40\r\n\r\n",
                    b"GET /notifications/count HTTP/1.1\r\nX-Junk\r\n"
                    + auth + b"\r\n",
                    b"POST /bookings HTTP/1.1\r\nContent-Length : 2\r\n"
                    b"Content-Type: application/json\r\n\r\n",
                    b"GET /healthz HTTP/1.1\nHost: t\n\n",
                    b"GET /healthz\r\nHost: t\r\n\r\n",
                    b"POST /bookings HTTP/1.1\r\nTransfer-Encoding: chunked"
                    b"\r\nContent-Type: application/json\r\n\r\n0x2\r\n"):
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
