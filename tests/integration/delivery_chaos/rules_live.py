"""Delivery to devices: every 201 reached some device (a frame, or REST
after a replay cut at 100); a socket that had its hello before a
notification was posted, and stayed open well after its 201, got it live;
a socket open across a REST mark-read that changed something got the read
event. "Well after" is Slack.live; a restart in between excuses both."""

import collections


def _last_useful(v, s):
    """The last moment a push could still be expected on socket s."""
    if s["close"]:
        t_last = s["close"][2]
    else:
        t_last = s.get("t_end", 0)
    return t_last - v.slack.live


def check(v):
    rest = {tuple(x) for x in v.R["rest_caught"]}
    for key, c in v.created.items():
        if not v.delivered.get(key) and key not in rest:
            v.F("never_delivered_to_a_device", host=key[0], nid=key[1],
                t201=v.rel(c["t_201"]))
    by_host = collections.defaultdict(list)
    for c in v.created.values():
        by_host[c["host"]].append(c)
    for s in v.live_sockets():
        _live_pushes(v, s, by_host[s["host"]])
        _read_events(v, s)


def _live_pushes(v, s, created):
    got = {n for n, _ in s["frames"]}
    t_last = _last_useful(v, s)
    for c in created:
        if not (c["t_first"] > s["t_hello"] and c["t_201"] < t_last):
            continue
        v.stats["live_push_checked"] += 1
        if c["nid"] in got or v.restart_between(
                c["t_first"] - 0.5, c["t_201"] + v.slack.live):
            continue
        v.F("MISSED_LIVE_PUSH", dev=s["dev"], sid=s["sid"], nid=c["nid"],
            t201=v.rel(c["t_201"]), hello=v.rel(s["t_hello"]),
            close=s["close"] and (s["close"][0], v.rel(s["close"][2])),
            end=s["end"], t_end=v.rel(s.get("t_end")))


def _read_events(v, s):
    t_last = _last_useful(v, s)
    for r in v.R["reads"]:
        if r["host"] != s["host"] or r["status"] != 200 or not r["body"] \
                or r["body"].get("updated", 0) < 1:
            continue
        if not (s["t_hello"] < r["t_send"] and r["t_resp"] < t_last):
            continue
        v.stats["read_event_checked"] += 1
        if any(r["t_send"] - 0.05 <= t <= r["t_resp"] + v.slack.live
               for _, t in s["reads"]):
            continue
        if not v.restart_between(r["t_send"] - 0.5,
                                 r["t_resp"] + v.slack.live):
            v.F("MISSED_READ_EVENT", host=r["host"], sid=s["sid"],
                req=r["req"], body=r["body"], t=v.rel(r["t_send"]))
