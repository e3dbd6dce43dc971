#!/usr/bin/python3
"""t/tools/flaky-sink.py — a remote SMTP server that fails a tenth of the time.

    flaky-sink.py ADDR PORT RECORD [--fail RATIO] [--seed N]

Speaks ESMTP (PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES) to any number
of clients at once (a thread each) and fails about RATIO (default 0.10) of
the transactions it is offered, in every way a real peer does:

    RCPT    451 4.3.0 (40 % of the failures), 550 5.1.1 (10 %)
    DATA    end of data: 451 4.3.0 (30 %), 550 5.7.1 (10 %)
    drop    the connection closed after the end of data, no reply (10 %)

A message is recorded only when it is answered 250 after its data, before
that reply is sent: one line "QID<TAB>MESSAGE-ID<TAB>RCPT,RCPT..." in RECORD,
where QID is the queue id of the first Received: field that sluice wrote
("with ESMTP id QID"), so a duplicate delivery shows as two lines.

SIGUSR1 makes it calm: from then on every transaction is accepted (to drain
a queue at the end of a soak).  SIGTERM stops it.
"""
import random
import re
import signal
import socket
import socketserver
import sys
import threading

addr, port, record = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ratio = 0.10
seed = None
args = sys.argv[4:]
while args:
    if args[0] == "--fail":
        ratio = float(args[1])
    elif args[0] == "--seed":
        seed = int(args[1])
    else:
        sys.exit("usage: flaky-sink.py ADDR PORT RECORD [--fail RATIO] [--seed N]")
    args = args[2:]

rnd = random.Random(seed)
lock = threading.Lock()
calm = threading.Event()
out = open(record, "a", buffering=1)
QID = re.compile(rb"\bwith E?SMTP id ([0-9a-f]+)")
MID = re.compile(rb"^message-id:\s*(.*?)\s*$", re.I | re.M)


def fails(p):
    """True with probability p of the failure ratio, unless calm."""
    if calm.is_set():
        return False
    with lock:
        return rnd.random() < ratio * p


class Session(socketserver.StreamRequestHandler):
    timeout = 120

    def say(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.say("220 sink.remote.test ESMTP flaky")
        rcpts = None
        while True:
            line = self.rfile.readline(4096)
            if not line.endswith(b"\n"):
                return
            cmd = line.strip().decode("latin-1")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.say("250-sink.remote.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                         "250-SIZE 100000000\r\n250 ENHANCEDSTATUSCODES")
            elif verb == "MAIL":
                rcpts = []
                self.say("250 2.1.0 Ok")
            elif verb == "RCPT" and rcpts is not None:
                m = re.search(r"<([^>]*)>", cmd)
                if fails(0.4):
                    self.say("451 4.3.0 try again later")
                elif fails(0.1):
                    self.say("550 5.1.1 no such user here")
                else:
                    rcpts.append(m.group(1) if m else "?")
                    self.say("250 2.1.5 Ok")
            elif verb == "DATA" and rcpts:
                self.say("354 go ahead")
                if not self.data(rcpts):
                    return
                rcpts = None
            elif verb == "DATA":
                self.say("554 5.5.1 no valid recipients")
            elif verb == "RSET":
                rcpts = None
                self.say("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.say("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.say("221 2.0.0 Bye")
                return
            else:
                self.say("502 5.5.2 not here")

    def data(self, rcpts):
        """Read the data; answer it.  False when the connection is to end."""
        lines = []
        while True:
            l = self.rfile.readline(1 << 20)
            if not l.endswith(b"\n"):
                return False
            if l in (b".\r\n", b".\n"):
                break
            lines.append(l[1:] if l.startswith(b".") else l)
        if fails(0.1):
            return False                # dropped after the dot: not taken
        if fails(0.3):
            self.say("451 4.3.0 queue trouble, try later")
            return True
        if fails(0.1):
            self.say("550 5.7.1 content refused")
            return True
        msg = b"".join(lines)
        head = msg.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        q = QID.search(head)
        m = MID.search(head)
        with lock:
            out.write("%s\t%s\t%s\n" % (q.group(1).decode() if q else "-",
                                        m.group(1).decode("latin-1") if m else "-",
                                        ",".join(rcpts)))
        self.say("250 2.0.0 Ok: taken")
        return True


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 100


signal.signal(signal.SIGUSR1, lambda *a: calm.set())
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
srv = Server((addr, port), Session)
try:
    srv.serve_forever()
except SystemExit:
    pass
