"""Mark-reads: a notification covered by a REST mark-read answered 200
(and 201'd before it was sent) is read in the store and has a `read` audit
entry. Fills v.read_times for the email rules: when each notification
was read, by REST or (from the audit) over a socket."""


def _covers(req, nid):
    if "ids" in req:
        return nid in req["ids"]
    if "upTo" in req:
        return nid <= req["upTo"]
    return True


def check(v):
    for r in v.R["reads"]:
        if r["status"] != 200:
            continue
        for key, c in v.created.items():
            if key[0] == r["host"] and _covers(r["req"], key[1]) \
                    and c["t_201"] < r["t_send"]:
                v.read_times[key].append((r["t_send"], r["t_resp"]))
    rest_read = {k for k, ts in v.read_times.items() if ts}
    for key in v.created:
        audited = v.audit_of(key, "read")
        if key in rest_read:
            if not audited and not all(v.near_kill(t)
                                       for t, _ in v.read_times[key]):
                v.F("read_without_read_audit", host=key[0], nid=key[1])
            if v.store_item.get(key, {}).get("readAt") is None:
                v.F("read_but_store_unread", host=key[0], nid=key[1])
        for e in audited:
            v.read_times[key].append((e["t"], e["t"]))
