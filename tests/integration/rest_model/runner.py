"""The Tester, put together from the mixins, and the order it runs in: the
random sequence (with restarts and periodic full comparisons), then the
concurrent, race, crash and (with --timing) rate-limit phases."""

import time

from .bodies import Bodies
from .checker import Checker, Divergence
from .concurrent import ConcurrentPhase
from .crash import CrashPhase
from .durability import Durability
from .limits import LimitsPhase
from .live import LiveSockets
from .ops_bookings import BookingOps
from .ops_mark_read import MarkReadOps
from .ops_notifications import NotificationOps
from .ops_reads import ReadOps
from .races import Races

FULL_CHECK_EVERY = 500


class Tester(Checker, Bodies, LiveSockets, BookingOps, NotificationOps, ReadOps,
             MarkReadOps, Durability, ConcurrentPhase, Races, CrashPhase, LimitsPhase):
    def __init__(self, args, seed):
        self.ws, self.ws_exp = {}, {}
        self.walks = []          # cursor walks in progress
        self.etags = {}          # (host, category) -> last ETag seen
        self.seq_keys = 0
        self.failed_keys = []    # keys whose first use failed (not remembered)
        super().__init__(args, seed)

    def operations(self):
        """The sequence's operations, each as often as its weight."""
        weighted = [(self.op_booking, 25), (self.op_booking_bad_request, 3),
                    (self.op_get_booking, 7), (self.op_post_notification, 15),
                    (self.op_count, 12), (self.op_list, 10), (self.op_walk_step, 12),
                    (self.op_list_bad, 4), (self.op_mark_read, 10),
                    (self.op_mark_read_bad, 3)]
        return [f for f, w in weighted for _ in range(w)]

    def sequence(self):
        r, a = self.rng, self.args
        ops = self.operations()
        restart_at = {r.randint(a.ops // 10, a.ops - 1) for _ in range(a.restarts)}
        self.ws_open()
        for i in range(a.ops):
            if i in restart_at:
                self.restart(hard=r.random() < 0.5)
            if i and i % FULL_CHECK_EVERY == 0:
                self.full_check("periodic")
            f = r.choice(ops)
            if a.pause and r.random() < a.pause:
                time.sleep(0.02)   # lets host actors retire with a small --host-idle-ms
            f()
            if self.server.proc.poll() is not None:
                self.fail("server process died", {"req": f.__name__,
                                                  "ans": self.server.stderr_text()[-2000:]})
        self.full_check("end of sequence")
        time.sleep(0.3)
        for host in list(self.ws):   # no frame the model does not expect came late
            self.ws_check(host)

    def run(self):
        """Runs everything the options ask for; returns the exit status."""
        a = self.args
        t0 = time.monotonic()
        try:
            self.sequence()
            if a.concurrent:
                self.concurrent_phase(a.threads, a.conc_ops)
                self.restart(hard=True)
                self.cross_host_key_race()
            if a.retire_race:
                self.retire_race_phase()
            for i in range(a.crashes):
                self.crash_phase(hard=(i % 2 == 0))
            if a.timing:
                self.ws_close()
                self.client.close()
                self.server.stop()
                self.limits_phase()
        except Divergence:
            pass
        finally:
            self.ws_close()
            self.client.close()
            self.server.cleanup()
        print("--- seed %d, %d ops, %.1f s, %d restarts" % (
            self.seed, a.ops, time.monotonic() - t0, self.restarts))
        if a.verbose:
            for k in sorted(self.stats):
                print("  %-40s %d" % (k, self.stats[k]))
        print("divergences: %d" % len(self.divergences), flush=True)
        return 1 if self.divergences else 0
