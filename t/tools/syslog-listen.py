#!/usr/bin/python3
"""syslog-listen.py SOCKET OUT — a stand-in for syslogd in tests.

Binds a unix datagram socket at SOCKET (mode 0666, so that a program
running as another user can log to it, as to /dev/log), and appends each
message it receives to OUT as one line, the trailing NUL or newline
removed, flushed at once.  Runs until it is killed.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        m = s.recv(65536)
        f.write(m.rstrip(b"\0\n") + b"\n")
