"""Email (§7): each mail matches notifications of an email host's booking
category (rooms in its text), with the Message-ID and Subject §7 gives,
several only in a digest; none twice unless a restart or an SMTP outage
came between the copies (at least once); none before its delay, inside the
ack window of a live push, or after an ack or read (Slack.mail_after_ack:
an SMTP transaction begun before it may end after); `emailed` audit entries
match the mails; and a notification due, neither acked nor read by then
(Slack.email_due later), was emailed."""

import collections
import re

from . import config

ROOM = re.compile(r"\b(rm-\d+|rv-\d+)\b")


def check(v):
    emailed = _match_mails(v)
    for key, mails in emailed.items():
        _one_emailed(v, key, mails)
    for key, c in v.created.items():
        if v.audit_of(key, "emailed") and key not in emailed:
            v.F("emailed_audit_without_mail", host=key[0], nid=key[1])
        _obligation(v, key, c, emailed)


def _match_mails(v):
    emailed = collections.defaultdict(list)   # (host, nid) -> [mail]
    for m in v.R["mails"]:
        to = m["to"][0].split("@")[0] if m["to"] else None
        ns = sorted({v.by_room[(to, rm)]["nid"] for rm in ROOM.findall(m["text"])
                     if (to, rm) in v.by_room})
        if not ns:
            v.F("mail_unmatched", to=m["to"], subject=m["subject"],
                mid=m["mid"])
            continue
        if to not in config.EMAIL:
            v.F("mail_to_host_without_email", host=to, nids=ns)
        if len(ns) == 1:
            want_mid = "<%s.%d@bellhop>" % (to, ns[0])
            want_subj = v.store_item.get((to, ns[0]), {}).get("title")
        else:
            want_mid = "<%s.%d-%d@bellhop>" % (to, ns[0], ns[-1])
            want_subj = "%d new notifications" % len(ns)
        if m["mid"] != want_mid:
            v.F("mail_message_id", got=m["mid"], want=want_mid)
        if m["subject"] != want_subj:
            v.F("mail_subject", got=m["subject"], want=want_subj)
        if len(ns) > 1 and not config.EMAIL.get(to, (0, False))[1]:
            v.F("multi_mail_without_digest", host=to, nids=ns)
        for n in ns:
            emailed[(to, n)].append(m)
            if v.created[(to, n)]["cat"] != "booking":
                v.F("mail_for_category_without_email", host=to, nid=n,
                    cat=v.created[(to, n)]["cat"])
    return emailed


def _one_emailed(v, key, mails):
    h, n = key
    c = v.created[key]
    first = min(m["at"] for m in mails)
    margin = v.slack.mail_after_ack
    if len(mails) > 1:
        ats = sorted(m["at"] for m in mails)
        if v.restart_between(ats[0] - 1, ats[-1]) or \
                v.outage_between(ats[0] - 1, ats[-1]):
            v.stats["email_again_after_restart_or_outage"] += 1
        else:
            v.F("DUPLICATE_email", host=h, nid=n,
                at=[v.rel(t) for t in ats])
    acked = [e["t"] for e in v.audit_of(key, "acked")]
    if acked and min(acked) < first - margin:
        v.F("EMAILED_AFTER_ACK", host=h, nid=n, acked_at=v.rel(min(acked)),
            mailed_at=v.rel(first))
    reads = [t_resp for _, t_resp in v.read_times.get(key, [])]
    if reads and min(reads) < first - margin:
        v.F("EMAILED_AFTER_READ", host=h, nid=n, read_at=v.rel(min(reads)),
            mailed_at=v.rel(first))
    delay = config.EMAIL.get(h, (0, False))[0]
    # lower bounds: the notification exists only after t_first
    if first < c["t_first"] + delay - 0.1 and \
            not v.restart_between(c["t_first"], first):
        v.F("EMAILED_BEFORE_DELAY", host=h, nid=n, delay=delay,
            created=v.rel(c["t_201"]), mailed=v.rel(first))
    opened = {s["sid"]: s["t_open"] for s in v.R["sockets"] if s["sid"]}
    pushes = [e["t"] for e in v.audit_of(key, "pushed")
              if opened.get(e["session"], 1e18) < c["t_first"]]
    if any(p < first for p in pushes) and \
            first < c["t_first"] + v.ack_s - 0.1 and \
            not v.restart_between(min(pushes), first):
        v.F("EMAILED_INSIDE_ACK_WINDOW", host=h, nid=n,
            posted=v.rel(c["t_first"]), pushed=v.rel(min(pushes)),
            mailed=v.rel(first))
    if not v.audit_of(key, "emailed") and \
            not any(v.near_kill(m["at"], before=0.5, after=3) for m in mails):
        v.F("mail_without_emailed_audit", host=h, nid=n)


def _latest_due(v, c):
    """When an email for c must have gone out if nothing cancelled it."""
    delay, digest = config.EMAIL[c["host"]]
    due = c["t_201"] + v.ack_s + delay + (max(delay, 1) if digest else 0) \
        + v.slack.email_due
    if v.restart_between(c["t_first"] - 1, due + 3):
        due += 6
    for o in v.outages:
        start, until = v.T0 + o["t"], v.T0 + o["until"]
        if start - 1 <= due and until >= c["t_201"]:
            # retries back off to about twice the outage
            due = max(due, until + (until - start) + 2 + v.slack.email_due)
    return due


def _obligation(v, key, c, emailed):
    if key[0] not in config.EMAIL or c["cat"] != "booking":
        return
    due = _latest_due(v, c)
    acked = [e["t"] for e in v.audit_of(key, "acked")]
    reads = [t for t, _ in v.read_times.get(key, [])]
    if (acked and min(acked) < due) or (reads and min(reads) < due) \
            or due > v.R["T_SETTLED"]:
        return
    v.stats["email_obligations"] += 1
    if key not in emailed:
        v.F("MISSED_EMAIL", host=key[0], nid=key[1],
            t201=v.rel(c["t_201"]), due=v.rel(due),
            audit=[(e["action"], v.rel(e["t"])) for e in v.aud[key]])
