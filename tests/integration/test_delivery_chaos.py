#!/usr/bin/env python3
"""End-to-end chaos check of bellhop's delivery promise (API.md §4-§8).

Drives `bellhop serve` (SMTP to a real SMTP server, Debian's aiosmtpd)
with 20 hosts for a while, then judges, for every notification answered
201, what the contract says must have happened. The code is in
delivery_chaos/.

The chaos: two devices a host on /ws or Socket.IO, closed by a short TTL
and reconnecting with after=, acking all, some, late or nothing, ending
with a clean close, a TCP reset or a half-open socket, some with tokens
that expire mid-session; bookings and reviews at random (each retried
with its Idempotency-Key through restarts); email hosts with delays
(0-3 s) and digests; SMTP outages (the sink stopped 2-6 s every 20-40 s);
REST and socket mark-reads; count polls with If-None-Match; SIGTERM and
kill -9 restarts in turn on the same data dir.

What is checked: every 201 is stored under its id, once, with one
`created` audit entry, and reached a device (a frame, or REST after a
replay cut at 100); per socket no duplicate, out-of-order or missing
frame, each with its `pushed` audit entry (unless a kill -9 came just
after); live pushes and read events
reach the sockets open across them; acks are audited; close codes and
their causes; mark-reads are durable and audited; mails have §7's
Message-ID and Subject, are never sent before their delay, inside a live
push's ack window, after an ack or read, or twice without a restart or
SMTP outage between; a notification due and neither acked nor read was
emailed; counts are never older than a 201 before them; SIGTERM exits 0.

ctest (delivery_chaos_integration) runs seed 1 for 75 s with restarts
every 12 s. Rules with tight upper bounds on time (TTL close late, push
or email latency) are off or get generous slack (delivery_chaos/config.py,
Slack); --timing makes them strict. A long campaign by hand, e.g.:
    BELLHOP_BIN=build/bellhop python3 tests/integration/test_delivery_chaos.py \\
        --seed 7 --duration 900 --restart-every 25 --ttl-ms 2000 --timing \\
        --keep /tmp/chaos-7
and its variants, e.g. --extra=--ws-close-on-delivery, --no-restarts,
--rate 30, --ack-ms 2000. Judge a kept run again (after changing a rule):
    python3 tests/integration/test_delivery_chaos.py --rejudge /tmp/chaos-7
Exit status 0: no finding; 1: findings (each kind printed with examples,
all of them in findings.json of a kept run).
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from delivery_chaos import campaign, config, recorder  # noqa: E402
from delivery_chaos.verdict import Verdict  # noqa: E402


def main(argv):
    args = config.parser(__doc__.split("\n")[0]).parse_args(argv)
    run_dir = args.rejudge or args.keep or tempfile.mkdtemp(
        prefix="bellhop-chaos-")
    try:
        if not args.rejudge:
            if args.keep:
                shutil.rmtree(run_dir, ignore_errors=True)
            campaign.run(args, run_dir)
        verdict = Verdict(recorder.load(run_dir))
        findings = verdict.judge()
        verdict.report(run_dir if (args.keep or args.rejudge) else None)
    finally:
        if not (args.keep or args.rejudge):
            shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
