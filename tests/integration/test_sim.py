"""`bellhop sim` end to end (issue #6): short runs against a real server,
the figures in --json, the --report page, and a server killed mid-way."""

import html.parser
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import SECRET, Server, bellhop_bin, run_cli, token  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

SUMMARY_KEYS = ("count", "min", "mean", "p50", "p90", "p99", "p999", "max")
VOID_TAGS = {"meta", "br", "hr", "img", "input", "link", "area", "base",
             "col", "embed", "source", "track", "wbr"}
SVG_SELF_CLOSING = {"rect", "line", "polyline", "path", "circle"}


class WellFormed(html.parser.HTMLParser):
    """Checks that every element is closed in order; counts tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], {}
        self.classes = set()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "class":
                self.classes.add(value)
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "class":
                self.classes.add(value)

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s> at %s" % (
                tag, self.stack[-1] if self.stack else None, self.getpos()))
            return
        self.stack.pop()


def sim_args(server, *extra, ws_port=None, http_port=None):
    return ["sim", "--http",
            "http://127.0.0.1:%d" % (http_port or server.http_port),
            "--ws", "ws://127.0.0.1:%d/ws" % (ws_port or server.ws_port),
            "--jwt-secret", SECRET, "--progress", "plain", *extra]


class SimTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bellhop-sim-it-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, *extra):
        s = Server(extra_args=extra)
        self.servers.append(s)
        return s

    def run_sim(self, server, *extra, timeout=120, ws_port=None,
                http_port=None):
        proc = run_cli(*sim_args(server, *extra, ws_port=ws_port,
                                 http_port=http_port),
                       timeout=timeout)
        self.last = proc
        return proc

    def run_sim_json(self, server, *extra, ws_port=None, http_port=None):
        """Runs the sim with --json; returns (process, figures)."""
        out_json = os.path.join(self.tmp, "sim-%d.json" % time.monotonic_ns())
        proc = self.run_sim(server, *extra, "--json", out_json,
                            ws_port=ws_port, http_port=http_port)
        with open(out_json) as f:
            return proc, json.load(f)

    def run_sim_then(self, server, after_s, action, *extra):
        """Starts the sim with --json, calls action(process) after_s
        seconds later, and waits for it; returns (exit, out, err, figures)."""
        out_json = os.path.join(self.tmp, "sim.json")
        proc = subprocess.Popen(
            [bellhop_bin(), *sim_args(server, *extra, "--json", out_json)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(after_s)
            self.assertIsNone(proc.poll(), "the sim ended early")
            action(proc)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        with open(out_json) as f:
            return proc.returncode, out, err, json.load(f)

    def proxy(self, server, target=None, **kwargs):
        """A TcpProxy in front of the server's socket port (or `target`)."""
        p = TcpProxy(target or server.ws_port, **kwargs)
        self.addCleanup(p.close)
        return p

    def stall(self, server, at_s, for_s):
        """Stops the server (SIGSTOP) at_s seconds from now, for for_s
        seconds: it accepts connections but answers nothing meanwhile."""
        pid = server.proc.pid
        stop = threading.Timer(at_s, os.kill, args=(pid, signal.SIGSTOP))
        cont = threading.Timer(at_s + for_s, os.kill,
                               args=(pid, signal.SIGCONT))
        for t in (stop, cont):
            t.daemon = True
            t.start()

        def resume():
            stop.cancel()
            cont.cancel()
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.addCleanup(resume)

    def run_stalled(self, at_s, for_s, *extra):
        """Runs the sim, no host online, against a server that stops at_s
        seconds from now for for_s seconds; returns (process, figures)."""
        server = self.server()
        self.stall(server, at_s, for_s)
        return self.run_sim_json(server, "--hosts", "2", "--online", "0",
                                 "--drain-ms", "0", *extra)

    def describe(self, proc):
        return "exit %d\nstdout:\n%s\nstderr:\n%s" % (
            proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])

    # ------------------------------------------------------------ figures

    def test_short_run_loses_nothing_and_reports_every_figure(self):
        # A 1 s TTL so that devices go through the whole page pattern:
        # socket, TTL close, polls with ETag, reconnect with after=.
        server = self.server("--ws-ttl-ms", "1000")
        out_json = os.path.join(self.tmp, "sim.json")
        out_html = os.path.join(self.tmp, "sim.html")
        proc = self.run_sim(server, "--hosts", "50", "--rate", "100",
                            "--duration", "3", "--poll-ms", "300",
                            "--json", out_json, "--report", out_html)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertIn("check        OK", proc.stdout)

        with open(out_json) as f:
            fig = json.load(f)
        b = fig["bookings"]
        self.assertEqual(b["planned"], 300)
        self.assertEqual(b["sent"], 300)
        self.assertEqual(b["accepted"], 300, fig["bookings"])
        self.assertEqual(b["refused"], 0)
        self.assertEqual(b["errors"], 0)
        for key in ("targetPerS", "sentPerS", "acceptedPerS", "refusedPerS",
                    "refusedByStatus", "errorsByKind"):
            self.assertIn(key, b)
        self.assertAlmostEqual(b["acceptedPerS"], 100, delta=1)

        v = fig["verify"]
        self.assertTrue(v["checked"])
        self.assertTrue(v["ok"], v)
        self.assertEqual(v["missing"], 0)
        self.assertEqual(v["duplicated"], 0)
        self.assertEqual(v["found"], 300)
        self.assertEqual(v["hostsChecked"], 50)
        self.assertEqual(fig["sockets"]["duplicateFrames"], 0)
        self.assertEqual(fig["sockets"]["misrouted"], 0)
        self.assertTrue(fig["run"]["ok"])
        self.assertIsNone(fig["run"]["aborted"])

        lat = fig["latencyUs"]
        for name in ("post", "socketLive", "socketAll", "scheduleLag"):
            for key in SUMMARY_KEYS:
                self.assertIn(key, lat[name], name)
        self.assertEqual(lat["post"]["count"], 300)
        post = lat["post"]
        self.assertTrue(0 < post["p50"] <= post["p90"] <= post["p99"]
                        <= post["p999"] <= post["max"], post)
        self.assertGreater(lat["socketLive"]["count"], 0)

        d = fig["delivery"]
        for key in ("acceptedForOnlineHosts", "live", "caughtUp",
                    "notSeenOnSocket", "restOnly", "lost",
                    "fellBackToPolling", "realtimeShare", "fellBackShare"):
            self.assertIn(key, d)
        self.assertEqual(d["lost"], 0)
        self.assertEqual(d["live"] + d["caughtUp"] + d["notSeenOnSocket"],
                         d["acceptedForOnlineHosts"])
        self.assertEqual(d["fellBackToPolling"],
                         d["caughtUp"] + d["notSeenOnSocket"])
        self.assertTrue(0 < d["realtimeShare"] <= 1)

        s = fig["sockets"]
        self.assertGreaterEqual(s["opened"], 50)
        self.assertGreater(s["closesByCode"].get("4000", 0), 0, s)
        self.assertGreater(s["acks"], 0)
        p = fig["polls"]
        self.assertGreater(p["sent"], 0)
        self.assertGreater(p["notModified"], 0, p)  # If-None-Match works

        self.assertGreaterEqual(len(fig["series"]), 3)
        for point in fig["series"]:
            for key in ("t", "scheduled", "accepted", "refused", "errors",
                        "delivered", "postP50Us", "postP99Us",
                        "socketP50Us", "socketP99Us", "openSockets"):
                self.assertIn(key, point)
        self.assertTrue(fig["histogramsUs"]["post"])
        self.assertTrue(fig["histogramsUs"]["socketAll"])
        self.assertEqual(sum(n for _, _, n in fig["histogramsUs"]["post"]),
                         300)

        with open(out_html, encoding="utf-8") as f:
            page = f.read()
        self.assertTrue(page.startswith("<!DOCTYPE html>"))
        parser = WellFormed()
        parser.feed(page)
        parser.close()
        self.assertEqual(parser.errors, [])
        self.assertEqual(parser.stack, [], "unclosed elements")
        self.assertGreaterEqual(parser.tags.get("svg", 0), 5, parser.tags)
        self.assertGreater(parser.tags.get("polyline", 0), 0)
        self.assertIn("bar", parser.classes)  # histogram bars
        self.assertNotIn("<script", page)
        self.assertNotIn("http://", page.replace(
            "http://www.w3.org/2000/svg", "").replace(
            "http://127.0.0.1:%d" % server.http_port, ""))
        self.assertIn("Rate (per second)", page)
        self.assertIn("Send to socket latency", page)

    def test_offline_hosts_and_several_devices(self):
        # No TTL: sockets stay open, so every booking for an online host
        # arrives live; bookings for offline hosts are found by REST.
        server = self.server("--ws-ttl-ms", "0")
        out_json = os.path.join(self.tmp, "sim.json")
        proc = self.run_sim(server, "--hosts", "20", "--online", "0.5",
                            "--devices-per-host", "2", "--rate", "40",
                            "--duration", "3", "--json", out_json)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        with open(out_json) as f:
            fig = json.load(f)
        self.assertEqual(fig["config"]["onlineHosts"], 10)
        self.assertEqual(fig["config"]["devices"], 20)
        b, d = fig["bookings"], fig["delivery"]
        self.assertEqual(b["accepted"], 120)
        self.assertGreater(b["acceptedForOfflineHosts"], 0)
        self.assertEqual(d["acceptedForOnlineHosts"] +
                         b["acceptedForOfflineHosts"], 120)
        self.assertEqual(d["live"], d["acceptedForOnlineHosts"], d)
        self.assertEqual(d["realtimeShare"], 1.0)
        self.assertEqual(fig["verify"]["found"], 120)
        # Two devices each: every event reached two sockets, acked by both
        # (4 bookings/s per host: the 15 acks/s pacing never holds one back).
        self.assertEqual(fig["sockets"]["acks"], 2 * d["live"])

    # ------------------------------------------------------------ failures

    def test_server_killed_midway_fails_clearly(self):
        server = self.server()
        code, out, err, fig = self.run_sim_then(
            server, 3, lambda _: server.kill9(), "--hosts", "50", "--rate",
            "100", "--duration", "20", "--give-up-ms", "2000")
        self.assertNotEqual(code, 0, out + err)
        self.assertIn("the server stopped answering", err)
        self.assertIn("Connection refused", err)
        self.assertIn("stopped answering", fig["run"]["aborted"])
        self.assertFalse(fig["run"]["ok"])
        self.assertGreater(fig["bookings"]["errors"], 0)

    def test_bookings_with_no_answer_count_in_post_latency(self):
        # The server stops for 1.5 s: bookings sent meanwhile time out after
        # 0.5 s. They count in POST latency at no less than their timeout,
        # marked as cut off, so the percentiles cover every booking sent.
        proc, fig = self.run_stalled(
            0.8, 1.5, "--rate", "20", "--duration", "3", "--timeout-ms",
            "500", "--give-up-ms", "10000")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        b, post = fig["bookings"], fig["latencyUs"]["post"]
        self.assertGreater(b["errors"], 0, b["errorsByKind"])
        self.assertEqual(post["count"], b["sent"])
        self.assertEqual(post["cutOff"], b["errors"])
        self.assertGreaterEqual(post["max"], 500000)
        self.assertIn(" cut off: no answer", proc.stdout)

    def test_rates_are_over_real_time_and_the_pool_wait_is_apart(self):
        # One booking connection and a server that stops for 2 s: the
        # bookings wait in the simulator's own pool, nothing is written
        # meanwhile, and the last answer comes after the schedule's end.
        proc, fig = self.run_stalled(
            0.8, 2.0, "--rate", "20", "--duration", "2", "--connections", "1")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        run, b = fig["run"], fig["bookings"]
        self.assertGreater(run["writeSeconds"], run["sendSeconds"])
        self.assertGreater(run["answerSeconds"], run["sendSeconds"])
        self.assertAlmostEqual(b["sentPerS"], b["sent"] / run["writeSeconds"])
        self.assertAlmostEqual(b["acceptedPerS"],
                               b["accepted"] / run["answerSeconds"])
        self.assertLess(b["sentPerS"], b["targetPerS"])
        self.assertLess(b["acceptedPerS"], b["targetPerS"])
        queue = fig["latencyUs"]["poolQueue"]
        self.assertEqual(queue["count"], b["sent"])
        self.assertGreater(queue["max"], 1000000)
        self.assertTrue(any(p["scheduled"] > 0 and p["sent"] == 0
                            for p in fig["series"]), fig["series"])
        self.assertEqual(sum(p["sent"] for p in fig["series"]), b["sent"])
        self.assertIn("its own pool held them back", proc.stderr)

    def test_rates_leave_the_answer_latency_out(self):
        # Every answer comes a second late, but at the rate asked for: the
        # server keeps up, so the rates are the target's, not the count
        # over a time that includes the last answers' latency.
        server = self.server()
        proxy = self.proxy(server, target=server.http_port,
                           answer_delay_s=1.0)
        proc, fig = self.run_sim_json(
            server, "--hosts", "2", "--online", "0", "--rate", "50",
            "--duration", "2", "--drain-ms", "0", http_port=proxy.port)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        run, b = fig["run"], fig["bookings"]
        self.assertGreaterEqual(fig["latencyUs"]["post"]["min"], 1000000)
        self.assertGreater(b["sentPerS"], 0.8 * b["targetPerS"], b)
        self.assertGreater(b["acceptedPerS"], 0.8 * b["targetPerS"], b)
        self.assertAlmostEqual(b["sentPerS"], b["sent"] / run["writeSeconds"])
        self.assertAlmostEqual(b["acceptedPerS"],
                               b["accepted"] / run["answerSeconds"])
        self.assertLess(run["answerSeconds"], run["sendSeconds"] + 0.5, run)

    def test_an_aborted_run_counts_its_bookings_in_flight(self):
        # The server stops for good at 1.5 s; bookings time out after 1 s
        # and the run gives up after 1 s of silence. The bookings written
        # and not answered when it stops are errors, cut off at the time
        # they waited: the POST latency still covers every booking sent.
        proc, fig = self.run_stalled(
            1.5, 8, "--rate", "20", "--duration", "5", "--timeout-ms", "1000",
            "--give-up-ms", "1000")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertIn("stopped answering", fig["run"]["aborted"])
        b, post = fig["bookings"], fig["latencyUs"]["post"]
        self.assertLess(b["sent"], b["planned"])
        self.assertEqual(post["count"], b["sent"], b)
        self.assertEqual(post["cutOff"], b["errors"])
        self.assertEqual(b["accepted"] + b["refused"] + b["errors"],
                         b["sent"])
        self.assertGreater(b["errorsByKind"].get(
            "aborted: no answer when the run stopped", 0), 0, b)
        self.assertEqual(sum(p["errors"] for p in fig["series"]),
                         b["errors"])

    def test_a_run_aborted_before_sending_still_reports_its_plan(self):
        # A wrong secret: the hosts' counts cannot be read, so the run
        # stops before any booking; it had planned round(R x S).
        server = self.server()
        out_json = os.path.join(self.tmp, "sim.json")
        proc = run_cli("sim", "--http",
                       "http://127.0.0.1:%d" % server.http_port,
                       "--ws", "ws://127.0.0.1:%d" % server.ws_port,
                       "--jwt-secret", "not-the-secret", "--hosts", "2",
                       "--rate", "7", "--duration", "3", "--json", out_json,
                       timeout=60)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        with open(out_json) as f:
            fig = json.load(f)
        self.assertIn("cannot read the notification count",
                      fig["run"]["aborted"])
        self.assertEqual(fig["bookings"]["planned"], 21)
        self.assertEqual(fig["bookings"]["sent"], 0)

    def test_seconds_without_samples_have_no_latency(self):
        # Bookings at 0 s and 2 s: the second in between measured nothing.
        server = self.server()
        proc, fig = self.run_sim_json(
            server, "--hosts", "2", "--online", "0", "--rate", "0.5",
            "--duration", "4", "--drain-ms", "0")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        empty = [p for p in fig["series"]
                 if p["accepted"] + p["refused"] + p["errors"] == 0]
        self.assertTrue(empty, fig["series"])
        for p in empty:
            for key in ("postP50Us", "postP99Us", "postMaxUs"):
                self.assertIsNone(p[key], p)
        for p in fig["series"]:
            self.assertIsNone(p["socketP50Us"], p)  # no host online

    def test_each_ack_the_pacing_holds_back_counts_once(self):
        # One device gets 200 events in 2 s and acks at 15 a second: most
        # of its acks wait, each counted once in acksDeferred.
        server = self.server("--ws-ttl-ms", "0")
        proc, fig = self.run_sim_json(
            server, "--run-id", "paced", "--hosts", "1", "--rate", "100",
            "--duration", "2", "--drain-ms", "1500")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        s = fig["sockets"]
        self.assertEqual(s["events"], 200, s)
        self.assertGreater(s["acksDeferred"], 100, s)
        self.assertLessEqual(s["acksDeferred"], s["events"], s)

    def test_other_notifications_naming_a_room_are_not_bookings(self):
        # A notification of another type may carry a roomId of the run (a
        # cancellation a service posts): it is neither a duplicate nor
        # misplaced.
        server = self.server("--ws-ttl-ms", "0")
        client = server.client()
        self.addCleanup(client.close)
        for host, room in (("sother-h0", "r-0"), ("sother-h1", "r-0")):
            resp = client.req("POST", "/notifications", {
                "hostId": host, "type": "booking_cancelled", "title": "t",
                "body": "b", "data": {"roomId": room}},
                token=token("svc", "service"))
            self.assertEqual(resp[0], 201, resp)
        report = os.path.join(self.tmp, "other.html")
        proc = self.run_sim(server, "--run-id", "other", "--hosts", "2",
                            "--rate", "10", "--duration", "1",
                            "--drain-ms", "1500", "--report", report)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertIn("check        OK", proc.stdout)

    def test_a_report_without_the_check_does_not_say_nothing_was_lost(self):
        server = self.server()
        report = os.path.join(self.tmp, "unchecked.html")
        proc = self.run_sim(server, "--run-id", "nocheck", "--hosts", "2",
                            "--online", "0", "--rate", "5", "--duration", "1",
                            "--drain-ms", "0", "--no-verify",
                            "--report", report)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        with open(report) as f:
            html = f.read()
        self.assertNotIn("nothing lost", html)
        self.assertIn("not checked", html)

    def test_interrupted_run_is_not_ok(self):
        server = self.server("--ws-ttl-ms", "0")
        code, out, err, fig = self.run_sim_then(
            server, 2.5, lambda p: p.send_signal(signal.SIGINT), "--hosts",
            "5", "--rate", "20", "--duration", "10")
        self.assertEqual(code, 1, out + err)
        self.assertIn("ABORTED: interrupted", err)
        self.assertEqual(fig["run"]["aborted"], "interrupted")
        self.assertFalse(fig["run"]["ok"])
        self.assertLess(fig["bookings"]["sent"], fig["bookings"]["planned"])
        # What was sent is still answered and checked.
        self.assertTrue(fig["verify"]["checked"])
        self.assertTrue(fig["verify"]["ok"], fig["verify"])

    def test_unresolvable_host_still_writes_the_figures(self):
        out_json = os.path.join(self.tmp, "sim.json")
        proc = run_cli("sim", "--http", "http://nonexistent.invalid:80",
                       "--jwt-secret", SECRET, "--hosts", "2",
                       "--json", out_json, timeout=60)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertIn("ABORTED: cannot resolve nonexistent.invalid",
                      proc.stderr)
        with open(out_json) as f:
            fig = json.load(f)
        self.assertIn("cannot resolve", fig["run"]["aborted"])
        self.assertFalse(fig["run"]["ok"])

    # ------------------------------------------------------------ devices

    def catch_up_behind_proxy(self, server, *extra, refuse, cut_first_s=None):
        """Runs the sim with its sockets through a TcpProxy; every booking
        must reach a socket, some of them in a replay. Returns the proxy
        and the figures."""
        proxy = self.proxy(server, refuse=refuse, cut_first_s=cut_first_s)
        proc, fig = self.run_sim_json(server, *extra, ws_port=proxy.port)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        d = fig["delivery"]
        self.assertEqual(d["notSeenOnSocket"], 0, d)
        self.assertGreater(d["caughtUp"], 0, d)
        self.assertEqual(fig["sockets"]["duplicateFrames"], 0)
        return proxy, fig

    def test_a_failed_reconnect_is_retried_after_a_304(self):
        # The server closes each socket after its first acked notification;
        # the network refuses every socket but the first for 4 s. The
        # device's reconnects fail while its polls answer 304: it must
        # reconnect while the count it read is ahead of what it has seen.
        server = self.server("--ws-close-on-delivery")
        proxy, _ = self.catch_up_behind_proxy(
            server, "--hosts", "1", "--rate", "2", "--duration", "3",
            "--poll-ms", "1000", "--drain-ms", "6000",
            refuse=lambda n, t: n > 1 and t < 4)
        self.assertGreater(proxy.refused, 0)

    def test_a_backlog_above_100_is_caught_up_100_per_reconnect(self):
        # No TTL. The first socket is cut at 1 s and the network refuses
        # sockets until 3.5 s, so some 200 bookings wait for the device; a
        # replay brings 100 and the socket would stay open, so the device
        # reconnects until it has them all.
        server = self.server("--ws-ttl-ms", "0")
        _, fig = self.catch_up_behind_proxy(
            server, "--hosts", "1", "--rate", "100", "--duration", "3",
            "--poll-ms", "500", "--drain-ms", "5000",
            refuse=lambda n, t: n > 1 and t < 3.5, cut_first_s=1.0)
        self.assertGreater(fig["delivery"]["caughtUp"], 100)

    def test_a_device_whose_first_socket_failed_catches_up_from_the_start(
            self):
        # The first socket is refused. The device's later socket must
        # replay every booking since the run began (the hosts' counts are
        # read before it), not start from its own first hello.
        server = self.server("--ws-ttl-ms", "0")
        proxy, _ = self.catch_up_behind_proxy(
            server, "--hosts", "2", "--rate", "4", "--duration", "3",
            "--poll-ms", "1000", "--drain-ms", "3000",
            refuse=lambda n, t: n == 1)
        self.assertEqual(proxy.refused, 1)

    def test_a_session_that_brings_nothing_waits_a_poll_period(self):
        # No TTL; the first socket is cut at 1 s, and every later one is
        # dropped right after its 101, before it brings anything. The
        # count stays ahead of the device, but after such a session it
        # polls (and reconnects) once a period, not in a loop.
        server = self.server("--ws-ttl-ms", "0")
        proxy = self.proxy(server, cut_first_s=1.0,
                           drop_after_handshake=lambda n, t: n > 1)
        proc, fig = self.run_sim_json(
            server, "--hosts", "1", "--rate", "20", "--duration", "2",
            "--poll-ms", "1000", "--drain-ms", "2000", ws_port=proxy.port)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertGreater(proxy.dropped, 0)
        self.assertGreater(fig["delivery"]["missedOnSocket"], 0)
        # The first session, then one at once after its cut, then at most
        # one per --poll-ms.
        periods = fig["run"]["wallSeconds"] / 1.0
        self.assertLessEqual(fig["sockets"]["connects"], 2 + periods + 1,
                             fig["sockets"])

    def test_bookings_before_the_servers_subscription_are_replayed(self):
        # The device's first socket opens (the proxy answers its 101) 1.5 s
        # before the server takes the session: bookings committed
        # meanwhile are neither pushed nor in the hello's past. The first
        # socket asks for them with after=<the host's count at the start>.
        server = self.server("--ws-ttl-ms", "0")
        proxy = self.proxy(server, late_upgrade_s=1.5)
        proc, fig = self.run_sim_json(
            server, "--hosts", "1", "--rate", "10", "--duration", "3",
            "--drain-ms", "3000", ws_port=proxy.port)
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        d = fig["delivery"]
        self.assertEqual(d["missedOnSocket"], 0, d)
        self.assertGreater(d["caughtUp"], 0, d)
        self.assertEqual(fig["sockets"]["connects"], 1, fig["sockets"])
        self.assertEqual(fig["sockets"]["duplicateFrames"], 0)

    def test_refused_bookings_fail_the_run(self):
        # One guest at 40/s against 10/s per guest (bursts of 20): some
        # 40 of the 80 get 429.
        server = self.server("--booking-rate-limit", "10")
        proc = self.run_sim(server, "--hosts", "5", "--guests", "1",
                            "--rate", "40", "--duration", "2",
                            "--drain-ms", "1000")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertIn("bookings     FAILED", proc.stdout)
        self.assertRegex(proc.stderr, r"FAILED: \d+ bookings refused\n")

    def test_a_booking_that_never_reaches_a_socket_fails_the_run(self):
        # The one host does not want bookings in real time: they are all
        # stored (the check finds them) but none is pushed.
        server = self.server("--ws-ttl-ms", "0")
        host = "snopush-h0"
        client = server.client()
        self.addCleanup(client.close)
        tok = token(host, "host")
        prefs = client.req("GET", "/preferences", token=tok)[2]
        prefs["channels"]["booking"]["realtime"] = False
        self.assertEqual(client.req("PUT", "/preferences", prefs,
                                    token=tok)[0], 200)
        proc = self.run_sim(server, "--run-id", "nopush", "--hosts", "1",
                            "--rate", "5", "--duration", "1",
                            "--drain-ms", "1500")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertIn("check        OK", proc.stdout)
        self.assertIn("delivery     FAILED: 5 bookings of online hosts "
                      "never reached a socket", proc.stdout)
        self.assertIn("bellhop sim: FAILED: 5 bookings of online hosts that "
                      "never reached a socket\n", proc.stderr)

    def test_bookings_in_lists_that_cannot_be_read_are_unchecked_not_lost(
            self):
        # One host, 250 bookings: its list is 3 pages, and the host's REST
        # limit (1/s, bursts of 2) refuses the third. Its 50 bookings were
        # not seen, but nothing says they were lost.
        server = self.server("--rate-limit", "1")
        proc, fig = self.run_sim_json(server, "--hosts", "1", "--online", "0",
                                      "--guests", "250", "--rate", "100",
                                      "--duration", "2.5", "--drain-ms", "0")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        v = fig["verify"]
        self.assertTrue(v["checked"])
        self.assertEqual((v["found"], v["unchecked"], v["missing"]),
                         (200, 50, 0), v)
        self.assertEqual(len(v["hostErrors"]), 1, v)
        self.assertIn("HTTP 429", v["hostErrors"][0])
        self.assertIn("0 lost", proc.stdout)
        self.assertIn("50 not checked: their hosts' lists could not be read",
                      proc.stdout)
        self.assertIn("bellhop sim: FAILED: 50 bookings not checked (lists "
                      "unreadable), 1 hosts' lists unreadable\n", proc.stderr)

    def test_a_run_id_used_again_replays_and_passes(self):
        # The second run's bookings are replays of the first's: nothing new
        # is created, so no socket is owed anything (docs/simulator.md).
        server = self.server("--ws-ttl-ms", "0")
        for _ in range(2):
            proc = self.run_sim(server, "--run-id", "again", "--hosts", "3",
                                "--rate", "10", "--duration", "1",
                                "--drain-ms", "1500")
            self.assertEqual(proc.returncode, 0, self.describe(proc))

    def test_unreachable_server(self):
        server = self.server()
        port = server.http_port
        server.kill9()
        proc = run_cli("sim", "--http", "http://127.0.0.1:%d" % port,
                       "--ws", "ws://127.0.0.1:%d" % server.ws_port,
                       "--jwt-secret", SECRET, "--hosts", "5", timeout=60)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertIn("cannot reach the server", proc.stderr)

    def test_wrong_secret_is_named(self):
        server = self.server()
        proc = run_cli("sim", "--http",
                       "http://127.0.0.1:%d" % server.http_port,
                       "--ws", "ws://127.0.0.1:%d" % server.ws_port,
                       "--jwt-secret", "not-the-secret", "--hosts", "5",
                       "--duration", "1", timeout=60)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertIn("HTTP 401", proc.stderr)

    def test_usage(self):
        proc = run_cli("sim", "--help")
        self.assertEqual(proc.returncode, 0)
        for option in ("--http", "--ws", "--jwt-secret", "--hosts",
                       "--online", "--devices-per-host", "--rate",
                       "--duration", "--json", "--report"):
            self.assertIn(option, proc.stdout)
        env = dict(os.environ)
        env.pop("BELLHOP_JWT_SECRET", None)
        proc = subprocess.run([bellhop_bin(), "sim"], capture_output=True,
                              text=True, env=env, timeout=20)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--jwt-secret", proc.stderr)
        proc = run_cli("sim", "--jwt-secret", "s", "--rate", "fast")
        self.assertEqual(proc.returncode, 2)
        proc = run_cli("sim", "--jwt-secret", "s", "--rate", "0.4",
                       "--duration", "1")
        self.assertEqual(proc.returncode, 2, self.describe(proc))
        self.assertIn("plans no booking", proc.stderr)
        proc = run_cli("sim", "--jwt-secret", "s", "--bogus", "1")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown option", proc.stderr)
        # Before the run, not after it: nothing is sent.
        for flag in ("--json", "--report"):
            proc = run_cli("sim", "--jwt-secret", "s", "--http",
                           "http://127.0.0.1:1", flag,
                           os.path.join(self.tmp, "no-such-dir", "out"))
            self.assertEqual(proc.returncode, 2, self.describe(proc))
            self.assertIn("cannot write", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
