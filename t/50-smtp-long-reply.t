#!/bin/bash
# A server's long replies reach the log, X-DEFER and the bounce, cut to the
# documented 600 octets, and every recipient gets its outcome: a reply text
# of 1,000 octets to RCPT (250, 450, 550) and to the end of data makes the
# longest report a worker sends its parent, and none is dropped.  The peer
# is t/tools/smtp-answers.py, answering with such texts.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

port=$(free_port)
n=1000
spawn srv "$PY" "$tools/smtp-answers.py" "$port" \
    "RCPT:defer=450 4.2.0 $(printf 'd%.0s' $(seq $n))" \
    "RCPT:bounce=550 5.1.1 $(printf 'b%.0s' $(seq $n))" \
    "RCPT:=250 2.1.5 $(printf 'r%.0s' $(seq $n))" \
    "END:=250 2.0.0 $(printf 'q%.0s' $(seq $n))"
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
