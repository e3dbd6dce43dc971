#!/bin/bash
# A server's long replies reach the log, X-DEFER and the bounce, cut to the
# documented 600 octets, and every recipient gets its outcome: a reply text
# of 1,000 octets to RCPT (250, 450, 550) and to the end of data makes the
# longest report a worker sends its parent, and none is dropped.  The peer
# is a small Python SMTP server that answers with such texts.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

cat > "$tmpdir/long.py" <<'PY'
import socketserver, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
class S(socketserver.StreamRequestHandler):
    def send(self, s):
        self.wfile.write((s + "\r\n").encode()); self.wfile.flush()
    def handle(self):
        self.send("220 long.test ESMTP")
        while True:
            l = self.rfile.readline()
            if not l:
                return
            c = l.decode("utf-8", "replace").rstrip("\r\n")
            v = c.split(" ")[0].upper()
            if v in ("EHLO", "HELO"):
                self.send("250-long.test"); self.send("250 PIPELINING")
            elif v == "MAIL":
                self.send("250 2.1.0 ok")
            elif v == "RCPT" and "defer" in c:
                self.send("450 4.2.0 " + "d" * n)
            elif v == "RCPT" and "bounce" in c:
                self.send("550 5.1.1 " + "b" * n)
            elif v == "RCPT":
                self.send("250 2.1.5 " + "r" * n)
            elif v == "DATA":
                self.send("354 go")
                while self.rfile.readline().rstrip(b"\r\n") != b".":
                    pass
                self.send("250 2.0.0 " + "q" * n)
            elif v == "QUIT":
                self.send("221 bye"); return
            else:
                self.send("250 ok")
class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
T(("127.0.0.1", port), S).serve_forever()
PY
port=$(free_port)
spawn srv "$PY" "$tmpdir/long.py" "$port" 1000
wait_port "$port" 10 || bail "the test SMTP server did not start"
table config "smtp_helo_timeout 10s"

route="X-ROUTE=smtp:[127.0.0.1]:$port"
{ msg s@example.org q1 "<ok@long.test> $route" "<defer@long.test> $route" \
      "<bounce@long.test> $route"
  msg s@example.org q2 "<ok2@long.test> $route"; } > "$tmpdir/in"
smtp "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is $? 0 "exit 0"
out=$(cat "$tmpdir/out"); err=$(cat "$tmpdir/err")
like "$err" "qid=q1 to=<ok@long.test> relay=127.0.0.1\[127.0.0.1\]:$port [^
]* status=sent reply=\"250 2\.0\.0 q{580,590}\"" "a 1,000-octet reply to the end of data: sent, logged cut to 600 octets"
like "$err" "qid=q2 to=<ok2@long.test> [^
]* status=sent " "and so is the next message's recipient"
unlike "$out" "<ok2?@long\.test>" "the delivered recipients leave the output"
like "$out" "RCPT TO:<defer@long\.test> [^
]*X-DEFER=4\.2\.0\+20host\+20127\.0\.0\.1\[127\.0\.0\.1\]\+20said:\+20450\+204\.2\.0\+20d{500}" \
    "a 1,000-octet 450 to RCPT: deferred, with its text in X-DEFER"
like "$out" "Final-Recipient: rfc822; bounce@long\.test
Action: failed
Status: 5\.1\.1
Remote-MTA: dns; 127\.0\.0\.1
Diagnostic-Code: smtp; 550 5\.1\.1 b{100}" "a 1,000-octet 550 to RCPT: a bounce with its text"
is "$(grep -c 'status=\(sent\|deferred\|bounced\)' "$tmpdir/err")" 4 "one outcome per recipient, none dropped"
unlike "$err" "status=error|report" "no report was refused"
done_testing
