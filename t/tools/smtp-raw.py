#!/usr/bin/python3
"""smtp-raw.py CAPTURE — an SMTP server for one session on stdin and stdout
(run it under tcpserver) that accepts every message and appends each octet
the client sends to the file CAPTURE, as it came: the tests look at the line
ends on the wire.  Lines end at LF; the data ends at a line that is exactly
".\r\n", as RFC 5321 says."""
import sys

cap = open(sys.argv[1], "ab", buffering=0)
inp, out = sys.stdin.buffer, sys.stdout.buffer


def reply(*lines):
    for i, l in enumerate(lines):
        sep = b" " if i == len(lines) - 1 else b"-"
        out.write(l[:3] + sep + l[4:] + b"\r\n")
    out.flush()


def line():
    l = inp.readline()
    cap.write(l)
    return l


reply(b"220 raw.test ESMTP")
while True:
    l = line()
    if not l:
        break
    verb = l[:4].upper()
    if verb == b"EHLO":
        reply(b"250 raw.test", b"250 8BITMIME", b"250 SIZE 100000000")
    elif verb == b"DATA":
        reply(b"354 go ahead")
        while True:
            d = line()
            if not d or d == b".\r\n":
                break
        reply(b"250 2.0.0 taken")
    elif verb == b"QUIT":
        reply(b"221 2.0.0 bye")
        break
    else:
        reply(b"250 2.0.0 ok")
