"""Every 201 is stored under the id it was answered with, nothing else is
stored, ids increase, and each has exactly one `created` audit entry; the
server exits 0 on each SIGTERM."""


def check(v):
    R = v.R
    if len(v.created) != len(R["created"]):
        v.F("two_201_with_same_id", n=len(R["created"]) - len(v.created))
    for fp in R["failed_posts"]:
        v.F("post_not_201", **fp)
    for h, items in R["store"].items():
        ids = [i["id"] for i in items]
        if ids != sorted(set(ids)):
            v.F("store_ids_not_increasing", host=h)
        for it in items:
            room = (it["data"] or {}).get("roomId") \
                if it["type"] == "new_booking" else it["title"].split()[-1]
            c = v.by_room.get((h, room))
            if c is None:
                v.F("store_item_without_201", host=h, id=it["id"], room=room)
            elif c["nid"] != it["id"]:
                v.F("store_id_differs_from_201", host=h, id=it["id"],
                    nid=c["nid"])
    for key, c in v.created.items():
        if key not in v.store_item:
            v.F("LOSS_201_not_in_store", host=key[0], nid=key[1],
                t201=v.rel(c["t_201"]))
        n = len(v.audit_of(key, "created"))
        if n != 1:
            v.F("audit_created_count", host=key[0], nid=key[1], count=n)
    for r in v.restarts + [{"kind": "term", "rc": R["final_rc"]}]:
        if r["kind"] == "term" and r["rc"] != 0:
            v.F("sigterm_exit_code", rc=r["rc"], t=v.rel(r.get("t_signal")))
