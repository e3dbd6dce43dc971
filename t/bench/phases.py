#!/usr/bin/env python3
"""t/bench/phases.py PORT N [reuse] — where a session's time goes.

Ten threads send N messages of 5 KB to 127.0.0.1:PORT (test@example.test),
a new connection per message, or with "reuse" one connection per thread,
and time each step from the client's side: connection and greeting, EHLO,
MAIL, RCPT, DATA (to the 354), the message (to the 250), QUIT.  Prints
the rate, then per step the median, 90th percentile and mean in ms.
Point it at make run's sluice or t/tools/postfix.sh's Postfix, one at a
time on an otherwise idle machine; the client takes CPU too, the same for
both.
"""
import socket
import statistics
import sys
import threading
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
reuse = len(sys.argv) > 3 and sys.argv[3] == "reuse"
body = ("Subject: t\r\n\r\n" + ("x" * 78 + "\r\n") * 64).encode()
steps = ("connect+banner", "ehlo", "mail", "rcpt", "data", "body->250", "quit")
times = {k: [] for k in steps}
lock = threading.Lock()
left = [n]


def reply(f):
    """The last line of a reply."""
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        if line[3:4] != b"-":
            return line


def worker():
    s = f = None
    while True:
        with lock:
            if left[0] == 0:
                break
            left[0] -= 1
        t = {}

        def step(name, data=None):
            t0 = time.perf_counter()
            if data is not None:
                s.sendall(data)
            r = reply(f)
            t[name] = time.perf_counter() - t0
            return r

        if s is None:
            t0 = time.perf_counter()
            s = socket.create_connection(("127.0.0.1", port))
            f = s.makefile("rb")
            reply(f)
            t["connect+banner"] = time.perf_counter() - t0
            step("ehlo", b"EHLO client.test\r\n")
        step("mail", b"MAIL FROM:<a@client.test>\r\n")
        step("rcpt", b"RCPT TO:<test@example.test>\r\n")
        step("data", b"DATA\r\n")
        r = step("body->250", body + b".\r\n")
        if not r.startswith(b"250"):
            raise RuntimeError("not accepted: %r" % r)
        if not reuse:
            step("quit", b"QUIT\r\n")
            s.close()
            s = None
        with lock:
            for k, v in t.items():
                times[k].append(v * 1000)
    if s:
        s.sendall(b"QUIT\r\n")
        s.close()


threads = [threading.Thread(target=worker) for _ in range(10)]
start = time.perf_counter()
for x in threads:
    x.start()
for x in threads:
    x.join()
print("msg/s %.0f" % (n / (time.perf_counter() - start)))
for k in steps:
    v = sorted(times[k])
    if v:
        print("%-15s median %6.2f  p90 %6.2f  mean %6.2f" %
              (k, statistics.median(v), v[int(len(v) * .9)], statistics.mean(v)))
