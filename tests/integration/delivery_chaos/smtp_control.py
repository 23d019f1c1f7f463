"""SMTP outages: the sink (smtp_sink.py, a real SMTP server) is stopped for
2-6 s every 20-40 s, so the mailer's retries and the at-least-once rule
are exercised. Each outage is noted; the verdict allows a duplicate email
across one (a message the sink kept while its answer was cut off)."""

import random
import time


def outages(sink, rec, stop_flag, seed):
    rnd = random.Random("smtp-%d" % seed)
    while not stop_flag.wait(rnd.uniform(20, 40)):
        t = time.time()
        sink.stop()
        stop_flag.wait(rnd.uniform(2, 6))
        sink.start()
        rec.add("notes", dict(kind="smtp_outage", t=round(t - rec.T0, 3),
                              until=round(time.time() - rec.T0, 3)))
