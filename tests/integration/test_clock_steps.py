"""Steps of the wall clock under the real server (docs/decisions.md,
"Clocks"). An email delay is an interval: the email goes out
emailDelaySeconds after its notification whatever the wall clock did in
between, and a restart does not let a due time written by a clock that ran
ahead hold it back (§7). The sweepers, which delete by wall-clock age,
delete nothing that is not really past its limit.

The server runs with clock_shift.c preloaded ($BELLHOP_CLOCK_SHIFT, built by
tests/CMakeLists.txt): its wall clock is shifted by the seconds written in
a file, read again every 100 ms; its monotonic clock is left alone, as a
real step leaves it. Tokens outlive every shift used here.

Runs under /usr/bin/python3, like test_email_*.py (aiosmtpd, websocket-client).
"""

import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, token  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402
from email_case import (ACK_MS, EARLY_S, PUBLIC_URL, SMTP_FROM,  # noqa: E402
                        EmailCase, address, mid, prefs, uid)

DAY_S = 86400
# The shim reads its file every 100 ms of the server's clock reads.
SETTLE_S = 0.3


def shift_lib():
    """The preload library: $BELLHOP_CLOCK_SHIFT, else the build tree's."""
    lib = os.environ.get("BELLHOP_CLOCK_SHIFT")
    if lib:
        return lib
    build = os.environ.get("BELLHOP_BUILD_DIR", "build")
    return os.path.join(build, "tests", "libclock_shift.so")


def tok(sub, role):
    """A token valid whichever way the server's clock is shifted here."""
    return token(sub, role, exp_in=200 * DAY_S)


class ClockStepCase(EmailCase):
    """A server of its own with a shiftable wall clock, and an SMTP sink."""

    def setUp(self):
        lib = shift_lib()
        self.assertTrue(os.path.exists(lib), "no clock shim at %s" % lib)
        scratch = tempfile.TemporaryDirectory(prefix="bellhop-clock-")
        self.addCleanup(scratch.cleanup)
        self.shift_file = os.path.join(scratch.name, "shift")
        self.shift(0)
        # Under AddressSanitizer (`make sanitize`) the shim comes before
        # ASan's runtime in the library list, which ASan refuses unless told.
        asan = os.environ.get("ASAN_OPTIONS", "")
        self.env = {"LD_PRELOAD": lib,
                    "BELLHOP_CLOCK_SHIFT_FILE": self.shift_file,
                    "ASAN_OPTIONS": (asan + ":" if asan else "")
                                    + "verify_asan_link_order=0"}
        self.sink = SmtpSink().start()
        self.addCleanup(self.sink.stop)

    def start(self, *extra):
        self.server = Server(["--smtp-url", self.sink.url, "--smtp-from",
                              SMTP_FROM, "--ack-timeout-ms", str(ACK_MS),
                              "--public-url", PUBLIC_URL, *extra],
                             env=self.env)
        self.addCleanup(self.server.cleanup)

    def shift(self, seconds):
        """Sets the server's wall clock `seconds` off, and waits until the
        shim has read it."""
        tmp = self.shift_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % seconds)
        os.replace(tmp, self.shift_file)
        time.sleep(SETTLE_S)

    def post_note(self, doc, headers=None):
        resp = self.req("POST", "/notifications", doc,
                        token=tok("svc-clock", "service"), headers=headers)
        self.assert_status(resp, 201)
        return resp[2]

    def notify_now(self, host):
        return self.post_note({"hostId": host, "type": "new_message",
                               "title": uid("Title"),
                               "body": uid("Body")})["notification"]

    def want_email(self, host, delay):
        doc = prefs(address(host), delay=delay)
        self.assert_status(self.req("PUT", "/preferences", doc,
                                    token=tok(host, "host")), 200)

    def listed_ids(self, host):
        resp = self.req("GET", "/notifications/list?limit=100",
                        token=tok(host, "host"))
        self.assert_status(resp, 200)
        return [n["id"] for n in resp[2]["items"]]

    def audit_actions(self, host, nid):
        resp = self.req("GET", "/admin/audit?hostId=%s&notificationId=%d"
                        % (host, nid), token=tok("admin-1", "admin"))
        self.assert_status(resp, 200)
        return sorted(e["action"] for e in resp[2]["items"])


