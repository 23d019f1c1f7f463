"""Operations: metrics move with bookings, deliveries and refusals; logs are
structured and never carry a token or a secret."""

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from rest_case import read_head  # noqa: E402
import websocket  # noqa: E402  (Debian's python3-websocket)


def metric(text, name, labels=""):
    """The value of one series in a Prometheus text page (0 if absent)."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)$"
    for line in text.splitlines():
        m = re.match(pattern, line)
        if m:
            return float(m.group(1))
    return 0.0


def booking(host, room, guest="g1"):
    return {"hostId": host, "roomId": room, "guestId": guest,
            "checkIn": "2026-12-01", "checkOut": "2026-12-02", "guests": 1}


def upgrade(test, port, path):
    """Sends a WebSocket upgrade request for `path`; returns the answer's
    status, headers (lower-case names) and body, for one that refuses."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                   % path).encode())
        status_line, headers, body = read_head(test, s)
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = s.recv(4096)
            test.assertTrue(chunk, "the body was cut short: %r" % body)
            body += chunk
        return int(status_line.split(" ")[1]), headers, body[:length]


class OpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(
            extra_args=("--log-format", "json", "--ws-ttl-ms", "0"),
            omit=("--rate-limit",))
        cls.http = cls.server.client()
        cls.service = harness.token("svc", "service")
        cls.admin = harness.token("root", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.server.cleanup()

    def scrape(self):
        status, headers, _, raw = self.http.req("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.assertIn("version=0.0.4", headers["content-type"])
        return raw.decode()

    def test_metrics_follow_bookings_deliveries_and_refusals(self):
        host = "ops-" + uuid.uuid4().hex[:8]
        before = self.scrape()
        for name in ("bellhop_bookings_total", "bellhop_ws_sessions",
                     "bellhop_host_actors", "bellhop_emails_pending",
                     "bellhop_rate_limited_total",
                     "bellhop_delivery_seconds_count",
                     "bellhop_http_request_seconds_count",
                     "bellhop_storage_commit_seconds_count",
                     "bellhop_storage_used_bytes", "bellhop_storage_map_bytes"):
            self.assertIn("# TYPE " + name.replace("_count", ""), before)
        # The three durations are histograms, as the contract names them.
        for name in ("bellhop_delivery_seconds", "bellhop_http_request_seconds",
                     "bellhop_storage_commit_seconds"):
            self.assertIn("# TYPE %s histogram" % name, before)
        ws = websocket.create_connection(
            "ws://127.0.0.1:%d/ws?access_token=%s"
            % (self.server.ws_port, harness.token(host, "host")), timeout=10)
        self.addCleanup(ws.close)
        hello = json.loads(ws.recv())
        self.assertEqual(hello["event"], "hello")
        during = self.scrape()
        self.assertEqual(metric(during, "bellhop_ws_sessions"),
                         metric(before, "bellhop_ws_sessions") + 1)
        for i in range(3):
            status, _, body, _ = self.http.req(
                "POST", "/bookings", booking(host, "r%d" % i), token=self.service)
            self.assertEqual(status, 201, body)
        ids = []
        while len(ids) < 3:
            frame = json.loads(ws.recv())
            if frame["event"] == "new_booking":
                ids.append(frame["data"]["id"])
                ws.send(json.dumps({"op": "ack", "id": frame["data"]["id"]}))
        clash = self.http.req("POST", "/bookings", booking(host, "r0"),
                              token=self.service)
        self.assertEqual(clash[0], 409)
        unauth = self.http.req("GET", "/notifications/count", token="nope")
        self.assertEqual(unauth[0], 401)
        time.sleep(0.3)  # acks travel through the host actor
        after = self.scrape()
        self.assertEqual(metric(after, "bellhop_bookings_total"),
                         metric(before, "bellhop_bookings_total") + 3)
        self.assertEqual(
            metric(after, "bellhop_notifications_total", 'category="booking"'),
            metric(before, "bellhop_notifications_total", 'category="booking"') + 3)
        for result in ("pushed", "acked"):
            labels = 'channel="ws",result="%s"' % result
            self.assertEqual(metric(after, "bellhop_deliveries_total", labels),
                             metric(before, "bellhop_deliveries_total", labels) + 3)
        self.assertEqual(metric(after, "bellhop_delivery_seconds_count"),
                         metric(before, "bellhop_delivery_seconds_count") + 3)
        for code, n in (("201", 3), ("409", 1)):
            labels = 'route="POST /bookings",code="%s"' % code
            self.assertEqual(metric(after, "bellhop_http_requests_total", labels),
                             metric(before, "bellhop_http_requests_total", labels) + n)
        self.assertGreaterEqual(
            metric(after, "bellhop_http_requests_total",
                   'route="GET /notifications/count",code="401"'), 1)
        self.assertGreater(metric(after, "bellhop_storage_commit_seconds_count"),
                           metric(before, "bellhop_storage_commit_seconds_count"))
        self.assertGreaterEqual(metric(after, "bellhop_host_actors"), 1)

    def test_metrics_are_prometheus_text_a_scraper_reads(self):
        # Prometheus's own parser (its Python client's) reads the whole
        # page after traffic of every kind, and every histogram holds
        # together: buckets by rising le, counts cumulative, +Inf = _count.
        from prometheus_client.parser import text_string_to_metric_families
        host = "prom-" + uuid.uuid4().hex[:8]
        for i in range(2):
            status, _, body, _ = self.http.req(
                "POST", "/bookings", booking(host, "p%d" % i), token=self.service)
            self.assertEqual(status, 201, body)
        self.http.req("GET", "/notifications/count", token="nope")
        families = {f.name: f for f in text_string_to_metric_families(self.scrape())}
        for name in ("bellhop_bookings_total", "bellhop_notifications_total",
                     "bellhop_deliveries_total", "bellhop_http_requests_total",
                     "bellhop_rate_limited_total"):
            # The client names a counter's family without its _total.
            family = families[name[:-len("_total")]]
            self.assertEqual(family.type, "counter", name)
        for name in ("bellhop_ws_sessions", "bellhop_host_actors"):
            self.assertEqual(families[name].type, "gauge", name)
        for name in ("bellhop_delivery_seconds", "bellhop_http_request_seconds",
                     "bellhop_storage_commit_seconds"):
            family = families[name]
            self.assertEqual(family.type, "histogram", name)
            series = {}
            for s in family.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(key, {"buckets": []})
                if s.name.endswith("_bucket"):
                    series[key]["buckets"].append((float(s.labels["le"]), s.value))
                else:
                    series[key][s.name[len(name):]] = s.value
            self.assertTrue(series, name)
            for key, h in series.items():
                les = [le for le, _ in h["buckets"]]
                counts = [n for _, n in h["buckets"]]
                self.assertEqual(les, sorted(les), (name, key))
                self.assertEqual(les[-1], float("inf"), (name, key))
                self.assertEqual(counts, sorted(counts), (name, key))
                self.assertEqual(counts[-1], h["_count"], (name, key))
                self.assertIn("_sum", h, (name, key))
            if name == "bellhop_storage_commit_seconds":  # two bookings
                self.assertGreaterEqual(sum(h["_count"] for h in series.values()), 1)

    def test_a_request_read_only_in_part_is_named_by_its_route(self):
        # Over 128 KiB: answered 413 before its body is read, yet its
        # request line names it in the metrics and the log line.
        before = self.scrape()
        with socket.create_connection(("127.0.0.1", self.server.http_port),
                                      timeout=5) as s:
            s.sendall(b"POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
                      b"application/json\r\nContent-Length: %d\r\n\r\n"
                      % (200 * 1024))
            status_line, _, _ = read_head(self, s)
        self.assertIn(" 413 ", status_line)
        # Counted once the answer is sent: wait for the count to move.
        counted = 'route="POST /bookings",code="413"'
        deadline = time.monotonic() + 5
        after = self.scrape()
        while (metric(after, "bellhop_http_requests_total", counted)
               == metric(before, "bellhop_http_requests_total", counted)
               and time.monotonic() < deadline):
            time.sleep(0.05)
            after = self.scrape()
        for route, n in (("POST /bookings", 1), ("unknown", 0)):
            labels = 'route="%s",code="413"' % route
            self.assertEqual(metric(after, "bellhop_http_requests_total", labels),
                             metric(before, "bellhop_http_requests_total", labels) + n,
                             route)
        # The line is written after the answer is sent, and read from the
        # server's stderr on another thread: wait for it.
        deadline = time.monotonic() + 5
        answered = []
        while not answered and time.monotonic() < deadline:
            lines = [json.loads(line) for line in
                     self.server.stderr_text().splitlines() if line.startswith("{")]
            answered = [l for l in lines if l.get("status") == 413]
            if not answered:
                time.sleep(0.05)
        self.assertTrue(answered, lines[-5:])
        self.assertEqual((answered[-1].get("method"), answered[-1].get("route")),
                         ("POST", "POST /bookings"), answered[-1])

    def test_rate_limit_refusals_are_counted(self):
        limited = harness.Server(extra_args=("--rate-limit", "1"),
                                 omit=("--rate-limit",))
        self.addCleanup(limited.cleanup)
        client = limited.client()
        self.addCleanup(client.close)
        tok = harness.token("h-rl", "host")
        statuses = [client.req("GET", "/notifications/count", token=tok)[0]
                    for _ in range(6)]
        self.assertIn(429, statuses)
        text = client.req("GET", "/metrics")[3].decode()
        self.assertEqual(metric(text, "bellhop_rate_limited_total"),
                         statuses.count(429))

    def test_repeated_failed_handshakes_are_slowed_down(self):
        server = harness.Server()
        self.addCleanup(server.cleanup)
        statuses = []
        for _ in range(14):
            try:
                websocket.create_connection(
                    "ws://127.0.0.1:%d/ws?access_token=bad" % server.ws_port,
                    timeout=5).close()
                statuses.append(101)
            except websocket.WebSocketBadStatusException as e:
                statuses.append(e.status_code)
                if e.status_code == 429:
                    self.assertGreaterEqual(int(e.resp_headers["retry-after"]), 1)
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(set(statuses[10:]), {429})
        # A valid token from that address waits its turn too, then gets in.
        time.sleep(1.1)
        ws = websocket.create_connection(
            "ws://127.0.0.1:%d/ws?access_token=%s"
            % (server.ws_port, harness.token("h-slow", "host")), timeout=5)
        self.assertEqual(json.loads(ws.recv())["event"], "hello")
        ws.close()

    def test_new_sessions_of_one_principal_and_host_are_limited(self):
        # --session-rate-limit 2: 4 at once, then 2 a second, per principal
        # and host room, on /ws and /socket.io/ alike. A client that
        # reconnects in a loop (each time with after=, which replays and
        # audits) is held to it; others are not.
        server = harness.Server(extra_args=("--session-rate-limit", "2",
                                            "--ws-ttl-ms", "0"))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        host = "h-loop-" + uuid.uuid4().hex[:8]
        tok = harness.token(host, "host")
        path = "/ws?after=0&access_token=" + tok
        for _ in range(4):
            ws = websocket.create_connection(
                "ws://127.0.0.1:%d%s" % (server.ws_port, path), timeout=5)
            self.assertEqual(json.loads(ws.recv())["event"], "hello")
            ws.close()
        status, headers, body = upgrade(self, server.ws_port, path)
        self.assertEqual(status, 429)
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], "rate_limited")
        self.assertIn("new sessions", error["message"])
        text = client.req("GET", "/metrics")[3].decode()
        self.assertEqual(metric(text, "bellhop_rate_limited_total"), 1)
        # Socket.IO counts against the same principal and host.
        sio = websocket.create_connection(
            "ws://127.0.0.1:%d/socket.io/?EIO=4&transport=websocket"
            % server.ws_port, timeout=5)
        self.addCleanup(sio.close)
        self.assertTrue(sio.recv().startswith("0{"))
        sio.send("40" + json.dumps({"token": tok}))
        self.assertEqual(sio.recv(), '44{"message":"rate_limited"}')
        # Another host, and an admin in this host's room, are not held back.
        for other, query in ((harness.token("h-other", "host"), ""),
                             (harness.token("root", "admin"),
                              "&hostId=" + host)):
            ws = websocket.create_connection(
                "ws://127.0.0.1:%d/ws?access_token=%s%s"
                % (server.ws_port, other, query), timeout=5)
            self.assertEqual(json.loads(ws.recv())["event"], "hello")
            ws.close()
        # The host's bucket refills: one a half second.
        time.sleep(int(headers["retry-after"]) + 0.1)
        ws = websocket.create_connection(
            "ws://127.0.0.1:%d%s" % (server.ws_port, path), timeout=5)
        self.assertEqual(json.loads(ws.recv())["event"], "hello")
        ws.close()

    def test_new_sessions_are_limited_to_10_a_second_by_default(self):
        # 40 handshakes of one host at once: the burst (20) and what comes
        # back meanwhile get in, the rest are told to come back later.
        server = harness.Server(extra_args=("--max-sessions-per-host", "100",
                                            "--ws-ttl-ms", "0"))
        self.addCleanup(server.cleanup)
        path = "/ws?access_token=" + harness.token("h-burst", "host")
        answers = [None] * 40

        def ask(i):
            answers[i] = upgrade(self, server.ws_port, path)
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [a[0] for a in answers]
        self.assertEqual(set(statuses), {101, 429}, statuses)
        self.assertGreaterEqual(statuses.count(101), 20)
        self.assertLessEqual(statuses.count(101), 35)
        for status, _, body in answers:
            if status == 429:
                self.assertIn("new sessions", json.loads(body)["error"]["message"])

    def test_sockets_past_the_connection_cap_get_503(self):
        server = harness.Server(extra_args=("--max-connections", "2"))
        self.addCleanup(server.cleanup)
        url = "ws://127.0.0.1:%d/ws?access_token=%s"
        held = []
        for i in range(2):
            ws = websocket.create_connection(
                url % (server.ws_port, harness.token("cap%d" % i, "host")),
                timeout=5)
            self.addCleanup(ws.close)
            held.append(ws)
            self.assertEqual(json.loads(ws.recv())["event"], "hello")
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(
                url % (server.ws_port, harness.token("cap2", "host")), timeout=5)
        self.assertEqual(e.exception.status_code, 503)
        self.assertGreaterEqual(int(e.exception.resp_headers["retry-after"]), 1)
        # REST is unaffected.
        client = server.client()
        self.addCleanup(client.close)
        self.assertEqual(client.req("GET", "/healthz")[0], 200)

    def test_idle_sockets_past_the_cap_are_closed_as_they_come(self):
        # Sockets that never send a handshake must not use up the files:
        # past --max-connections and a margin (64) for 503 answers, new
        # ones are closed at once (the handshake sweep would take 5 s).
        server = harness.Server(extra_args=("--max-connections", "4"))
        self.addCleanup(server.cleanup)
        idle = []
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", server.ws_port),
                                         timeout=5)
            self.addCleanup(s.close)
            idle.append(s)
        open_ = set(idle)
        deadline = time.monotonic() + 3
        while open_ and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_), [], [], 0.2)
            for s in ready:
                try:
                    if s.recv(1) == b"":
                        open_.discard(s)
                except OSError:
                    open_.discard(s)
        self.assertLessEqual(len(open_), 4 + 64)
        self.assertGreaterEqual(len(open_), 4)
        client = server.client()
        self.addCleanup(client.close)
        self.assertEqual(client.req("GET", "/healthz")[0], 200)

    def test_rest_connections_past_the_open_files_get_503_and_nothing_spins(self):
        # With 300 files, idle keep-alive clients must not take the last
        # ones: a full table makes Pistache's accept loop spin on EMFILE and
        # stops every port. Past the files left for connections (each REST
        # one counts two), a connection gets 503.
        class FewFiles(harness.Server):
            def command(self):
                return ["prlimit", "--nofile=300:300", "--"] + super().command()
        server = FewFiles()
        self.addCleanup(server.cleanup)
        held, statuses = [], []
        for _ in range(400):
            s = socket.create_connection(("127.0.0.1", server.http_port),
                                         timeout=5)
            self.addCleanup(s.close)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                self.assertTrue(chunk, "closed without an answer")
                answer += chunk
            statuses.append(int(answer.split(b" ")[1]))
            if statuses[-1] == 503:
                self.assertIn(b'"code":"unavailable"', answer + s.recv(4096))
                self.assertIn(b"Retry-After: 1", answer)
            held.append(s)
        self.assertIn(200, statuses)
        self.assertIn(503, statuses)
        # Once refusals begin, every later connection is refused too.
        first = statuses.index(503)
        self.assertEqual(set(statuses[first:]), {503})
        # Nothing spins while the clients hold their connections.
        def cpu():
            with open("/proc/%d/stat" % server.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        before = cpu()
        time.sleep(2)
        self.assertLess(cpu() - before, 0.5, "the server spun while full")
        # Once the REST clients go, both ports take connections again.
        for s in held:
            s.close()
        time.sleep(0.5)
        ws = websocket.create_connection(
            "ws://127.0.0.1:%d/ws?access_token=%s"
            % (server.ws_port, harness.token("files", "host")), timeout=5)
        self.assertEqual(json.loads(ws.recv())["event"], "hello")
        ws.close()
        client = server.client()
        self.addCleanup(client.close)
        status, _, _, raw = client.req("GET", "/metrics")
        self.assertEqual(status, 200)
        page = raw.decode()
        self.assertEqual(metric(page, "bellhop_http_connections_refused_total"),
                         statuses.count(503))
        self.assertEqual(metric(page, "bellhop_open_connections",
                                'port="rest"'), 1)

    def test_bad_socketio_tokens_share_the_limit_of_bad_ws_tokens(self):
        server = harness.Server()
        self.addCleanup(server.cleanup)
        conn = websocket.create_connection(
            "ws://127.0.0.1:%d/socket.io/?EIO=4&transport=websocket"
            % server.ws_port, timeout=5)
        self.addCleanup(conn.close)
        self.assertTrue(conn.recv().startswith("0{"))
        answers = []
        for _ in range(12):  # fewer than the 20 messages/s of a socket
            conn.send('40{"token":"not-a-token"}')
            answers.append(conn.recv())
        self.assertEqual(answers[:10], ['44{"message":"unauthorized"}'] * 10)
        self.assertEqual(answers[10:], ['44{"message":"rate_limited"}'] * 2)
        # The same address's next bad /ws token: 429, not 401.
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(
                "ws://127.0.0.1:%d/ws?access_token=bad" % server.ws_port,
                timeout=5)
        self.assertEqual(e.exception.status_code, 429)

    def test_a_ws_401_names_the_bearer_scheme(self):
        server = harness.Server()
        self.addCleanup(server.cleanup)
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(
                "ws://127.0.0.1:%d/ws?access_token=bad" % server.ws_port,
                timeout=5)
        self.assertEqual(e.exception.status_code, 401)
        self.assertEqual(e.exception.resp_headers.get("www-authenticate"),
                         'Bearer realm="bellhop"')

    def test_logs_are_json_lines_without_secrets(self):
        host = "log-" + uuid.uuid4().hex[:8]
        host_token = harness.token(host, "host")
        guest_token = harness.token("g-log", "guest")
        calls = [
            ("POST", "/bookings", booking(host, "r1"), guest_token),
            ("GET", "/notifications/count", None, host_token),
            ("GET", "/notifications/list?limit=5", None, host_token),
            ("POST", "/notifications/mark-read", {"all": True}, host_token),
            ("GET", "/preferences", None, host_token),
            ("GET", "/admin/audit?hostId=" + host, None, self.admin),
            ("POST", "/notifications", {"hostId": host, "type": "system",
                                        "title": "t", "body": "b"},
             self.service),
            ("GET", "/healthz", None, None),
            ("GET", "/readyz", None, None),
            ("GET", "/metrics", None, None),
            ("GET", "/nowhere?access_token=" + host_token, None, None),
        ]
        for method, path, body, tok in calls:
            self.http.req(method, path, body, token=tok)
        ws = websocket.create_connection(
            "ws://127.0.0.1:%d/ws?access_token=%s"
            % (self.server.ws_port, host_token), timeout=10)
        ws.recv()
        ws.close()
        time.sleep(0.3)
        log = self.server.stderr_text()
        lines = [l for l in log.splitlines() if l.strip()]
        self.assertGreaterEqual(len(lines), len(calls))
        requests = 0
        for line in lines:
            entry = json.loads(line)  # every line is one JSON object
            for key in ("ts", "level", "msg"):
                self.assertIn(key, entry)
            if entry["msg"] == "request":
                requests += 1
                for key in ("method", "route", "status", "ms"):
                    self.assertIn(key, entry)
        self.assertGreaterEqual(requests, len(calls))
        for secret in (harness.SECRET, host_token, guest_token, self.service,
                       self.admin, host_token.split(".")[2]):
            self.assertNotIn(secret, log)



class FullDiskTest(unittest.TestCase):
    """A disk that fills: a start on a full disk is a clear error (exit 1),
    not a crash, and a write that fails is answered 503 and logged. Each
    case on a small tmpfs of its own (root only: mount)."""

    def small_disk(self, size):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        where = tempfile.mkdtemp(prefix="bellhop-disk-")
        self.addCleanup(shutil.rmtree, where, True)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size,
                                  "tmpfs", where], capture_output=True)
        if mounted.returncode != 0:
            self.skipTest("cannot mount a tmpfs: " + mounted.stderr.decode())
        self.addCleanup(subprocess.run, ["umount", "-l", where])
        return where

    def fill(self, where):
        try:
            with open(os.path.join(where, "fill"), "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        except OSError:
            pass

    def test_a_start_on_a_full_disk_exits_1_and_says_why(self):
        where = self.small_disk("256k")
        self.fill(where)
        result = harness.run_cli("serve", "--data-dir", os.path.join(where, "d"),
                                 "--http-port", "0", "--ws-port", "0",
                                 "--jwt-secret", "s", timeout=20)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("No space left on device", result.stderr)

    def test_a_write_that_fails_is_answered_503_and_logged(self):
        where = self.small_disk("2m")
        server = harness.Server(data_dir=os.path.join(where, "d"),
                                extra_args=("--log-level", "warn",
                                            "--map-size", "64M"),
                                omit=("--rate-limit",))
        self.addCleanup(server.cleanup)
        http = server.client()
        self.addCleanup(http.close)
        service = harness.token("svc", "service")
        self.fill(where)
        statuses = []
        for i in range(400):
            status = http.req("POST", "/bookings", booking("h-full", "r%d" % i),
                              token=service)[0]
            statuses.append(status)
            if status == 503:
                break
        self.assertIn(503, statuses)
        time.sleep(0.3)
        self.assertIn("store write failed", server.stderr_text())


class TextLogTest(unittest.TestCase):
    """`--log-format text` (the default) writes logfmt fields: a value with
    a space, `=` or a quote is quoted, so a reader gets it whole."""

    def test_text_lines_are_logfmt_with_spaced_values_quoted(self):
        server = harness.Server()
        try:
            http = server.client()
            guest = harness.token("g-text", "guest")
            status, _, _, _ = http.req("GET", "/bookings/b-none", token=guest)
            self.assertEqual(status, 404)
            http.req("GET", "/healthz")
            http.close()
            time.sleep(0.3)
        finally:
            server.cleanup()
        lines = [l for l in server.stderr_text().splitlines() if l.strip()]
        requests = []
        for line in lines:
            fields = harness.logfmt_fields(line)  # raises on a broken line
            if " info request " in line:
                requests.append(fields)
        routes = [(r["route"], r["status"]) for r in requests]
        self.assertIn(("GET /bookings/{id}", "404"), routes, lines)
        self.assertIn(("GET /healthz", "200"), routes, lines)
        for r in requests:
            self.assertEqual(sorted(r), ["method", "ms", "route", "status"])


class RetentionTest(unittest.TestCase):
    """--retention: notifications read longer ago than the retention and
    audit entries older than it are deleted; unread notifications, counts,
    ids and bookings stay."""

    RETENTION_S = 4

    def setUp(self):
        self.server = harness.Server(
            extra_args=("--retention", "%ds" % self.RETENTION_S))
        self.addCleanup(self.server.cleanup)
        self.http = self.server.client()
        self.addCleanup(self.http.close)
        self.host = "ret-" + uuid.uuid4().hex[:8]
        self.host_token = harness.token(self.host, "host")
        self.admin = harness.token("root", "admin")

    def book(self, room):
        resp = self.http.req("POST", "/bookings", booking(self.host, room),
                             token=harness.token("svc", "service"))
        self.assertEqual(resp[0], 201, resp[3])
        return resp[2]

    def listed_ids(self):
        resp = self.http.req("GET", "/notifications/list?limit=100",
                             token=self.host_token)
        self.assertEqual(resp[0], 200, resp[3])
        return [n["id"] for n in resp[2]["items"]]

    def audit(self):
        resp = self.http.req("GET", "/admin/audit?limit=100&hostId=" + self.host,
                             token=self.admin)
        self.assertEqual(resp[0], 200, resp[3])
        return resp[2]["items"]

    def test_read_notifications_and_old_audit_go_unread_ones_stay(self):
        made = [self.book("r%d" % i) for i in range(3)]
        resp = self.http.req("POST", "/notifications/mark-read",
                             {"ids": [1, 2]}, token=self.host_token)
        self.assertEqual(resp[0], 200, resp[3])
        self.assertEqual(self.listed_ids(), [3, 2, 1])
        self.assertTrue(self.audit())

        # A pass runs every second: give it the retention and a few passes.
        # (An audit entry's time is taken at commit, a little after the
        # readAt of its mark-read: it may go one pass later; the metric
        # moves after the commit.) 2 notifications and 5 audit entries
        # (3 created, 2 read) go.
        def deleted():
            page = self.http.req("GET", "/metrics")[3].decode()
            return metric(page, "bellhop_retention_deleted_total")

        def state():
            return self.listed_ids(), self.audit(), deleted()

        deadline = time.monotonic() + self.RETENTION_S + 10
        while state() != ([3], [], 7.0) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(state(), ([3], [], 7.0))

        # The unread one, the counts, the ids and the bookings are kept.
        count = self.http.req("GET", "/notifications/count",
                              token=self.host_token)
        self.assertEqual(count[2], {"unread": 1, "latestId": 3})
        for body in made:
            got = self.http.req("GET", "/bookings/" + body["booking"]["id"],
                                token=self.admin)
            self.assertEqual(got[0], 200, got[3])
        later = self.book("r-later")
        self.assertEqual(later["notification"]["id"], 4)
        self.assertEqual(self.listed_ids(), [4, 3])
        self.assertEqual([e["notificationId"] for e in self.audit()], [4])

    def test_the_flag_takes_a_duration(self):
        got = harness.run_cli("serve", "--retention", "30", "--jwt-secret",
                              "s", "--data-dir", self.server.data_dir)
        self.assertEqual(got.returncode, 2, got.stderr)
        self.assertIn("--retention", got.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
