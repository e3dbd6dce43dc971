#!/usr/bin/python3
"""t/bench/tlssess.py PORT MODE N [WORKERS] — make N SMTP sessions to
127.0.0.1:PORT with WORKERS clients at once (default 4), each session
greeting, EHLO, QUIT, and no message:

  plain     in clear
  starttls  EHLO, STARTTLS, the handshake, EHLO again, QUIT
  smtps     the handshake first (implicit TLS), then the same as plain

Prints "SESSIONS_PER_S SERVER_MS FAILED": the rate, the CPU time the
rest of the machine (the server) spent per session, which is the
machine's busy time from /proc/stat less this client's own, and the
sessions that failed.  The client's certificate checks are off (no CA
file to read per session); TLS 1.3 as both sides prefer.
"""
import multiprocessing
import os
import resource
import socket
import ssl
import sys
import time


def busy_seconds():
    """CPU time all CPUs spent not idle, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def reply(f):
    while True:
        line = f.readline()
        if not line:
            raise EOFError("closed")
        if len(line) < 4 or line[3:4] != b"-":
            return line


def session(port, mode, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        if mode == "smtps":
            s = ctx.wrap_socket(s, server_hostname="localhost")
        f = s.makefile("rb")
        reply(f)
        s.sendall(b"EHLO bench.example\r\n")
        reply(f)
        if mode == "starttls":
            s.sendall(b"STARTTLS\r\n")
            if not reply(f).startswith(b"220"):
                raise OSError("STARTTLS refused")
            f.close()
            s = ctx.wrap_socket(s, server_hostname="localhost")
            f = s.makefile("rb")
            s.sendall(b"EHLO bench.example\r\n")
            reply(f)
        s.sendall(b"QUIT\r\n")
        reply(f)
        f.close()
    finally:
        s.close()


def worker(port, mode, n, failed):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    bad = 0
    for _ in range(n):
        try:
            session(port, mode, ctx)
        except (OSError, EOFError):
            bad += 1
    with failed.get_lock():
        failed.value += bad


def main():
    port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    failed = multiprocessing.Value("i", 0)
    per = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    procs = [multiprocessing.Process(target=worker, args=(port, mode, k, failed))
             for k in per]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    b0, t0 = busy_seconds(), time.monotonic()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    b1, t1 = busy_seconds(), time.monotonic()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    me1 = resource.getrusage(resource.RUSAGE_SELF)
    client = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime +
              me1.ru_utime - me0.ru_utime + me1.ru_stime - me0.ru_stime)
    server_ms = max(0.0, (b1 - b0) - client) * 1000 / n
    print("%.0f %.2f %d" % (n / (t1 - t0), server_ms, failed.value))


if __name__ == "__main__":
    main()
