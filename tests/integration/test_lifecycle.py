"""The server's life: hot backups, shutdown on a signal, a stop under
booking load and recovery after kill -9."""

import http.client
import itertools
import json
import os
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, token  # noqa: E402
from rest_case import (uid, booking_body, host_token,  # noqa: E402
                       ContractAssertions)


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
