#!/bin/bash
# A multi-line reply whose lines disagree on the code (RFC 5321 4.2.1: every
# line has the same one) is malformed: the connection breaks and the
# recipients are deferred, never taken as the last line's 250 with the first
# line's 5.1.1 (as the reply reader did until the smtp fuzz target found it).
# The peer is a small Python SMTP server that answers RCPT for mixed@ so,
# and for anyone else with an ordinary 250.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

cat > "$tmpdir/mixed.py" <<'PY'
import socketserver, sys
port = int(sys.argv[1])
class S(socketserver.StreamRequestHandler):
    def send(self, s):
        self.wfile.write((s + "\r\n").encode()); self.wfile.flush()
    def handle(self):
        self.send("220 mixed.test ESMTP")
        while True:
            l = self.rfile.readline()
            if not l:
                return
            c = l.decode("utf-8", "replace").rstrip("\r\n")
            v = c.split(" ")[0].upper()
            if v in ("EHLO", "HELO"):
                self.send("250-mixed.test"); self.send("250 ENHANCEDSTATUSCODES")
            elif v == "RCPT" and "<mixed@" in c:
                self.send("550-5.1.1 no such user"); self.send("250 2.1.5 ok")
            elif v == "DATA":
                self.send("354 go")
                while self.rfile.readline().rstrip(b"\r\n") != b".":
                    pass
                self.send("250 2.0.0 queued")
            elif v == "QUIT":
                self.send("221 bye"); return
            else:
                self.send("250 2.0.0 ok")
class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
T(("127.0.0.1", port), S).serve_forever()
PY
port=$(free_port)
spawn srv "$PY" "$tmpdir/mixed.py" "$port"
wait_port "$port" 10 || bail "the test SMTP server did not start"

route="X-ROUTE=smtp:[127.0.0.1]:$port"
msg s@example.org q1 "<mixed@mixed.test> $route" > "$tmpdir/in"
smtp "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is $? 0 "exit 0"
err=$(cat "$tmpdir/err")
unlike "$err" "status=sent" "the recipient answered 550 then 250 is not sent"
like "$err" "qid=q1 to=<mixed@mixed.test> [^
]*status=deferred [^
]*malformed reply" "it is deferred: a malformed reply"
like "$(cat "$tmpdir/out")" "RCPT TO:<mixed@mixed\.test> [^
]*X-DEFER=4\.4\.2" "and stays queued with 4.4.2"

msg s@example.org q2 "<ok@mixed.test> $route" > "$tmpdir/in2"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
like "$(cat "$tmpdir/err2")" "qid=q2 to=<ok@mixed\.test> [^
]*status=sent " "a server whose replies agree is sent to as before"
done_testing
