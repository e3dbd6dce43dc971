#!/usr/bin/python3
# t/bench/connrate.py — SMTP connections per second: each connection reads the
# greeting, sends QUIT, reads its reply and closes.  Used by t/bench/run.sh.
#
#   connrate.py HOST PORT CONNECTIONS CONCURRENCY
# prints "RATE OK FAILED" (connections per second over the whole run; how
# many saw 220 then 221; how many did not).
import socket
import sys
import threading
import time

host, port, total, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock()
left = [total]
good = [0]
bad = [0]


def one():
    s = socket.create_connection((host, port), timeout=30)
    f = s.makefile("rb")
    greeting = f.readline()
    s.sendall(b"QUIT\r\n")
    bye = f.readline()
    s.close()
    return greeting.startswith(b"220") and bye.startswith(b"221")


def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        try:
            r = one()
        except OSError:
            r = False
        with lock:
            if r:
                good[0] += 1
            else:
                bad[0] += 1


t0 = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("%.0f %d %d" % (total / (time.monotonic() - t0), good[0], bad[0]))
