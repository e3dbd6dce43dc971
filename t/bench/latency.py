#!/usr/bin/python3
"""t/bench/latency.py — time from the end of DATA to the Maildir, per message.

    latency.py HOST PORT COUNT RCPT MAILDIR [WAIT_S]

Sends COUNT messages of 5 KB to RCPT, one after another over one SMTP
session (Python's smtplib), each with a Message-ID of its own, and notes
the time the client got the 250 that ends its DATA.  Then waits (up to
WAIT_S seconds, default 60) until MAILDIR/new holds all of them and takes
each file's ctime, which link() or rename() into new/ sets: the moment
the message arrived.  Prints "delivered median_ms p99_ms" (p99: the
value below which 99 % of the latencies lie, nearest rank).  The kernel's
file times tick at the scheduler's clock (1-4 ms), so figures below that
are rounding.
"""
import math
import os
import re
import smtplib
import sys
import time

host, port, count, rcpt, maildir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
wait_s = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0
tag = "%d.%d" % (os.getpid(), int(time.time()))
line = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklm\r\n"
body = line * 66

acked = {}
s = smtplib.SMTP(host, port, timeout=60)
s.ehlo("latency.example.test")
for i in range(count):
    mid = "<%d.%s@latency.example.test>" % (i, tag)
    msg = ("From: <bench@example.test>\r\nTo: <%s>\r\nSubject: latency %d\r\n"
           "Message-ID: %s\r\n\r\n%s" % (rcpt, i, mid, body))
    s.sendmail("bench@example.test", [rcpt], msg)
    acked[mid] = time.time_ns()
s.quit()

new = os.path.join(maildir, "new")
found = {}
idre = re.compile(rb"^Message-ID: (<[^>]*>)", re.M | re.I)
deadline = time.time() + wait_s
while len(found) < count and time.time() < deadline:
    try:
        names = os.listdir(new)
    except FileNotFoundError:
        names = []
    for n in names:
        if n in found:
            continue
        p = os.path.join(new, n)
        try:
            st = os.stat(p)
            with open(p, "rb") as f:
                m = idre.search(f.read(8192))
        except FileNotFoundError:
            continue
        if m and m.group(1).decode() in acked:
            found[n] = st.st_ctime_ns - acked[m.group(1).decode()]
    time.sleep(0.02)

lat = sorted(v / 1e6 for v in found.values())
if not lat:
    print("0 - -")
    sys.exit(1)


def rank(p):
    return lat[max(0, math.ceil(p / 100 * len(lat)) - 1)]


print("%d %.1f %.1f" % (len(lat), rank(50), rank(99)))
