"""The campaign's options, the hosts and their roles, and the slack each
timing-sensitive rule allows (strict only with --timing)."""

import argparse

# email preferences: host -> (emailDelaySeconds, digest)
EMAIL = {"h00": (0, False), "h01": (0, False), "h02": (0, False),
         "h03": (0, True), "h04": (1, False), "h05": (1, False),
         "h06": (2, True), "h07": (2, True), "h08": (3, False),
         "h09": (1, True)}
READERS = {"h01", "h04", "h06", "h08", "h10", "h12"}   # mark read by REST
SIO_HOSTS = {"h02", "h05", "h07", "h09", "h11", "h13", "h15"}
DEVICES_PER_HOST = 2
BOOKERS = 6
# After the chaos stops: the longest wait an email can have (ack window,
# 3 s delay, 3 s digest window) plus retries after the last SMTP outage.
SETTLE_S = 14


def hosts(count):
    return ["h%02d" % i for i in range(count)]


def preferences(host):
    """The PUT /preferences document of an email host."""
    delay, digest = EMAIL[host]
    return {"email": "%s@mail.test" % host,
            "channels": {"booking": {"realtime": True, "email": True},
                         "review": {"realtime": True, "email": False},
                         "message": {"realtime": True, "email": True},
                         "system": {"realtime": True, "email": False}},
            "emailDelaySeconds": delay, "digest": digest}


# The command line: (flag, argparse keywords). The defaults are ctest's.
OPTIONS = (
    ("--seed", dict(type=int, default=1)),
    ("--duration", dict(type=float, default=75, help="seconds of chaos")),
    ("--hosts", dict(type=int, default=20)),
    ("--ttl-ms", dict(type=int, default=3000, help="--ws-ttl-ms")),
    ("--ack-ms", dict(type=int, default=800, help="--ack-timeout-ms")),
    ("--restart-every", dict(
        type=float, default=12,
        help="seconds between restarts (±25%%), SIGTERM and kill -9 in turn")),
    ("--no-restarts", dict(action="store_true")),
    ("--rate", dict(type=float, default=10, help="notifications a second")),
    ("--idle-ms", dict(type=int, default=3000, help="--host-idle-ms")),
    ("--extra", dict(default="", help="extra server flags, space separated,"
                     " e.g. --extra=--ws-close-on-delivery")),
    ("--timing", dict(action="store_true",
                      help="also the rules with tight upper bounds on time")),
    ("--keep", dict(metavar="DIR", help="run in DIR and keep records.json,"
                    " findings.json and server.stderr there")),
    ("--rejudge", dict(metavar="DIR",
                       help="only judge DIR/records.json again")),
)


def parser(description):
    ap = argparse.ArgumentParser(description=description)
    for flag, kw in OPTIONS:
        ap.add_argument(flag, **kw)
    return ap


class Slack:
    """How late something may be before a rule calls it a defect.

    Without --timing every figure is generous: ctest runs this on a busy
    2-core machine and on an AddressSanitizer build 2-3x slower, where a
    frame or an audit write can lag by a second and the Python devices (60
    threads under one GIL) read their sockets late. Lower bounds the
    contract sets (no email before its delay or inside a live push's ack
    window) need no slack and are always checked."""

    def __init__(self, timing):
        self.timing = timing
        # a push or read event must reach a socket that stays open this long
        self.live = 0.6 if timing else 2.0
        # an ack must be audited if its socket stayed open this long after
        self.ack_before_end = 0.05 if timing else 1.5
        # an ack sent this long before a kill -9 may be lost with it
        self.ack_before_kill = 3.0 if timing else 5.0
        # an email due, unacked and unread, must have come this late at most
        self.email_due = 2.5 if timing else 15.0
        # an SMTP transaction begun before an ack or read may end this late
        self.mail_after_ack = 0.3 if timing else 3.0
        # a TTL close may come this late (checked only with --timing)
        self.ttl_close = 1.0
