"""kill -9 torture: nothing bellhop acknowledged is lost when it is SIGKILLed.

Each round starts `bellhop serve` on the same data directory, verifies the
writes acknowledged so far (older rounds' by sample), runs client threads of
bookings, notifications and mark-reads (some with an Idempotency-Key) and
kills the server with SIGKILL in one of KILL_MODES. After the last round
everything is verified in full, then once more (by sample, as between rounds)
after a clean SIGTERM stop.

Verified: every booking answered 201 reads back as sent; every notification
answered 201 is listed once for its host, with its title or booking, and a
mark-read answered 200 left it read; an acknowledged Idempotency-Key replays
the same ids; re-booking an acknowledged stay is 409; a booking notification
committed without an answer has its booking; count and list agree; new ids
continue above every id seen; requests cut by the kill, sent again, are
answered consistently.

The `rollback` mode is a negative control: it puts back the data file from
before the round, so the checker must report losses.

ctest runs a short campaign and the control. A long campaign:
    python3 tests/integration/test_crash_torture.py --rounds 60 [--seed S]
"""

import argparse
import collections
import concurrent.futures
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, token  # noqa: E402

HOSTS = ["h%d" % i for i in range(1, 47)] + ["h1-x", "h1.y", "h1_z", "h-"]
SERVICE = token("svc", "service", exp_in=86400)
HOST_TOKENS = {host: token(host, "host", exp_in=86400) for host in HOSTS}
VERIFY_THREADS = 8


class Gone(Exception):
    """The server went away under a load thread."""


def idem_header(idem):
    return {"Idempotency-Key": idem} if idem else {}


def stay(rng, room):
    """A booking body; no other request books `room`."""
    day = 1 + rng.randrange(28)
    body = {"hostId": rng.choice(HOSTS), "roomId": room,
            "guestId": "g-" + room, "checkIn": "2030-02-%02d" % day,
            "checkOut": "2030-03-%02d" % day, "guests": 1 + rng.randrange(4)}
    if rng.random() < 0.2:
        body["note"] = "n" * rng.randrange(1, 400)
    return body


def list_all(client, host):
    """Every notification of host, newest first, and the list's unread."""
    items, cursor = [], None
    while True:
        path = "/notifications/list?limit=100"
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor)
        status, _, page, raw = client.req("GET", path,
                                          token=HOST_TOKENS[host])
        if status != 200:
            raise AssertionError("list %s: %d %r" % (host, status, raw[:300]))
        items += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return items, page.get("unread")


class Load:
    """What the main thread tells the load threads."""

    def __init__(self, threads):
        self.stop = threading.Event()
        self.burst = threading.Event()
        self.barrier = threading.Barrier(threads + 1)


