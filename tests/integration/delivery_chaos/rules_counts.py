"""Count polls (§4 GET /notifications/count with If-None-Match): the ETag
matches the body, and a poll sent after a 201 accounts for it (its
latestId, or the one in the ETag a 304 confirms, is at least that id)."""

import collections


def check(v):
    answered = collections.defaultdict(list)   # host -> [(t_201, nid)]
    for c in v.created.values():
        answered[c["host"]].append((c["t_201"], c["nid"]))
    for p in v.R["polls"]:
        v.stats["polls_%s" % p["status"]] += 1
        if p["status"] == 200:
            latest = p["body"]["latestId"]
            want = '"all-%d-%d"' % (p["body"]["unread"], latest)
            if p["etag"] != want:
                v.F("count_etag_mismatch", etag=p["etag"], body=p["body"])
        elif p["status"] == 304:
            latest = int(p["inm"].strip('"').split("-")[-1])
        else:
            continue
        need = max([n for t, n in answered[p["host"]] if t < p["t_send"]]
                   or [0])
        if latest < need:
            v.F("STALE_COUNT" + ("_304" if p["status"] == 304 else ""),
                host=p["host"], latestId=latest, newest_201_before_poll=need,
                t=v.rel(p["t_send"]))
