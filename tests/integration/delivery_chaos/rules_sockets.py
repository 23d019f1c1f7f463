"""Each socket on its own (§5, §6): hello for the right host and TTL,
frames without duplicates, in id order and without gaps (a replay from
after+1, cut only at 100), each with one `pushed` audit entry of its
session and transport (unless a kill -9 came right after); close codes and their causes; acks in the audit
with the right fields; read events whose latestId never goes back."""

import collections

REPLAY_CUT = 100


def check(v):
    ttl_s = v.A["ttl_ms"] / 1000.0
    close_codes = {4000, 4003, 1001}
    if "close-on-delivery" in v.A["extra"]:
        close_codes.add(4001)
    for s in v.R["sockets"]:
        v.stats["sockets_" + s["proto"]] += 1
        if s.get("error"):
            v.stats["connect_errors"] += 1
            continue
        if s["hello"] is None:
            v.stats["no_hello"] += 1
            if s["frames"]:
                v.F("frames_before_hello", dev=s["dev"])
            continue
        _frames(v, s)
        _hello_and_close(v, s, ttl_s, close_codes)
        _read_events(v, s)
    _acks(v)
    _audit_fields(v)


def _frames(v, s):
    h, ids = s["host"], [n for n, _ in s["frames"]]
    if len(ids) != len(set(ids)):
        v.F("DUP_on_one_socket", dev=s["dev"], sid=s["sid"],
            ids=[n for n, c in collections.Counter(ids).items() if c > 1])
    if ids != sorted(ids):
        v.F("out_of_order_on_socket", dev=s["dev"], sid=s["sid"],
            ids=ids[:30])
    start = s["after"] if s["after"] is not None \
        else (s["hello"]["latestId"] or 0)
    exp = start + 1
    for i, n in enumerate(ids):
        if n > exp and not (s["after"] is not None and i == REPLAY_CUT):
            # ids not stored (a write refused at its commit) are no gap
            missing = [m for m in range(exp, n) if (h, m) in v.store_item]
            if missing:
                v.F("GAP_on_socket", dev=s["dev"], sid=s["sid"],
                    after=s["after"], hello_latest=s["hello"]["latestId"],
                    expected=exp, got=n, missing=missing[:10],
                    proto=s["proto"], t_open=v.rel(s["t_open"]))
        exp = max(exp, n + 1)
    want_via = "socketio" if s["proto"] == "sio" else "ws"
    for n, t in s["frames"]:
        v.delivered[(h, n)].append((s["sid"], t))
        if (h, n) not in v.store_item:
            v.F("frame_for_unknown_notification", dev=s["dev"], id=n)
        pushed = [e for e in v.audit_of((h, n), "pushed")
                  if e["session"] == s["sid"]]
        if not pushed:
            # Written as the host actor pushes, but not waited for: a
            # kill -9 right after the push may take it.
            if v.near_kill(t, before=v.slack.ack_before_kill):
                v.stats["pushed_audit_lost_at_kill9"] += 1
            else:
                v.F("frame_without_pushed_audit", host=h, nid=n,
                    sid=s["sid"], t=v.rel(t))
        elif len(pushed) > 1:
            v.F("pushed_audit_twice_same_session", host=h, nid=n,
                sid=s["sid"])
        elif pushed[0]["via"] != want_via:
            v.F("pushed_audit_wrong_via", host=h, nid=n,
                via=pushed[0]["via"])


def _hello_and_close(v, s, ttl_s, close_codes):
    if s["hello"]["hostId"] != s["host"]:
        v.F("hello_wrong_host", dev=s["dev"])
    if s["hello"]["ttlMs"] != v.A["ttl_ms"]:
        v.F("hello_ttl", dev=s["dev"], ttl=s["hello"]["ttlMs"])
    if not s["close"]:
        return
    code, t_close = s["close"][0], s["close"][2]
    v.stats["close_%s" % code] += 1
    if code not in close_codes:
        v.F("unexpected_close_code", dev=s["dev"], close=s["close"][:2])
    dur = t_close - s["t_open"]
    # the TTL counts from the upgrade, after t_open: never early; late by
    # up to 500 ms waiting for acks (decisions.md), more on a slow machine
    if code == 4000 and dur < ttl_s - 0.2:
        v.F("ttl_close_early", dev=s["dev"], dur=round(dur, 3))
    if code == 4000 and v.slack.timing and dur > ttl_s + v.slack.ttl_close:
        v.F("ttl_close_late", dev=s["dev"], dur=round(dur, 3))
    if code == 4001 and not any(a[3] in ("now", "late") for a in s["acks"]):
        v.F("4001_without_ack", dev=s["dev"], sid=s["sid"])
    if code == 4003 and not s["expiring"]:
        v.F("4003_without_expiring_token", dev=s["dev"])


def _read_events(v, s):
    events = sorted([(t, "f", n) for n, t in s["frames"]] +
                    [(t, "r", p) for p, t in s["reads"]], key=lambda x: x[0])
    top, last_read_latest = s["hello"]["latestId"] or 0, 0
    for _, kind, x in events:
        if kind == "f":
            top = max(top, x)
            continue
        if x["latestId"] < top:
            v.F("read_event_latestId_below_pushed", sid=s["sid"], read=x,
                pushed_max=top)
        if x["latestId"] < last_read_latest:
            v.F("read_event_latestId_goes_back", sid=s["sid"], read=x)
        last_read_latest = x["latestId"]


def _acks(v):
    """An ack sent on an open socket that stayed open a while after it is
    in the audit (§5: even after the ack window), unless a kill -9 took
    its write."""
    for s in v.R["sockets"]:
        if s.get("error") or s["hello"] is None:
            continue
        t_end = s["close"][2] if s["close"] else s.get("t_end")
        for n, t, open_, how in s["acks"]:
            key = (s["host"], n)
            if any(e["session"] == s["sid"]
                   for e in v.audit_of(key, "acked")):
                continue
            if not open_ or v.near_kill(t, before=v.slack.ack_before_kill):
                v.stats["ack_lost_at_kill9"] += 1
                continue
            if t_end is None or t_end - t < v.slack.ack_before_end:
                v.stats["ack_crossed_socket_end"] += 1
                continue
            v.F("ack_sent_not_in_audit", host=key[0], nid=n, sid=s["sid"],
                how=how, t=v.rel(t), end=s["end"],
                close=s["close"] and s["close"][:2],
                end_after_ack_s=round(t_end - t, 3))


def _audit_fields(v):
    for key, entries in v.aud.items():
        for e in entries:
            if e["action"] == "acked":
                s = v.sock_by_sid.get(e["session"])
                if s is None:
                    v.F("acked_audit_unknown_session", host=key[0],
                        nid=key[1], e=e)
                    continue
                want = "socketio" if s["proto"] == "sio" else "ws"
                if e["via"] != want or e["by"] != key[0]:
                    v.F("acked_audit_fields", host=key[0], nid=key[1], e=e,
                        want_via=want)
            elif e["action"] == "emailed" and e["via"] != "email":
                v.F("emailed_audit_via", e=e)
            elif e["action"] == "pushed" and e["session"] is None:
                v.F("pushed_audit_without_session", e=e)
