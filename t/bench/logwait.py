#!/usr/bin/python3
"""t/bench/logwait.py — wait until a growing log has COUNT lines ending in SUFFIX.

    logwait.py LOG OFFSET SUFFIX COUNT LIMIT_S IDLE_S

Reads LOG from byte OFFSET on, only what is new at each look (every 20 ms),
so that waiting costs next to nothing however long the log grows.  Stops
when COUNT matching lines have been seen, after LIMIT_S seconds, or when
IDLE_S seconds pass without a new match.  Prints "matches time_ns", the
time (CLOCK_REALTIME, as `date +%s%N`) at which the last match was seen.
Exit 0 when COUNT was reached, 1 otherwise.  t/bench/run.sh uses it to see
Postfix's queue empty (qmgr logs "QID: removed" for every message it is
done with) without scanning the queue folders while it works.
"""
import sys
import time


def main():
    if len(sys.argv) != 7:
        sys.exit("usage: logwait.py LOG OFFSET SUFFIX COUNT LIMIT_S IDLE_S")
    path, off = sys.argv[1], int(sys.argv[2])
    suffix = sys.argv[3].encode()
    want, limit, idle = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    n, rest = 0, b""
    start = last = time.time()
    last_ns = time.time_ns()
    with open(path, "rb") as f:
        f.seek(off)
        while True:
            chunk = f.read()
            if chunk:
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                found = sum(1 for l in lines if l.endswith(suffix))
                if found:
                    n += found
                    last = time.time()
                    last_ns = time.time_ns()
            if n >= want:
                break
            now = time.time()
            if now - start > limit or now - last > idle:
                break
            time.sleep(0.02)
    print(n, last_ns)
    sys.exit(0 if n >= want else 1)


if __name__ == "__main__":
    main()