class Worker(threading.Thread):
    """One client of load; ends when the server is gone."""

    def __init__(self, campaign, tid, load):
        super().__init__(daemon=True)
        self.c, self.tid, self.load = campaign, tid, load
        self.rng = random.Random(campaign.rng.random())
        self.conn = http.client.HTTPConnection(
            "127.0.0.1", campaign.server.http_port, timeout=15)
        self.seq = 0

    def run(self):
        burst_done = False
        try:
            while not self.load.stop.is_set():
                if self.load.burst.is_set() and not burst_done:
                    burst_done = True
                    self.burst()
                else:
                    self.step()
        except (Gone, threading.BrokenBarrierError):
            pass
        except Exception as e:  # a bug here must not pass for a clean round
            self.c.violation("load_thread_error", error=repr(e))
            self.load.barrier.abort()
        finally:
            self.conn.close()

    def post(self, path, body, tok=SERVICE, idem=None, track=True):
        """Returns (status, headers, JSON, raw) like harness.Client, but
        never retries: a request cut by the kill ends the thread, and is kept
        (when `track`) to be sent again at the next verification."""
        headers = {"Authorization": "Bearer " + tok,
                   "Content-Type": "application/json", **idem_header(idem)}
        try:
            self.conn.request("POST", path, json.dumps(body).encode(), headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):  # cut by the kill
            if track:
                self.c.cut(path, body, idem)
            raise Gone from None
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                json.loads(raw) if raw else None, raw)

    def key(self, prefix):
        return "%s-%d-%d-%d" % (prefix, self.c.round, self.tid, self.seq)

    def step(self):
        self.seq += 1
        pick = self.rng.random()
        if pick < 0.05:
            self.mark_read()
        elif pick < 0.12:
            self.notify(self.key("n") if self.rng.random() < 0.5 else None)
        else:
            idem = self.key("k") if self.rng.random() < 0.35 else None
            self.book(stay(self.rng, self.key("r")), idem,
                      replay=idem is not None and self.rng.random() < 0.1)

    def burst(self):
        """Every thread at once; pairs of threads send the same key."""
        self.load.barrier.wait(timeout=10)
        pair = "%d-%d" % (self.c.round, self.tid // 2)
        self.book(stay(random.Random(pair), "burst-" + pair), "b-" + pair)

    def book(self, body, idem, replay=False):
        resp = self.post("/bookings", body, idem=idem)
        if resp[0] != 201:
            self.c.violation("unexpected_status", path="/bookings", body=body,
                             status=resp[0], resp=resp[3][:300])
            return
        rec = self.c.accept_booking(body, idem, resp)
        self.c.acked.set()
        if rec and replay:
            again = self.post("/bookings", body, idem=idem, track=False)
            if again[0] != 201 or (again[2]["booking"]["id"],
                                   again[2]["notification"]["id"]) != (
                                       rec["bid"], rec["nid"]):
                self.c.violation("IDEM_REPLAY_MISMATCH", rec=rec,
                                 status=again[0], resp=again[3][:300])

    def notify(self, idem):
        body = {"hostId": self.rng.choice(HOSTS), "type": "new_message",
                "title": self.key("m"), "body": "x", "data": {"k": self.seq}}
        resp = self.post("/notifications", body, idem=idem)
        if resp[0] == 201:
            self.c.accept_note(body, idem, resp)
        else:
            self.c.violation("unexpected_status", path="/notifications",
                             body=body, status=resp[0], resp=resp[3][:300])

    def mark_read(self):
        host = self.rng.choice(HOSTS)
        with self.c.lock:
            ids = list(self.c.owner[host])
        if not ids:
            return
        pick = self.rng.sample(ids, min(len(ids), self.rng.randrange(1, 4)))
        resp = self.post("/notifications/mark-read", {"ids": pick},
                         tok=HOST_TOKENS[host], track=False)
        if resp[0] == 200:
            with self.c.lock:
                self.c.reads[host].update(pick)
        else:
            self.c.violation("unexpected_status", path="mark-read", host=host,
                             ids=pick, status=resp[0], resp=resp[3][:300])


# ------------------------------------------------------------ kill modes
# Each runs while the load does and leaves the server SIGKILLed; it returns
# how, for the round's line. Most first let the load run for LOAD_S seconds.

LOAD_S = (0.3, 1.5)


def kill_random(c, load):
    wait = c.rng.uniform(*LOAD_S)
    time.sleep(wait)
    c.server.kill9()
    return "after %.2f s" % wait


def kill_burst(c, load):
    time.sleep(c.rng.uniform(*LOAD_S))
    load.burst.set()
    try:
        load.barrier.wait(timeout=10)
    except threading.BrokenBarrierError:
        pass
    delay = c.rng.choice([0, 0.5, 1, 2, 3, 5, 8, 12, 20]) / 1000
    time.sleep(delay)
    c.server.kill9()
    return "%g ms after a burst of every thread" % (delay * 1000)


def kill_stop(c, load):
    time.sleep(c.rng.uniform(*LOAD_S))
    os.kill(c.server.proc.pid, signal.SIGSTOP)
    stopped = c.rng.uniform(0.2, 1.0)
    time.sleep(stopped)
    c.server.kill9()
    return "after %.2f s stopped (SIGSTOP)" % stopped


def kill_stopcont(c, load):
    time.sleep(c.rng.uniform(*LOAD_S))
    os.kill(c.server.proc.pid, signal.SIGSTOP)
    time.sleep(c.rng.uniform(0.2, 0.6))
    os.kill(c.server.proc.pid, signal.SIGCONT)
    delay = c.rng.choice([0, 1, 3, 10]) / 1000
    time.sleep(delay)
    c.server.kill9()
    return "%g ms after SIGSTOP, SIGCONT" % (delay * 1000)


def kill_startup(c, load):
    delay = c.rng.uniform(0.0, 0.08)
    time.sleep(delay)
    c.server.kill9()
    return "%.0f ms after listening" % (delay * 1000)


def kill_firstack(c, load):
    time.sleep(c.rng.uniform(*LOAD_S))
    c.acked.clear()
    acked = c.acked.wait(timeout=10)
    c.server.kill9()
    return "as a client read a 201" if acked else "after 10 s without a 201"


def kill_rollback(c, load):
    time.sleep(1.0)
    c.server.kill9()
    shutil.copy(c.snapshot, c.data_file)
    return "and its data file put back as before the round"


# mode: (kill, weight in a campaign's draw); rollback is the control only.
KILL_MODES = {"random": (kill_random, 14), "burst": (kill_burst, 12),
              "stop": (kill_stop, 4), "stopcont": (kill_stopcont, 3),
              "startup": (kill_startup, 3), "firstack": (kill_firstack, 3)}


def schedule(rng, rounds):
    """Every mode once, in random order, then modes drawn by weight."""
    modes = rng.sample(list(KILL_MODES), len(KILL_MODES))
    weights = [weight for _, weight in KILL_MODES.values()]
    modes += rng.choices(list(KILL_MODES), weights, k=rounds)
    return modes[:rounds]


# ------------------------------------------------------------ campaign

class Campaign:
    """One data directory killed round after round, and the ledger of every
    write it acknowledged."""

    def __init__(self, seed, threads):
        self.seed, self.threads = seed, threads
        self.rng = random.Random(seed)
        self.root = tempfile.mkdtemp(prefix="bellhop-torture-")
        data_dir = os.path.join(self.root, "data")
        os.mkdir(data_dir)
        self.data_file = os.path.join(data_dir, "data.mdb")
        self.snapshot = os.path.join(self.root, "rollback.mdb")
        self.server = Server(("--log-level", "warn"), data_dir=data_dir,
                             start=False)
        self.lock = threading.Lock()
        self.bookings = []  # acknowledged: {bid, nid, body, idem, round}
        self.notes = []     # acknowledged POST /notifications: {nid, ...}
        self.owner = {host: {} for host in HOSTS}  # nid -> (kind, id|title)
        self.reads = {host: set() for host in HOSTS}  # ids marked read (200)
        self.cut_requests = []  # (path, body, idem): outcome unknown
        self.violations = []
        self.acked = threading.Event()  # a load thread read a 201
        self.round = 0
        self.verified = 0  # the last round verified; older ones are sampled
        self.modes = []
        self.started = time.monotonic()

    # --- the ledger (load and verification threads)
    def violation(self, kind, **details):
        with self.lock:
            self.violations.append(dict(kind=kind, round=self.round,
                                        **details))

    def cut(self, path, body, idem):
        with self.lock:
            self.cut_requests.append((path, body, idem))

    def own(self, host, nid, what):
        """Records that host's notification nid was acknowledged as `what`;
        False if it already was (an idempotent replay)."""
        with self.lock:
            prev = self.owner[host].get(nid)
            if prev is None:
                self.owner[host][nid] = what
        if prev not in (None, what):
            self.violation("ID_REUSED", host=host, nid=nid, first=prev,
                           then=what)
        return prev is None

    def accept_booking(self, body, idem, resp):
        """Checks a 201 to POST /bookings and records it (None if bad)."""
        _, headers, answer, raw = resp
        try:
            booking, nid = answer["booking"], answer["notification"]["id"]
            bid = booking["id"]
        except (TypeError, KeyError):
            self.violation("bad_201_body", body=body, resp=raw[:300])
            return None
        if headers.get("location") != "/bookings/" + bid:
            self.violation("bad_location", bid=bid,
                           location=headers.get("location"))
        if (booking.get("hostId"), booking.get("roomId")) != (
                body["hostId"], body["roomId"]):
            self.violation("201_body_mismatch", body=body, booking=booking)
        rec = dict(bid=bid, nid=nid, body=body, idem=idem, round=self.round)
        if self.own(body["hostId"], nid, ("booking", bid)):
            with self.lock:
                self.bookings.append(rec)
        return rec

    def accept_note(self, body, idem, resp):
        try:
            nid = resp[2]["notification"]["id"]
        except (TypeError, KeyError):
            self.violation("bad_201_body", body=body, resp=resp[3][:300])
            return
        if self.own(body["hostId"], nid, ("note", body["title"])):
            with self.lock:
                self.notes.append(dict(nid=nid, body=body, idem=idem,
                                       round=self.round))

    # --- rounds
    def run(self, modes):
        """Runs one round per mode, then the final verifications; always
        kills the server and removes the data directory."""
        self.modes = modes
        print("torture seed %d: %s" % (self.seed, " ".join(modes)),
              flush=True)
        try:
            for mode in modes:
                self.run_round(mode)
            self.round += 1
            self.server.start()
            print("final, after kill -9: %s" % self.verify(full=True))
            status = self.server.stop()
            if status != 0:
                self.violation("unclean_stop", status=status)
            self.round += 1
            self.server.start()
            print("final, after SIGTERM: %s" % self.verify(full=False))
        finally:
            self.server.kill9()
            shutil.rmtree(self.root, ignore_errors=True)

    def run_round(self, mode):
        self.round += 1
        started = time.monotonic()
        before = len(self.bookings), len(self.notes)
        if mode == "rollback":
            shutil.copy(self.data_file, self.snapshot)
        self.server.start()
        try:
            checked = ("no verification" if mode == "startup"
                       else self.verify(full=False))
            load = Load(self.threads)
            workers = [Worker(self, tid, load) for tid in range(self.threads)]
            for worker in workers:
                worker.start()
            kill = (kill_rollback if mode == "rollback"
                    else KILL_MODES[mode][0])
            how = kill(self, load)
            load.stop.set()
            load.barrier.abort()
            for worker in workers:
                worker.join(30)
        finally:
            self.server.kill9()
        print("round %d %s: %s; killed %s; %d bookings, %d notifications "
              "acknowledged, %d cut; %.1f s" % (
                  self.round, mode, checked, how,
                  len(self.bookings) - before[0], len(self.notes) - before[1],
                  len(self.cut_requests), time.monotonic() - started),
              flush=True)

    # --- verification
    def each(self, check, items):
        """check(client, item) for every item, on VERIFY_THREADS keep-alive
        connections; returns the results in order."""
        local, clients = threading.local(), []

        def call(item):
            if not hasattr(local, "client"):
                local.client = self.server.client()
                with self.lock:
                    clients.append(local.client)
            return check(local.client, item)

        try:
            with concurrent.futures.ThreadPoolExecutor(VERIFY_THREADS) as pool:
                return list(pool.map(call, items))
        finally:
            for client in clients:
                client.close()

    def select(self, records, old_sample, full):
        """All records if full, else those since the last verification and
        a sample of the older ones."""
        if full:
            return records
        new = [r for r in records if r["round"] >= self.verified]
        old = [r for r in records if r["round"] < self.verified]
        return new + self.rng.sample(old, min(old_sample, len(old)))

    def verify(self, full):
        with self.lock:
            bookings, notes = list(self.bookings), list(self.notes)
            cut, self.cut_requests = self.cut_requests, []
        gets = self.select(bookings, 300, full)
        self.each(self.check_booking, gets)
        listings = dict(zip(HOSTS, self.each(self.check_host, HOSTS)))
        bids = {b["bid"] for b in bookings}
        unanswered = [n for items in listings.values() for n in items
                      if n["type"] == "new_booking"
                      and n["data"]["bookingId"] not in bids]
        self.each(self.check_unanswered, unanswered)
        replays = (self.select([b for b in bookings if b["idem"]], 100, full)
                   + self.select([n for n in notes if n["idem"]], 20, full))
        self.each(self.check_replay, replays)
        recent = [b for b in bookings if b["round"] >= self.verified]
        rebooks = self.rng.sample(recent or bookings,
                                  min(40, len(recent or bookings)))
        self.each(self.check_rebook, rebooks)
        self.each(self.send_again, cut)
        self.each(self.check_next_id, listings.items())
        self.each(self.recheck_host, HOSTS)
        self.verified = self.round
        return ("verified %d bookings, %d hosts, %d unanswered commits, "
                "%d replays, %d rebookings, %d cut requests" % (
                    len(gets), len(HOSTS), len(unanswered), len(replays),
                    len(rebooks), len(cut)))

    def check_booking(self, client, rec):
        status, _, got, raw = client.req("GET", "/bookings/" + rec["bid"],
                                         token=SERVICE)
        if status != 200:
            self.violation("LOST_BOOKING", rec=rec, status=status,
                           resp=raw[:200])
            return
        wrong = {k: got.get(k) for k, v in rec["body"].items()
                 if got.get(k) != v}
        if wrong:
            self.violation("booking_mismatch", rec=rec, got=wrong)

    def check_host(self, client, host):
        """The host's list against the ledger; returns the list."""
        items, list_unread = list_all(client, host)
        ids = [n["id"] for n in items]
        if len(set(ids)) != len(ids):
            self.violation("DUPLICATE_ID_IN_LIST", host=host, dups=sorted(
                i for i, k in collections.Counter(ids).items() if k > 1))
        if ids != sorted(ids, reverse=True):
            self.violation("list_not_newest_first", host=host)
        rooms = collections.Counter(n["data"]["roomId"] for n in items
                                    if n["type"] == "new_booking")
        if max(rooms.values(), default=0) > 1:
            self.violation("DUPLICATE_BOOKING_FOR_ROOM", host=host,
                           rooms=[r for r, k in rooms.items() if k > 1])
        by_id = {n["id"]: n for n in items}
        with self.lock:
            owned, read = dict(self.owner[host]), set(self.reads[host])
        for nid, (kind, what) in owned.items():
            note = by_id.get(nid)
            if note is None:
                self.violation("LOST_NOTIFICATION", host=host, nid=nid,
                               what=what)
            elif what != (note["title"] if kind == "note"
                          else note["data"].get("bookingId")):
                self.violation("notification_mismatch", host=host, nid=nid,
                               want=what, got=note)
        unread_lost = sorted(nid for nid in read
                             if nid in by_id and by_id[nid]["readAt"] is None)
        if unread_lost:
            self.violation("LOST_MARK_READ", host=host, ids=unread_lost)
        unread = sum(n["readAt"] is None for n in items)
        latest = max(ids, default=0)
        status, _, count, _ = client.req("GET", "/notifications/count",
                                         token=HOST_TOKENS[host])
        counted = status == 200 and (count.get("unread"),
                                     count.get("latestId")) == (unread, latest)
        if not counted or list_unread != unread:
            self.violation("COUNT_MISMATCH", host=host, status=status,
                           count=count, list_unread=list_unread,
                           listed_unread=unread, listed_latest=latest)
        return items

    def check_unanswered(self, client, note):
        """A booking notification nobody was answered for: its booking
        must have been committed with it."""
        data = note["data"]
        status, _, got, _ = client.req("GET", "/bookings/" + data["bookingId"],
                                       token=SERVICE)
        if status != 200 or got.get("roomId") != data["roomId"]:
            self.violation("NOTIFICATION_WITHOUT_BOOKING", host=note["hostId"],
                           nid=note["id"], status=status)

    def check_replay(self, client, rec):
        path = "/bookings" if "bid" in rec else "/notifications"
        status, _, got, raw = client.req("POST", path, rec["body"],
                                         token=SERVICE,
                                         headers=idem_header(rec["idem"]))
        if not (status == 201 and got["notification"]["id"] == rec["nid"]
                and got.get("booking", {}).get("id") == rec.get("bid")):
            self.violation("IDEM_REPLAY_MISMATCH", rec=rec, status=status,
                           resp=raw[:300])

    def check_rebook(self, client, rec):
        resp = client.req("POST", "/bookings", rec["body"], token=SERVICE)
        if resp[0] != 409:
            self.violation("CALENDAR_LOST", rec=rec, status=resp[0])
            if resp[0] == 201:
                self.accept_booking(rec["body"], None, resp)

    def send_again(self, client, request):
        """A cut request sent again: with its key it is answered 201 (the
        first answer, or the write it never made); a keyless booking is 201
        or, if it was committed, 409."""
        path, body, idem = request
        if path == "/notifications" and not idem:
            return  # nothing to compare a second notification with
        resp = client.req("POST", path, body, token=SERVICE,
                          headers=idem_header(idem))
        if resp[0] == 201 and path == "/bookings":
            self.accept_booking(body, idem, resp)
        elif resp[0] == 201:
            self.accept_note(body, idem, resp)
        elif not (resp[0] == 409 and path == "/bookings" and not idem):
            self.violation("cut_request_resent", path=path, body=body,
                           idem=idem, status=resp[0], resp=resp[3][:300])

    def check_next_id(self, client, listing):
        """A new booking's notification id is above every id seen."""
        host, items = listing
        with self.lock:
            known = max([*self.owner[host], *(n["id"] for n in items)],
                        default=0)
        body = {"hostId": host, "roomId": "probe-%d-%s" % (self.round, host),
                "guestId": "gp", "checkIn": "2030-05-01",
                "checkOut": "2030-05-02", "guests": 1}
        resp = client.req("POST", "/bookings", body, token=SERVICE)
        if resp[0] != 201:
            self.violation("probe_status", host=host, status=resp[0],
                           resp=resp[3][:300])
            return
        rec = self.accept_booking(body, None, resp)
        if rec and rec["nid"] <= known:
            self.violation("ID_NOT_ABOVE_ACKED", host=host, nid=rec["nid"],
                           known=known)

    def recheck_host(self, client, host):
        """After the new bookings, the list still holds every id once."""
        ids = [n["id"] for n in list_all(client, host)[0]]
        with self.lock:
            missing = sorted(set(self.owner[host]) - set(ids))
        if len(set(ids)) != len(ids):
            self.violation("DUPLICATE_ID_IN_LIST", host=host, after="probe")
        if missing:
            self.violation("LOST_NOTIFICATION", host=host, after="probe",
                           nids=missing[:20])

    def summary(self):
        kinds = collections.Counter(v["kind"] for v in self.violations)
        return ("seed %d, %d rounds, %d threads: %d bookings, %d "
                "notifications, %d marked read acknowledged; %d violations "
                "%s; %.1f s" % (
                    self.seed, len(self.modes), self.threads,
                    len(self.bookings), len(self.notes),
                    sum(map(len, self.reads.values())), len(self.violations),
                    dict(kinds), time.monotonic() - self.started))


def campaign(rounds, seed, threads):
    """A campaign of `rounds` rounds over every kill mode; prints each
    violation and the summary; returns the Campaign."""
    c = Campaign(seed, threads)
    c.run(schedule(c.rng, rounds))
    for v in c.violations:
        print("VIOLATION", json.dumps(v, default=str)[:600])
    print(c.summary(), flush=True)
    return c


class CrashTortureTest(unittest.TestCase):
    ROUNDS, THREADS = 8, 16

    def test_kill9_in_every_mode_loses_nothing_acknowledged(self):
        seed = random.randrange(1 << 32)
        c = campaign(self.ROUNDS, seed, self.THREADS)
        self.assertGreater(len(c.bookings), 1000, c.summary())
        self.assertGreater(len(c.notes), 0, c.summary())
        self.assertEqual(len(c.violations), 0, "%s\nrerun: python3 %s "
                         "--rounds %d --seed %d" % (c.summary(), __file__,
                                                    self.ROUNDS, seed))

    def test_rollback_control_is_caught(self):
        """A data file put back to an older state must be reported."""
        c = Campaign(random.randrange(1 << 32), self.THREADS)
        c.run(["random", "rollback"])
        print(c.summary(), flush=True)
        kinds = {v["kind"] for v in c.violations}
        for kind in ("LOST_BOOKING", "LOST_NOTIFICATION",
                     "IDEM_REPLAY_MISMATCH"):
            self.assertIn(kind, kinds, c.summary())


def main():
    parser = argparse.ArgumentParser(
        description="A kill -9 campaign; with no option, the unit tests.")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    args, rest = parser.parse_known_args()
    # SIGTERM unwinds like an exception, so the server is killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if (args.rounds, args.seed, args.threads) == (None, None, None):
        unittest.main(argv=sys.argv[:1] + rest, verbosity=2)
    else:
        seed = random.randrange(1 << 32) if args.seed is None else args.seed
        c = campaign(args.rounds or 60, seed,
                     args.threads or CrashTortureTest.THREADS)
        sys.exit(1 if c.violations else 0)


if __name__ == "__main__":
    main()
