#!/usr/bin/python3
"""A holder of sluice-smtp's connection cache written from its protocol
(libexec/smtp/smtp_cache.c), not from its code: for the tests of what a
worker accepts from a socket in spool/smtp/cache/.

    cache-holder.py SOCKET-PATH UID SERVER-PORT

Listens on SOCKET-PATH, as UID from listen() on (the credentials a worker
sees through SO_PEERCRED), serves one request: opens a session with the
SMTP server on 127.0.0.1:SERVER-PORT (greeting, EHLO) and hands it over
with SCM_RIGHTS, echoing the key asked for.  Prints "ready" once listening.
"""
import os, socket, sys

path, uid, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lst.bind(path)
if uid != os.geteuid():
    os.setgid(uid)
    os.setuid(uid)
lst.listen(1)
print("ready", flush=True)
s, _ = lst.accept()
req = s.recv(4096).decode()
if not req.startswith("TAKE ") or not req.endswith("\n"):
    sys.exit(0)
key = req[5:-1]
c = socket.create_connection(("127.0.0.1", port))
f = c.makefile("rb")
f.readline()
c.sendall(b"EHLO holder.test\r\n")
while not f.readline().startswith(b"250 "):
    pass
state = "%s\tmx.test\t127.0.0.1\t%d\t%d\t0\t1 1 1 0 0\t10000000\n" % (
    key, port, int(__import__("time").time()))
socket.send_fds(s, [state.encode()], [c.fileno()])
s.close()
