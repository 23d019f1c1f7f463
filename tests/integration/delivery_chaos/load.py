"""The REST load: bookers (bookings and reviews for random hosts, each
request retried with its Idempotency-Key until it gets a final answer),
readers (mark-read by ids, upTo or all) and pollers of /notifications/count
with If-None-Match."""

import random
import time
import uuid

from harness import token

SVC = token("chaos-svc", "service", exp_in=36000)
REVIEW_SHARE = 0.12


def _body(n, host, rnd):
    """(type, category, path, body, room) of notification number n; the
    room (rm-N / rv-N) is how mails and stored items are matched to it."""
    if rnd.random() < REVIEW_SHARE:
        return ("new_review", "review", "/notifications",
                {"hostId": host, "type": "new_review",
                 "title": "Review rv-%d" % n, "body": "text rv-%d" % n},
                "rv-%d" % n)
    return ("new_booking", "booking", "/bookings",
            {"hostId": host, "roomId": "rm-%d" % n, "guestId": "g-%d" % n,
             "checkIn": "2027-01-01", "checkOut": "2027-01-03", "guests": 2},
            "rm-%d" % n)


def booker(ctl, rec, hosts, stop_flag, idx, args, counter):
    rnd = random.Random(args.seed * 100 + idx)
    per_booker = args.rate / 6.0
    while not stop_flag.is_set():
        time.sleep(rnd.expovariate(per_booker))
        host = rnd.choice(hosts)
        n = next(counter)
        key = "k-%d-%s" % (n, uuid.uuid4().hex[:8])
        typ, cat, path, body, room = _body(n, host, rnd)
        t_first, tries = time.time(), 0
        while True:
            tries += 1
            try:
                st, _, js, raw = ctl.http("POST", path, body, tok=SVC,
                                          headers={"Idempotency-Key": key})
            except Exception:
                time.sleep(0.2)   # restarting: the same key again
                continue
            if st in (503, 429):
                time.sleep(0.2)
                continue
            if st == 201:
                rec.add("created", dict(
                    host=host, nid=js["notification"]["id"], key=key,
                    room=room, type=typ, cat=cat, t_first=t_first,
                    t_201=time.time(), tries=tries))
            else:
                rec.add("failed_posts", dict(
                    host=host, key=key, status=st,
                    body=raw[:300].decode("utf-8", "replace")))
            break


def reader(ctl, rec, host, stop_flag, seed):
    rnd = random.Random("read-%s-%d" % (host, seed))
    tok = token(host, "host", exp_in=36000)
    while not stop_flag.is_set():
        time.sleep(rnd.uniform(1.0, 4.0))
        mine = rec.created_for(host)
        if not mine:
            continue
        x = rnd.random()
        if x < 0.05:
            req = {"all": True}
        elif x < 0.2:
            req = {"upTo": max(1, max(mine) - rnd.randint(0, 3))}
        else:
            req = {"ids": rnd.sample(mine[-6:], min(len(mine[-6:]), 2))}
        t_send = time.time()
        try:
            st, _, js, _ = ctl.http("POST", "/notifications/mark-read", req,
                                    tok=tok)
        except Exception:
            st, js = None, None
        rec.add("reads", dict(host=host, req=req, t_send=t_send,
                              t_resp=time.time(), status=st, body=js))


def poller(ctl, rec, host, stop_flag, seed):
    rnd = random.Random("poll-%s-%d" % (host, seed))
    tok = token(host, "host", exp_in=36000)
    etag = None
    while not stop_flag.is_set():
        time.sleep(rnd.uniform(0.2, 0.6))
        hdr = {"If-None-Match": etag} if etag else {}
        t_send = time.time()
        try:
            st, hd, js, _ = ctl.http("GET", "/notifications/count", tok=tok,
                                     headers=hdr)
        except Exception:
            continue
        rec.add("polls", dict(host=host, t_send=t_send, t_resp=time.time(),
                              status=st, inm=etag, etag=hd.get("etag"),
                              body=js))
        if st == 200:
            etag = hd.get("etag")
