"""An end-to-end chaos check of bellhop's delivery promise
(test_delivery_chaos.py; API.md §4-§8).

One concern a file. The campaign: config.py (options, the hosts and their
email preferences, the slack of each timing-sensitive rule), recorder.py
(everything observed, saved as records.json), server_control.py (the server,
its SIGTERM / kill -9 restarts, one HTTP client per thread),
smtp_control.py (SMTP outages on the sink), protocols.py (/ws and Socket.IO
framing), devices.py (devices that connect, ack and vanish), load.py
(bookings, mark-reads, count polls), campaign.py (the order it all runs in
and the final collection). The verdict: verdict.py (indexes of the records,
findings, the report) and the rule groups rules_store.py, rules_sockets.py,
rules_live.py, rules_reads.py, rules_email.py, rules_counts.py.
"""
