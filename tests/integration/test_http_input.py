#!/usr/bin/env python3
"""What clients may send the REST port, broken or split anywhere, never
stops the server (http/src/request_input.hpp).

A seeded barrage over real loopback connections: valid requests of every
kind the reader treats apart (Content-Length and chunked bodies, with
and without trailer fields, Expect: 100-continue, CORS preflights),
mutated ones (bytes dropped, flipped or inserted; chunk sizes, lengths
and empty lines spliced in; bodies grown past the limits), several per
connection, each sent in random pieces, sometimes read, sometimes reset.
Every 20 connections /healthz must answer within 5 s: one reactor serves
every connection, so a request that makes it spin (as Pistache's chunk
parser did on a CR split from its LF) shows at once, with the payloads
that led to it. At the end a booking still works, the server stops with
0 on SIGTERM, and its log holds no sanitizer report (under `make
sanitize`).

  test_http_input.py [--seed N] [--seconds S]
"""
import argparse
import json
import random
import socket
import struct
import sys
import time
import unittest

from harness import Server, token

SEED = 1
SECONDS = 30.0


def booking(n):
    return json.dumps({"hostId": "h-in", "roomId": "r%d" % n,
                       "guestId": "g-in", "checkIn": "2026-12-01",
                       "checkOut": "2026-12-02", "guests": 1}).encode()


class Barrage:
    """The seeded requests and their mutations."""

    def __init__(self, rnd, service):
        self.rnd = rnd
        self.auth = b"Authorization: Bearer " + service.encode() + b"\r\n"
        self.n = 0

    def valid(self):
        self.n += 1
        body = booking(self.n)
        kind = self.rnd.randrange(6)
        if kind == 0:
            return b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        if kind == 1:
            return (b"POST /bookings HTTP/1.1\r\n" + self.auth
                    + b"Content-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
        if kind == 2:
            return (b"POST /bookings HTTP/1.1\r\nExpect: 100-continue\r\n"
                    + self.auth + b"Content-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
        if kind == 3:
            half = len(body) // 2
            return (b"POST /bookings HTTP/1.1\r\nTransfer-Encoding: chunked"
                    b"\r\n" + self.auth + b"Content-Type: application/json"
                    b"\r\n\r\n%x\r\n" % half + body[:half]
                    + b"\r\n%x\r\n" % (len(body) - half) + body[half:]
                    + b"\r\n0\r\n"
                    + self.rnd.choice([b"", b"X-Sum: 1\r\n"]) + b"\r\n")
        if kind == 4:
            return (b"OPTIONS /bookings HTTP/1.1\r\nOrigin: https://a.example"
                    b"\r\nAccess-Control-Request-Method: POST\r\n\r\n")
        return (b"GET /notifications/count HTTP/1.1\r\nOrigin: "
                b"https://b.example\r\n" + self.auth + b"\r\n")

    def mutated(self):
        b = bytearray(self.valid())
        rnd = self.rnd
        for _ in range(rnd.randrange(1, 6)):
            op = rnd.randrange(5)
            i = rnd.randrange(len(b) + 1)
            if op == 0 and b:
                del b[i % len(b)]
            elif op == 1:
                b[i:i] = bytes([rnd.randrange(256)])
            elif op == 2:
                # Long runs of digits next to a Content-Length or a
                # chunk's size declare up to exabytes: refused before
                # Pistache reserves them (AddressSanitizer's allocator
                # would abort on such a size).
                b[i:i] = rnd.choice([b"\r\n", b"\r\n\r\n", b"\r", b"-1",
                                     b"99999999999999999999", b"9999999999",
                                     b" ", b"0\r\n\r\n", b"fffff\r\n",
                                     b"ffffffff\r\n", b"3fffffffff\r\n",
                                     b"Expect: 100-continue\r\n",
                                     b"Transfer-Encoding: chunked\r\n",
                                     b"Content-Length: 7\r\n",
                                     b"Content-Length: 262144000000\r\n"])
            elif op == 3 and b:
                b[i % len(b)] = rnd.randrange(256)
            else:
                b += rnd.choice([b"x" * rnd.randrange(200000), b"\r\n"])
        return bytes(b)

    def connection(self):
        return b"".join(self.mutated() if self.rnd.random() < 0.6
                        else self.valid()
                        for _ in range(self.rnd.randrange(1, 4)))


class HttpInputTest(unittest.TestCase):

    def setUp(self):
        self.server = Server(["--cors-origins", "https://a.example",
                              "--log-level", "warn"])
        self.addCleanup(self.server.cleanup)

    def healthy(self):
        try:
            with socket.create_connection(
                    ("127.0.0.1", self.server.http_port), timeout=5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def send(self, rnd, data):
        try:
            s = socket.create_connection(
                ("127.0.0.1", self.server.http_port), timeout=0.5)
        except OSError as e:
            self.fail("cannot connect (%s); the server's log ends:\n%s"
                      % (e, self.server.stderr_text()[-4000:]))
        with s:
            try:
                pos = 0
                while pos < len(data):
                    n = rnd.randrange(1, len(data) - pos + 1)
                    s.sendall(data[pos:pos + n])
                    pos += n
                    if rnd.random() < 0.1:
                        time.sleep(0.001)
                if rnd.random() < 0.5:
                    s.recv(65536)
            except OSError:
                pass  # the server may close or reset a broken request
            if rnd.random() < 0.5:  # a reset instead of a close
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))

    def test_no_input_stops_the_server(self):
        rnd = random.Random(SEED)
        barrage = Barrage(rnd, token("svc-in", "service"))
        recent = []
        sent = 0
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            data = barrage.connection()
            recent = (recent + [data])[-20:]
            self.send(rnd, data)
            sent += 1
            if sent % 20 == 0 and not self.healthy():
                self.fail("the REST port stopped answering after %d "
                          "connections (seed %d); the last payloads:\n%s"
                          % (sent, SEED, "\n".join(repr(p[:400])
                                                   for p in recent)))
        self.assertTrue(self.healthy())
        self.assertGreater(sent, 100)
        # Still serving: a booking of a room none of the barrage used.
        http = self.server.client()
        self.addCleanup(http.close)
        resp = http.req("POST", "/bookings", json.loads(booking(0)),
                        token=token("svc-in", "service"))
        self.assertEqual(resp[0], 201, resp)
        self.assertEqual(self.server.stop(), 0)
        log = self.server.stderr_text()
        for word in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(word, log, log[-3000:])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args, rest = parser.parse_known_args()
    SEED, SECONDS = args.seed, args.seconds
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
