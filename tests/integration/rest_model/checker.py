"""The server under test, the one client the sequence talks through, and the
checks every answer goes through: the error shape, timestamps, notification
objects. A divergence is printed with its request and answer."""

import datetime as dt
import json
import random
import re
import threading
import time

from harness import Client, Server, token

from .model import Model

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CODE_OF = {400: "invalid_request", 401: "unauthorized", 403: "forbidden",
           404: "not_found", 409: "conflict", 413: "payload_too_large",
           415: "unsupported_media_type", 429: "rate_limited",
           503: "unavailable"}
NOTIF_KEYS = ("id", "hostId", "type", "category", "title", "body", "data",
              "createdAt", "readAt")
CLIENT_TIMEOUT_S = 60   # generous: an AddressSanitizer build on a busy machine


class Divergence(Exception):
    """The server answered something the model does not allow."""


def parse_ts(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=dt.timezone.utc).timestamp()


def run_threads(target, n):
    """Runs target(0) .. target(n - 1) on n threads and waits for them."""
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def new_client(port):
    return Client(port, timeout=CLIENT_TIMEOUT_S)


class Checker:
    def __init__(self, args, seed):
        self.args, self.seed = args, seed
        self.rng = random.Random(seed)
        self.model = Model()
        self.tok = {}
        self.divergences = []
        self.stats = {}
        self.restarts = 0
        flags = ["--log-level", "warn"] + (
            ["--ws-ttl-ms", "0"] if args.ws else []) + args.server_args.split()
        self.server = Server(flags)
        self.client = new_client(self.server.http_port)

    # -- tokens and bookkeeping
    def t(self, sub, role):
        """A token of sub and role, minted once (so tok_name can name it)."""
        if (sub, role) not in self.tok:
            self.tok[(sub, role)] = token(sub, role, exp_in=24 * 3600)
        return self.tok[(sub, role)]

    def tok_name(self, tok):
        for (sub, role), v in self.tok.items():
            if v == tok:
                return "%s:%s" % (role, sub)
        return None if tok is None else "<other>"

    def stat(self, name, n=1):
        self.stats[name] = self.stats.get(name, 0) + n

    def fail(self, what, ctx):
        msg = "DIVERGENCE: %s\n  request: %s\n  answer: %s" % (
            what, ctx.get("req"), ctx.get("ans"))
        self.divergences.append(msg)
        print(msg, flush=True)
        if not self.args.keep_going:
            raise Divergence(msg)

    def call(self, method, path, body=None, tok=None, headers=None, raw=None,
             ctype="application/json"):
        """One request of the sequence: (status, headers, JSON, raw body,
        context for a divergence, send time, receive time). Now and then on a
        fresh connection that the server is asked to close."""
        if self.rng.random() < 0.03:
            self.client.close()
            headers = dict(headers or {}, Connection="close")
        t0 = time.time()
        st, h, js, rawb = self.client.req(method, path, body=body, token=tok,
                                          headers=headers, raw_body=raw,
                                          content_type=ctype)
        t1 = time.time()
        shown = raw if raw is not None else (
            json.dumps(body) if body is not None else None)
        if isinstance(shown, (bytes, str)):
            shown = shown[:300]
        shown_h = {k: v for k, v in h.items()
                   if k in ("etag", "location", "retry-after", "content-type")}
        ctx = {"req": "%s %s hdrs=%s body=%s tok=%s" % (
                   method, path, headers or {}, shown, self.tok_name(tok)),
               "ans": "%d %s %s" % (st, shown_h, rawb[:400])}
        self.stat("http %s %d" % (path.split("?")[0].split("/bk_")[0], st))
        return st, h, js, rawb, ctx, t0, t1

    def all_items(self, host, ctx_what):
        """Every notification of host, newest first, by cursor walk."""
        items, cur = [], None
        while True:
            st, h, js, rawb, ctx, *_ = self.call(
                "GET", "/notifications/list?limit=100" +
                ("&cursor=" + cur if cur else ""), tok=self.t(host, "host"))
            if st != 200:
                self.fail("%s: list %d" % (ctx_what, st), ctx)
                return items
            items += js["items"]
            cur = js["nextCursor"]
            if not cur:
                return items

    def check_count_agrees(self, host, items, ctx_what):
        """count == unread items of the list, latestId == their highest id."""
        st, h, js, rawb, ctx, *_ = self.call("GET", "/notifications/count",
                                             tok=self.t(host, "host"))
        unread = sum(1 for it in items if it["readAt"] is None)
        latest = max((it["id"] for it in items), default=0)
        if js != {"unread": unread, "latestId": latest}:
            self.fail("%s: %s count %r vs list unread %d, max id %d" % (
                ctx_what, host, js, unread, latest), ctx)

    # -- common checks
    def expect_error(self, st, h, js, ctx, status, field=None, field_any=False):
        """An answer of status in the error shape naming field (any field
        with field_any), with the headers §1 and decisions.md ask."""
        if st != status:
            self.fail("expected %d, got %d" % (status, st), ctx)
            return False
        if not isinstance(js, dict) or set(js) != {"error"} \
                or not isinstance(js["error"], dict):
            self.fail("error body not in the error shape", ctx)
            return False
        e = js["error"]
        if not ({"code", "message"} <= set(e) <= {"code", "message", "field"}):
            self.fail("error object keys %s" % sorted(e), ctx)
        if e.get("code") != CODE_OF[status]:
            self.fail("error code %r for %d" % (e.get("code"), status), ctx)
        if not isinstance(e.get("message"), str) or not e.get("message"):
            self.fail("error message missing/empty", ctx)
        if not field_any and e.get("field") != field:
            self.fail("error field %r, model expects %r" % (e.get("field"), field), ctx)
        if status == 401 and "www-authenticate" not in h:
            self.fail("401 without WWW-Authenticate (decisions.md)", ctx)
        if status in (429, 503) and "retry-after" not in h:
            self.fail("%d without Retry-After" % status, ctx)
        if not h.get("content-type", "").startswith("application/json"):
            self.fail("error content-type %r" % h.get("content-type"), ctx)
        return True

    def check_ts(self, s, win, what, ctx):
        """s is RFC 3339 UTC with milliseconds; with --timing also within a
        second of win, the (send, receive) times of the request that set it."""
        if not isinstance(s, str) or not TS_RE.match(s):
            self.fail("%s %r not RFC3339 UTC with ms" % (what, s), ctx)
        elif self.args.timing and not (win[0] - 1.0 <= parse_ts(s) <= win[1] + 1.0):
            self.fail("%s %s outside the request window [%.3f, %.3f]" % (
                what, s, win[0], win[1]), ctx)

    def compare_notif(self, got, n, ctx):
        """Compares one notification object with the model; the first sight
        of createdAt and readAt pins them."""
        if not isinstance(got, dict):
            self.fail("notification is not an object", ctx)
            return
        if set(got) != set(NOTIF_KEYS):
            self.fail("notification %d keys %s" % (n.id, sorted(got)), ctx)
        if n.created is None:
            self.check_ts(got.get("createdAt"), n.created_win,
                          "createdAt of %d" % n.id, ctx)
            n.created = got.get("createdAt")
        if n.read and n.read_at is None:
            self.check_ts(got.get("readAt"), n.read_win, "readAt of %d" % n.id, ctx)
            n.read_at = got.get("readAt")
        exp = n.as_json()
        for k in NOTIF_KEYS:
            if got.get(k) != exp[k]:
                self.fail("notification %d field %s: got %r, model %r" % (
                    n.id, k, got.get(k), exp[k]), ctx)
