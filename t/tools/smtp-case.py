#!/usr/bin/python3
"""t/tools/smtp-case.py PORT CASEFILE — play one SMTP conformance case.

A case is a small plain file: what the client sends, then what the server
must answer, in order.  Lines:

  # text            a comment; the first comment lines say what the case proves
  #! split          run the case again with every group of client data split
                    into two TCP segments at each octet (pipelining)
  #! server NAME    which server of the battery to talk to (default: main)
  C: text           send text and CRLF
  R: text           send text as it is, with escapes \\r \\n \\0 \\t \\\\ \\xHH
  S: prefix         read one whole reply (all its lines); its last line must
                    begin with prefix (e.g. "250", "250 2.1.5", "554 5.6.0")
  D: seconds text   send text and CRLF one octet at a time, seconds apart,
                    stopping quietly if the server closes meanwhile
  W: seconds        wait
  E: close          the server closes the connection (after any replies)
  L: n              the next reply must have at least n lines

Client data is sent when the next S:, W: or E: line is reached, as one
group (one write), so consecutive C: lines are a pipelined group.  The
first S: (before any C:) is the greeting.

Prints "ok" or "FAIL: why" (one line per split run that fails) and exits
0 or 1.
"""
import re
import socket
import sys
import time

TIMEOUT = 30


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "0": b"\0", "t": b"\t",
                    "\\": b"\\"}.get(n, ("\\" + n).encode("latin-1"))
            i += 2
            continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


def parse(path):
    steps, split, server = [], False, "main"
    for no, raw in enumerate(open(path, encoding="latin-1"), 1):
        line = raw.rstrip("\n")
        if line.startswith("#! split"):
            split = True
            continue
        if line.startswith("#! server "):
            server = line.split()[2]
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([CRSDWEL]): ?(.*)$", line)
        if not m:
            raise SystemExit("%s:%d: not a case line: %r" % (path, no, line))
        steps.append((m.group(1), m.group(2), no))
    return steps, split, server


class Session:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data, cut):
        if cut is not None and 0 < cut < len(data):
            self.s.sendall(data[:cut])
            time.sleep(0.003)
            self.s.sendall(data[cut:])
        else:
            self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed; unread %r" % self.buf[:200])
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("latin-1")

    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return lines

    def closed(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (socket.timeout, ConnectionResetError):
            return False


def play(port, steps, cut):
    """None when the case holds, else why not."""
    s = Session(port)
    pending = b""
    minlines = 0
    try:
        for kind, arg, no in steps:
            if kind in "SWE" and pending:
                s.send(pending, cut)
                pending = b""
            if kind == "C":
                pending += arg.encode("latin-1") + b"\r\n"
            elif kind == "R":
                pending += unescape(arg)
            elif kind == "L":
                minlines = int(arg)
            elif kind == "S":
                r = s.reply()
                if not r[-1].startswith(arg):
                    return "line %d: expected %r, got %r" % (no, arg, r)
                if len(r) < minlines:
                    return "line %d: expected %d lines, got %r" % (no, minlines, r)
                minlines = 0
            elif kind == "W":
                time.sleep(float(arg))
            elif kind == "D":
                secs, text = arg.split(" ", 1)
                for b in text.encode("latin-1") + b"\r\n":
                    try:
                        s.s.sendall(bytes([b]))
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    time.sleep(float(secs))
            elif kind == "E":
                if not s.closed():
                    return "line %d: the server did not close the connection" % no
        return None
    except (EOFError, socket.timeout, ConnectionResetError, BrokenPipeError) as e:
        return "line %d: %s" % (no, e)
    finally:
        s.s.close()


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    steps, split, _ = parse(path)
    groups = []
    pending = 0
    for kind, arg, _ in steps:
        if kind == "C":
            pending += len(arg) + 2
        elif kind == "R":
            pending += len(unescape(arg))
        elif kind in "SWE":
            if pending:
                groups.append(pending)
            pending = 0
    cuts = [None]
    if split:
        cuts += list(range(1, max(groups + [1])))
    bad = 0
    for cut in cuts:
        why = play(port, steps, cut)
        if why:
            print("FAIL: %s%s" % (why, "" if cut is None else " (split at %d)" % cut))
            bad += 1
    if not bad:
        print("ok %d run%s" % (len(cuts), "" if len(cuts) == 1 else "s"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
