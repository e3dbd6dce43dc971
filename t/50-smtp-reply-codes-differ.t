#!/bin/bash
# A multi-line reply whose lines disagree on the code (RFC 5321 4.2.1: every
# line has the same one) is malformed: the connection breaks and the
# recipients are deferred, never taken as the last line's 250 with the first
# line's 5.1.1 (as the reply reader did until the smtp fuzz target found it).
# The peer (t/tools/smtp-answers.py) answers RCPT for mixed@ so, and for
# anyone else with an ordinary 250.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

port=$(free_port)
spawn srv "$PY" "$tools/smtp-answers.py" "$port" \
    "RCPT:<mixed@=550-5.1.1 no such user|250 2.1.5 ok"
wait_port "$port" 10 || bail "the test SMTP server did not start"

route="X-ROUTE=smtp:[127.0.0.1]:$port"
msg s@example.org q1 "<mixed@answers.test> $route" > "$tmpdir/in"
smtp "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is $? 0 "exit 0"
err=$(cat "$tmpdir/err")
unlike "$err" "status=sent" "the recipient answered 550 then 250 is not sent"
like "$err" "qid=q1 to=<mixed@answers.test> [^
]*status=deferred [^
]*malformed reply" "it is deferred: a malformed reply"
like "$(cat "$tmpdir/out")" "RCPT TO:<mixed@answers\.test> [^
]*X-DEFER=4\.4\.2" "and stays queued with 4.4.2"

msg s@example.org q2 "<ok@answers.test> $route" > "$tmpdir/in2"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
like "$(cat "$tmpdir/err2")" "qid=q2 to=<ok@answers\.test> [^
]*status=sent " "a server whose replies agree is sent to as before"
done_testing
