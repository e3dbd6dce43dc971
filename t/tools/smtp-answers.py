#!/usr/bin/python3
"""smtp-answers.py PORT [RULE...] — an SMTP server on 127.0.0.1:PORT that
answers as the rules say, for the client tests of sluice-smtp.

A rule is VERB:MATCH=REPLY: a command VERB (RCPT, MAIL, EHLO, ...; END for
the end of data) whose line contains MATCH (empty: any) is answered REPLY,
whose lines are separated by "|" and sent as they are.  The first rule
that matches wins; otherwise: 220 greeting, EHLO 250 with PIPELINING, 354
to DATA, 250 to the end of data and to anything else, 221 to QUIT.
"""
import socketserver
import sys

port = int(sys.argv[1])
rules = []
for r in sys.argv[2:]:
    head, reply = r.split("=", 1)
    verb, match = head.split(":", 1)
    rules.append((verb.upper(), match, reply.split("|")))
DEFAULT = {"EHLO": ["250-answers.test", "250 PIPELINING"],
           "HELO": ["250 answers.test"], "DATA": ["354 go"],
           "QUIT": ["221 bye"]}


def answer(verb, line):
    for v, match, reply in rules:
        if v == verb and match in line:
            return reply
    return DEFAULT.get(verb, ["250 2.0.0 ok"])


class S(socketserver.StreamRequestHandler):
    def send(self, lines):
        self.wfile.write("".join(l + "\r\n" for l in lines).encode())
        self.wfile.flush()

    def handle(self):
        self.send(["220 answers.test ESMTP"])
        while True:
            l = self.rfile.readline()
            if not l:
                return
            c = l.decode("utf-8", "replace").rstrip("\r\n")
            v = c.split(" ")[0].upper()
            self.send(answer(v, c))
            if v == "DATA" and answer(v, c)[-1].startswith("354"):
                while self.rfile.readline().rstrip(b"\r\n") != b".":
                    pass
                self.send(answer("END", ""))
            elif v == "QUIT":
                return


class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


T(("127.0.0.1", port), S).serve_forever()
