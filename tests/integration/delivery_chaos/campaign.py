"""One campaign, in order: the SMTP sink and the server, email preferences,
the chaos (devices, load, SMTP outages, restarts) for --duration seconds,
a settle for pending emails, a last catch-up session of every device, then
the store, the audit log and the mails collected into the recorder."""

import itertools
import os
import threading
import time
import urllib.parse

from harness import token
from smtp_sink import SmtpSink

from . import config, load, smtp_control
from .devices import Device, Zombies
from .recorder import Recorder
from .server_control import ServerControl

ADMIN = token("chaos-admin", "admin", exp_in=36000)
FINAL_TRIES = 30


def _server_args(args, sink):
    return ["--ws-ttl-ms", str(args.ttl_ms), "--ack-timeout-ms",
            str(args.ack_ms), "--smtp-url", sink.url, "--smtp-from",
            "bellhop@chaos.test", "--host-idle-ms", str(args.idle_ms),
            "--log-level", "info"] + args.extra.split()


def _threads(ctl, rec, sink, devices, zombies, hosts, args, stop_flag):
    counter = itertools.count(1)
    jobs = [(d.run, (stop_flag,)) for d in devices]
    jobs += [(load.booker, (ctl, rec, hosts, stop_flag, i, args, counter))
             for i in range(config.BOOKERS)]
    jobs += [(load.reader, (ctl, rec, h, stop_flag, args.seed))
             for h in hosts if h in config.READERS]
    jobs += [(load.poller, (ctl, rec, h, stop_flag, args.seed))
             for h in hosts]
    jobs += [(zombies.reap, (stop_flag,)),
             (smtp_control.outages, (sink, rec, stop_flag, args.seed))]
    if not args.no_restarts:
        jobs.append((ctl.restarter, (stop_flag, args.restart_every,
                                     args.seed)))
    return [threading.Thread(target=f, args=a, daemon=True) for f, a in jobs]


def _final_catch_up(device):
    """Connects until the device has everything up to hello's latestId."""
    for _ in range(FINAL_TRIES):
        r = device.session(threading.Event(), final=True)
        if r["hello"] is None:
            time.sleep(0.3)
        elif (device.last or 0) >= (r["hello"]["latestId"] or 0):
            return


def _pages(ctl, first, tok, items_of, next_of):
    """Follows a paginated GET to its end."""
    items, path = [], first
    while path:
        st, _, js, raw = ctl.http("GET", path, tok=tok)
        assert st == 200, (path, st, raw[:300])
        items += items_of(js)
        path = next_of(js, path)
    return items


def _collect(ctl, rec, hosts):
    for h in hosts:
        tok = token(h, "host", exp_in=3600)
        rec.store[h] = _pages(
            ctl, "/notifications/list?after=0&limit=100", tok,
            lambda js: js["items"],
            lambda js, p: None if not js["items"] or js["nextCursor"] is None
            else "/notifications/list?after=%d&limit=100" % js["items"][-1]["id"])
        base = "/admin/audit?hostId=%s&limit=100" % h
        rec.audit[h] = _pages(
            ctl, base, ADMIN, lambda js: js["items"],
            lambda js, p: js.get("nextCursor") and
            base + "&cursor=" + urllib.parse.quote(js["nextCursor"]))


def run(args, run_dir):
    """Runs the campaign; returns the Recorder (also saved in run_dir)."""
    os.makedirs(os.path.join(run_dir, "data"), exist_ok=True)
    rec = Recorder(args)
    hosts = config.hosts(args.hosts)
    sink = SmtpSink().start()
    ctl = ServerControl(rec, run_dir, _server_args(args, sink))
    ctl.start()
    try:
        for h in hosts:
            if h in config.EMAIL:
                st, _, _, raw = ctl.http("PUT", "/preferences?hostId=" + h,
                                         config.preferences(h), tok=ADMIN)
                assert st == 200, (st, raw)
        zombies = Zombies(rec.lock)
        devices = [Device(ctl, rec, zombies, h, i, args,
                          h in config.SIO_HOSTS, h in config.EMAIL)
                   for h in hosts for i in range(config.DEVICES_PER_HOST)]
        stop_flag = threading.Event()
        threads = _threads(ctl, rec, sink, devices, zombies, hosts, args,
                           stop_flag)
        for t in threads:
            t.start()
        print("chaos for %ss in %s" % (args.duration, run_dir), flush=True)
        time.sleep(args.duration)
        rec.T_STOP = time.time()
        stop_flag.set()
        for t in threads:
            t.join(120)
        ctl.up.wait(60)
        time.sleep(config.SETTLE_S)   # every email due by now goes out
        rec.T_SETTLED = time.time()
        finals = [threading.Thread(target=_final_catch_up, args=(d,))
                  for d in devices]
        for t in finals:
            t.start()
        for t in finals:
            t.join()
        _collect(ctl, rec, hosts)
        rec.mails = [dict(at=m.at, to=m.rcpt_tos, subject=m.header("Subject"),
                          mid=m.message_id, text=m.text())
                     for m in list(sink.messages)]
    finally:
        rec.final_rc = ctl.stop("term")
        sink.stop()
        rec.save(run_dir)
    return rec