class EmailDelayTest(ClockStepCase):
    """§7: the email goes out after emailDelaySeconds, steps or not."""

    def setUp(self):
        super().setUp()
        self.start()

    def test_step_back_holds_no_email_then_or_later(self):
        host = uid("h-back")
        self.want_email(host, 2)
        before = self.notify_now(host)
        # Back an hour before it falls due, and for longer than its delay.
        self.shift(-3600)
        time.sleep(3)
        self.shift(0)
        after = self.notify_now(host)
        self.wait_mail(mid(host, before["id"]), timeout=10)
        self.wait_mail(mid(host, after["id"]), timeout=10)

    def test_step_ahead_holds_no_email(self):
        host = uid("h-ahead")
        self.want_email(host, 2)
        self.shift(3600)
        t0 = time.time()
        note = self.notify_now(host)
        self.shift(0)
        mail = self.wait_mail(mid(host, note["id"]), timeout=10)
        self.assertGreaterEqual(mail.at - t0, 2 - EARLY_S,
                                "sent before emailDelaySeconds")

    def test_restart_resumes_a_wait_written_by_a_clock_ahead(self):
        host = uid("h-restart")
        self.want_email(host, 3)
        self.shift(DAY_S)
        t0 = time.time()
        note = self.notify_now(host)
        self.server.kill9()
        self.shift(0)
        self.server.restart()
        mail = self.wait_mail(mid(host, note["id"]), timeout=3 + 8)
        self.assertGreaterEqual(mail.at - t0, 3 - EARLY_S,
                                "sent before emailDelaySeconds")


class SweepTest(ClockStepCase):
    """Retention and idempotency records: a step ahead deletes nothing."""

    def read_and_unread(self, host):
        """Two notifications of `host`, the first one read."""
        first, second = self.notify_now(host), self.notify_now(host)
        resp = self.req("POST", "/notifications/mark-read",
                        {"ids": [first["id"]]}, token=tok(host, "host"))
        self.assert_status(resp, 200)
        return first["id"], second["id"]

    def test_restart_with_the_clock_ahead_keeps_read_notifications(self):
        self.start("--retention", "90d")
        host = uid("h-keep")
        read, unread = self.read_and_unread(host)
        self.server.stop()
        self.shift(100 * DAY_S)
        self.server.restart()
        time.sleep(2)
        self.shift(0)
        time.sleep(1)
        self.assertEqual(self.listed_ids(host), [unread, read])
        self.assertIn("read", self.audit_actions(host, read))
        self.assertIn("created", self.audit_actions(host, read))

    def test_step_ahead_while_running_skips_the_retention_pass(self):
        # 60 s of retention: a pass every 6 s, the first 6 s after start.
        self.start("--retention", "60s")
        started = time.monotonic()
        host = uid("h-step")
        read, unread = self.read_and_unread(host)
        self.shift(100 * DAY_S)
        time.sleep(max(0.0, started + 9.5 - time.monotonic()))
        self.shift(0)
        self.assertEqual(self.listed_ids(host), [unread, read])
        self.assertIn("read", self.audit_actions(host, read))
        self.assertTrue(any("stepped ahead" in line
                            for line in self.server.stderr_lines),
                        "no pass ran during the step")

    def test_restart_with_the_clock_ahead_keeps_idempotency_records(self):
        self.start()
        host = uid("h-idem")
        key = {"Idempotency-Key": uid("key")}
        doc = {"hostId": host, "type": "new_message", "title": uid("Title"),
               "body": uid("Body")}
        first = self.post_note(doc, key)
        self.server.stop()
        self.shift(2 * DAY_S)
        self.server.restart()
        time.sleep(2)
        self.shift(0)
        time.sleep(1)
        # The record is seconds old, not days: a retry replays the answer.
        self.assertEqual(self.post_note(doc, key), first)
        self.assertEqual(self.listed_ids(host), [first["notification"]["id"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
