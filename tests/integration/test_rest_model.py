#!/usr/bin/env python3
"""Model-based differential test of the REST API against the real server.

Keeps an exact model of what the contract (API.md, and docs/decisions.md
where it is silent) says the state must be, drives `bellhop serve` with a
seeded random sequence of operations, and compares every answer (status,
body, ETag, Location, Cache-Control, Retry-After, WWW-Authenticate, the error
shape and its `field`) with the model. The code is in rest_model/.

 1. The sequence, over 6 hosts whose names would collide under naive key
    concatenation: bookings (valid, overlapping, one invalid field, with
    keys: replays, replays in another spelling, reuse with another body,
    another principal's key, a key whose first use failed), GET
    /bookings/{id} by every role, POST /notifications, count (If-None-Match,
    HEAD), list (limit, cursor, after, unread, category; cursor walks
    interleaved with everything else and across restarts), mark-read (ids,
    upTo, all; read, unknown and other hosts' ids; by an admin), bad
    requests and roles. Live /ws sessions of 3 hosts: the frames the
    operations cause (hello, notifications, read events) are checked too.
    SIGTERM and kill -9 restarts on the same data dir and periodic full
    comparisons of the whole state.
 2. Concurrent: threads book, post and mark read on one host with
    read-your-writes checks, then the invariants (ids unique and dense,
    count == unread of the list, latestId == highest id, the `updated` of
    the answers == read items, no overlapping 201 stays, every 201
    readable); one key raced with one body and with two.
 3. One key sent at once as a booking to host A and a notification to B.
 4. Requests meeting retiring host actors (bites with --server-args
    '--host-idle-ms 5' and --pause 0.05).
 5. kill -9 and SIGTERM under concurrent load: every 201 survives and
    replays, unanswered requests sent again with their key commit once,
    answered mark-reads are durable, 503s carry Retry-After.
 6. With --timing only, what depends on how fast things go: the rate-limit
    phase (a server of its own with the default limits) and createdAt /
    readAt within a second of their request.

ctest (rest_model_integration) runs seeds 1 and 2 with 2,000 operations
each. A long campaign by hand, e.g.:
    BELLHOP_BIN=build/bellhop python3 tests/integration/test_rest_model.py \\
        --seed 7 --ops 100000 --restarts 20 --crashes 6 --timing
Exit status 0: no divergence; 1: divergences (each printed with its request
and answer).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rest_model.runner import Tester  # noqa: E402

CTEST_SEEDS = [1, 2]


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, action="append",
                    help="a seed to run (repeatable; default %s)" % CTEST_SEEDS)
    ap.add_argument("--ops", type=int, default=2000, help="operations of the sequence")
    ap.add_argument("--restarts", type=int, default=2,
                    help="SIGTERM or kill -9 restarts within the sequence")
    ap.add_argument("--concurrent", type=int, default=1, help="run the concurrent phase")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--conc-ops", type=int, default=150, help="operations per thread")
    ap.add_argument("--crashes", type=int, default=2,
                    help="kill -9 / SIGTERM under concurrent load")
    ap.add_argument("--retire-race", type=int, default=1,
                    help="run the actor-retirement race phase")
    ap.add_argument("--ws", type=int, default=1,
                    help="keep /ws sessions open and check the frames of REST actions")
    ap.add_argument("--timing", action="store_true",
                    help="also what depends on wall-clock timing: rate limits,"
                         " timestamps within a second of their request")
    ap.add_argument("--server-args", default="",
                    help="extra flags for bellhop serve, e.g. '--host-idle-ms 5'")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="probability of a 20 ms pause before an operation")
    ap.add_argument("--allow-503", action="store_true",
                    help="with a small --map-size: a 503 write must change nothing")
    ap.add_argument("--allow-gaps", action="store_true",
                    help="accept per-host id gaps (ids used up by failed writes)")
    ap.add_argument("--keep-going", action="store_true",
                    help="report divergences and go on")
    ap.add_argument("--verbose", action="store_true", help="print what was exercised")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    failed = [seed for seed in args.seed or CTEST_SEEDS
              if Tester(args, seed).run() != 0]
    if failed:
        print("divergences with seeds %s" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
