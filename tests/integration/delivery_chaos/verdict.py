"""The verdict on a campaign's records: indexes the rule groups share
(what was answered 201, what is stored, the audit by notification, the
restarts and SMTP outages), the findings, and the report."""

import collections
import datetime
import json
import os

from . import (config, rules_counts, rules_email, rules_live, rules_reads,
               rules_sockets, rules_store)

RULE_GROUPS = (rules_store, rules_sockets, rules_live, rules_reads,
               rules_email, rules_counts)


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Verdict:
    def __init__(self, records):
        R = self.R = records
        self.A = R["args"]
        self.slack = config.Slack(self.A["timing"])
        self.ack_s = self.A["ack_ms"] / 1000.0
        self.T0 = R["T0"]
        self.findings = collections.defaultdict(list)
        self.stats = collections.Counter()
        self.restarts = R["restarts"]
        self.kills = [r for r in self.restarts if r["kind"] == "kill"]
        self.outages = [o for o in R["notes"] if o["kind"] == "smtp_outage"]
        self.created = {(c["host"], c["nid"]): c for c in R["created"]}
        self.by_room = {(c["host"], c["room"]): c for c in R["created"]}
        self.store_item = {(h, i["id"]): i for h, items in R["store"].items()
                           for i in items}
        self.aud = collections.defaultdict(list)   # (host, nid) -> entries
        for h, items in R["audit"].items():
            for e in items:
                e["t"] = parse_ts(e["at"])
                self.aud[(h, e["notificationId"])].append(e)
        self.sock_by_sid = {s["sid"]: s for s in R["sockets"] if s["sid"]}
        # filled by the rule groups for those that follow
        self.delivered = collections.defaultdict(list)  # (host,nid) -> [(sid,t)]
        self.read_times = collections.defaultdict(list)  # -> [(t_send,t_resp)]

    def F(self, kind, **kw):
        self.findings[kind].append(kw)

    def rel(self, t):
        return None if t is None else round(t - self.T0, 3)

    def near_kill(self, t, before=3.0, after=1.0):
        return any(r["t_signal"] - before <= t <= r["t_signal"] + after
                   for r in self.kills)

    def restart_between(self, a, b):
        return any(a <= r["t_signal"] <= b for r in self.restarts)

    def outage_between(self, a, b):
        return any(a <= self.T0 + o["t"] <= b for o in self.outages)

    def audit_of(self, key, action):
        return [e for e in self.aud[key] if e["action"] == action]

    def live_sockets(self):
        """Sessions that got their hello, apart from the final catch-up."""
        return [s for s in self.R["sockets"] if not s.get("error")
                and s["hello"] is not None and not s["final"]]

    def judge(self):
        for group in RULE_GROUPS:
            group.check(self)
        return self.findings

    def report(self, run_dir=None):
        R, c = self.R, self.created
        print("notifications 201: %d (%s); mails %d; REST mark-reads %d" % (
            len(c), dict(collections.Counter(x["cat"] for x in c.values())),
            len(R["mails"]), len(R["reads"])))
        print("201s after retries: %d; restarts: %s" % (
            sum(1 for x in c.values() if x["tries"] > 1),
            [(r["kind"], self.rel(r["t_signal"]), r.get("rc"))
             for r in self.restarts]))
        print("stats: %s" % dict(self.stats))
        print("notes: %s" % dict(collections.Counter(
            n["kind"] for n in R["notes"])))
        for kind, lst in sorted(self.findings.items()):
            print("-- %s: %d" % (kind, len(lst)))
            for x in lst[:6]:
                print("     ", json.dumps(x, default=str)[:600])
        print("findings: %d" % sum(len(v) for v in self.findings.values()),
              flush=True)
        if run_dir:
            with open(os.path.join(run_dir, "findings.json"), "w") as f:
                json.dump(self.findings, f, indent=1, default=str)
