#!/bin/bash
# make run (t/tools/run.sh): a fresh instance accepts mail over SMTP and from
# the sendmail line it prints, delivers it to the Maildir, and stops everything
# it started on SIGINT.
. "$(dirname "$0")/lib.sh"
plan 17

port=$(free_port)
sport=$(free_port)
subport=$(free_port)
var=$tmpdir/var
log=$tmpdir/run.log

# A background job of a script ignores SIGINT, and bash cannot trap a signal
# ignored at its start: restore the default before exec, as a terminal would.
VAR=$var PORT=$port SMTPS_PORT=$sport SUBMISSION_PORT=$subport "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$top/t/tools/run.sh" </dev/null >"$log" 2>&1 &
run=$!
_t_pids+=("$run")

wait_port "$port" 30
ok $? "the listener answers on 127.0.0.1:$port" || diag "$(cat "$log")"

like "$(grep -E '^spool|^mailroot' "$var/conf/config" | tr '\n' ' ')" \
    "^spool	$var/spool mailroot	$var/mail $" "config points at this instance's folders"
[ -s "$var/conf/users.cdb" ] && [ -s "$var/conf/config.cdb" ]
ok $? "the tables are compiled"

swaks -s 127.0.0.1 -p "$port" -f a@example.test -t test@example.test \
    --header 'Subject: run-smtp' --body 'hello over SMTP' >"$tmpdir/swaks.log" 2>&1
ok $? "swaks sends to test@example.test" || diag "$(cat "$tmpdir/swaks.log")"

maildir=$var/mail/test/new
wait_for "grep -l run-smtp $maildir/* 2>/dev/null | grep -q ." 30
ok $? "the message lands in var/mail/test/new" || diag "$(cat "$log")"

# The sendmail line printed for the user must work as printed.
line=$(grep -F 'bin/sendmail test@example.test' "$log" | sed 's/^ *//')
like "$line" "sendmail test@example.test" "a sendmail line is printed"
(eval "printf 'Subject: run-sendmail\n\nhi\n' | ${line#*| }") >"$tmpdir/sm.log" 2>&1
ok $? "the printed sendmail line queues a message" || diag "$(cat "$tmpdir/sm.log")"
wait_for "grep -l run-sendmail $maildir/* 2>/dev/null | grep -q ." 30
ok $? "it lands too" || diag "$(cat "$log")"

# SMTPS and submission, on the ports it prints, with the swaks lines it prints.
sub=$(grep -oE '^  submission +127\.0\.0\.1:[0-9]+' "$log" | grep -oE '[0-9]+$')
smtps=$(grep -oE '^  SMTPS +127\.0\.0\.1:[0-9]+' "$log" | grep -oE '[0-9]+$')
ok $([ "$sub" = "$subport" ] && [ "$smtps" = "$sport" ] && port_open "$sub" && port_open "$smtps"; echo $?) \
    "it prints the SMTPS ($smtps) and submission ($sub) ports, and they answer"
for p in "$sub" "$smtps"; do
    line=$(grep -E "^  swaks -s 127\.0\.0\.1 -p $p --tlsc? --auth " "$log" | sed 's/^ *//')
    (eval "$line --header 'Subject: run-auth-$p'") >"$tmpdir/swaks-$p.log" 2>&1
    ok $? "the printed 'swaks --tls --auth' line for port $p sends" || diag "$(cat "$tmpdir/swaks-$p.log")"
    wait_for "grep -l run-auth-$p $maildir/* 2>/dev/null | grep -q ." 30
    ok $? "and its message lands" || diag "$(cat "$log")"
done
is "$(stat -c %a "$var/tls/key.pem" "$var/conf/smtpd_passwords.cdb" | tr '\n' ' ')" "600 600 " \
    "the key and the password table are readable by their owner alone"

# Everything the script started carries this instance's spool in its environment.
started() {
    local p
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = "$$" ] && continue
        tr '\0' '\n' 2>/dev/null < "$p/environ" | grep -qxF "SLUICE_SPOOL=$var/spool" &&
            echo "${p#/proc/}"
    done
}
before=$(started | wc -l)
# Otherwise "none remains" below would hold when started() finds nothing.
ok $([ "$before" -gt 0 ]; echo $?) "the processes it started are found by their spool ($before)"
kill -INT "$run"
wait_for "! kill -0 $run" 20
ok $? "SIGINT stops the script" || diag "$(cat "$log")"
wait_for '[ -z "$(started)" ]' 10
left=$(started)
is "$left" "" "no process it started remains (there were $before)" ||
    diag "$(for p in $left; do ps -o pid=,args= -p "$p"; done)"
