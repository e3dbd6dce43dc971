#!/bin/bash
# sluice-runq: end to end, retries and backoff, bounces, delay notices,
# double bounces, refused and failing chains, the lock, the daemon.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail
sp=$SLUICE_SPOOL

# A stage that defers every recipient at remote.test, as a transport would.
cat > "$tmpdir/defer" <<'EOT'
#!/bin/sh
exec sed -E '/^RCPT TO:<[^>]*@remote\.test>/{s/ X-DEFER=[^ ]*//;s/$/ X-DEFER=4.4.1+20connection+20refused/;}'
EOT
# A stage that refuses the whole input if one message says POISON.
cat > "$tmpdir/poison" <<'EOT'
#!/bin/sh
cat > "$0.in.$$"
if grep -q POISON "$0.in.$$"; then rm -f "$0.in.$$"; echo "poison: refused" >&2; exit 100; fi
cat "$0.in.$$"; rm -f "$0.in.$$"
EOT
printf '#!/bin/sh\ncat >/dev/null\nexit 111\n' > "$tmpdir/fail"
chmod +x "$tmpdir/defer" "$tmpdir/poison" "$tmpdir/fail"

config() {	# config "extra settings" — rewrite and compile config
    settings "hostname mx.example.test" "mailroot $mr" \
        "postmaster postmaster@example.test" "retry_min 10s" "retry_max 1h" \
        "delay_warning 0" "chain $tmpdir/defer | sluice-local" "$@"
}
echo example.test > "$SLUICE_CONF/domains"
printf 'alice@example.test alice/\ns@example.test sender/\n' > "$SLUICE_CONF/users"
sluice-mkcdb "$SLUICE_CONF/domains"; sluice-mkcdb "$SLUICE_CONF/users"
config

msg() {	# msg FROM RCPT [IDENT] [RCPT-PARAMS] [SUBJECT]
    [ -n "${3:-}" ] && echo "XFORWARD IDENT=$3"
    echo "MAIL FROM:<$1>"
    echo "RCPT TO:<$2>${4:-}"
    printf 'DATA\nSubject: %s\n\nhello\n.\n' "${5:-test}"
}
count() { ls "$1" 2>/dev/null | wc -l; }
runq() { sluice-runq -1 "$@" 2>>"$tmpdir/runq.log"; }

# End to end.
for i in 1 2 3; do msg s@example.org alice@example.test; done | sluice-enqueue 2>/dev/null
runq
is "$?" 0 "sluice-runq -1 exits 0"
is "$(count "$mr/alice/new")" 3 "enqueue, runq -1: three messages in the Maildir"
is "$(count "$sp/incoming")$(count "$sp/deferred")" "00" "the queue is empty afterwards"
is "$(grep -c '^sluice-runq: qid=.* status=sent' "$tmpdir/runq.log")" 3 "one status=sent line per message"

# Retry and backoff: the next try is as far off as the message's age, within bounds.
now=$(date +%s)
young=$(qid_at "$now"); old=$(qid_at $((now - 100))); older=$(qid_at $((now - 20000)))
{ msg s@example.org far@remote.test "$young"; msg s@example.org far@remote.test "$old"
  msg s@example.org far@remote.test "$older"; } | sluice-enqueue 2>/dev/null
runq
is "$(count "$sp/deferred")" 3 "deferred recipients go to deferred/"
grep -q '^RCPT TO:<far@remote.test> X-DEFER=4.4.1+20connection+20refused' "$sp/deferred/$young"
ok $? "the deferred file keeps the recipient with its X-DEFER"
d() { echo $(( $(stat -c %Y "$sp/deferred/$1") - now )); }
ok $([ "$(d "$young")" -ge 8 ] && [ "$(d "$young")" -le 15 ]; echo $?) "a new message retries after retry_min (mtime +$(d "$young")s)"
ok $([ "$(d "$old")" -ge 95 ] && [ "$(d "$old")" -le 110 ]; echo $?) "a 100 s old message retries 100 s later (+$(d "$old")s)"
ok $([ "$(d "$older")" -ge 3595 ] && [ "$(d "$older")" -le 3610 ]; echo $?) "never later than retry_max (+$(d "$older")s)"
like "$(cat "$tmpdir/runq.log")" "qid=$young status=deferred nrcpt=1 delay=[0-9]+ next=[0-9]+s reason=\"4.4.1 connection refused\"" "the log says deferred, when, and why"
before=$(md5sum "$sp"/deferred/* | md5sum)
runq
is "$(md5sum "$sp"/deferred/* | md5sum)" "$before" "not yet due: left alone"
runq -f
is "$(count "$sp/deferred")" 3 "-f retries all deferred at once (still failing)"
rm -f "$sp"/deferred/*

# Bounce after queue_lifetime: to the sender, Action failed, the last error.
config "queue_lifetime 50s"
q=$(qid_at $((now - 100)))
msg s@example.test far@remote.test "$q" | sluice-enqueue 2>/dev/null
runq
is "$(count "$sp/deferred")" 0 "an expired message leaves the queue"
like "$(cat "$tmpdir/runq.log")" "qid=$q status=bounced nrcpt=1" "status=bounced is logged"
f=$(grep -l 'Final-Recipient: rfc822; far@remote.test' "$mr"/sender/new/* 2>/dev/null | head -1)
ok $([ -n "$f" ]; echo $?) "the bounce reaches the sender"
like "$(cat "$f" 2>/dev/null)" $'Action: failed\nStatus: 4.4.1\nDiagnostic-Code: X-Sluice; connection refused' "it gives the last temporary error"
rm -f "$mr"/sender/new/*

# Delay notice after delay_warning, once, honouring NOTIFY.
config "delay_warning 30s"
q=$(qid_at $((now - 100))); q2=$(qid_at $((now - 99)))
{ msg s@example.test far@remote.test "$q"; msg s@example.test far@remote.test "$q2" " NOTIFY=FAILURE"; } |
    sluice-enqueue 2>/dev/null
runq
is "$(count "$mr/sender/new")" 1 "one delay notice (NOTIFY=FAILURE asked for none)"
f=$(ls "$mr"/sender/new/* | head -1)
like "$(cat "$f")" $'Action: delayed\nStatus: 4.4.1' "Action: delayed with the status"
like "$(cat "$f")" 'Will-Retry-Until: ' "Will-Retry-Until is given"
like "$(cat "$f")" $'Content-Type: text/rfc822-headers\n\nSubject: test\n\n--' "a delay notice returns the header only"
grep -q 'X-WARNED=1' "$sp/deferred/$q"; ok $? "the recipient is marked X-WARNED=1"
runq -f
is "$(count "$mr/sender/new")" 1 "no second delay notice"
is "$(count "$sp/deferred")" 2 "both still deferred"
rm -f "$sp"/deferred/* "$mr"/sender/new/*
config

# Double bounce: a bounce to an unknown user goes to the postmaster.
msg '' nobody@example.test | sluice-enqueue 2>/dev/null
runq
f=$(grep -l 'Final-Recipient: rfc822; nobody@example.test' "$mr"/postmaster/new/* 2>/dev/null | head -1)
ok $([ -n "$f" ]; echo $?) "a failed bounce reaches the postmaster"
# A double bounce that cannot be delivered: dead/, not another bounce.
{ echo "MAIL FROM:<> X-NOTICE=bounce"; echo "RCPT TO:<postmaster@example.test>"
  printf 'DATA\nDelivered-To: postmaster@example.test\nSubject: x\n\nx\n.\n'; } | sluice-enqueue 2>/dev/null
n=$(count "$mr/postmaster/new")
runq
is "$(count "$sp/dead")" 1 "an undeliverable double bounce goes to dead/"
like "$(cat "$tmpdir/runq.log")" 'status=dead' "status=dead is logged"
is "$(count "$mr/postmaster/new")" "$n" "and makes no further notice"
# The same double bounce failing again (same queue id) does not replace it.
dq=$(ls "$sp/dead" | head -1)
{ echo "XFORWARD IDENT=$dq"; echo "MAIL FROM:<> X-NOTICE=bounce"; echo "RCPT TO:<postmaster@example.test>"
  printf 'DATA\nDelivered-To: postmaster@example.test\nSubject: again\n\nx\n.\n'; } | sluice-enqueue 2>/dev/null
runq
is "$(count "$sp/dead")" 2 "a second failure with the same queue id gets a file of its own in dead/"
ok $([ -e "$sp/dead/$dq" ] && [ -e "$sp/dead/$dq.1" ]; echo $?) "named QID and QID.1"
rm -f "$sp"/dead/*

# A chain that refuses one message (exit 100): it alone goes to bad/.
config "chain $tmpdir/poison | sluice-local"
rm -f "$mr"/alice/new/*
for s in one two POISON four; do msg s@example.org alice@example.test "" "" "$s"; done | sluice-enqueue 2>/dev/null
runq
is "$(count "$sp/bad")" 1 "the refused message is isolated in bad/"
grep -q POISON "$sp"/bad/*; ok $? "it is the poisoned one"
is "$(count "$mr/alice/new")" 3 "the others are delivered, once each"
like "$(cat "$tmpdir/runq.log")" 'status=bad' "status=bad is logged"
is "$(count "$sp/incoming")$(count "$sp/deferred")" "00" "nothing else is left"

# A chain that fails (exit 111): everything kept, deferred.
config "chain $tmpdir/fail"
for i in 1 2; do msg s@example.org alice@example.test; done | sluice-enqueue 2>/dev/null
cat "$sp"/incoming/* > "$tmpdir/before"
runq
is "$(count "$sp/deferred")" 2 "a failing chain: the batch goes to deferred/"
cat "$sp"/deferred/* > "$tmpdir/after"
ok $(cmp -s "$tmpdir/before" "$tmpdir/after"; echo $?) "unchanged"
rm -f "$sp"/deferred/*

# One runner at a time.  A run-once beside it (sendmail -q) leaves it a
# request to flush the whole queue instead, and wakes it.
exec 9>"$sp/lock"; flock 9
sluice-runq 2>"$tmpdir/err"
is "$?" 111 "a second runner refuses to start"
like "$(cat "$tmpdir/err")" 'another sluice-runq' "and says why"
sluice-runq -1 2>"$tmpdir/err"
is "$?" 0 "a run-once beside a runner succeeds"
ok $([ -e "$sp/flush/*" ]; echo $?) "by leaving a request to flush everything"
like "$(cat "$tmpdir/err")" 'flush requested: the whole queue' "and says so"
rm -f "$sp/flush/*"
exec 9>&-

# The daemon: woken by the trigger, stopped by SIGTERM.
config "chain sluice-local"
rm -f "$mr"/alice/new/*
spawn rq sluice-runq
wait_for "grep -q start $tmpdir/sluice-runq.log" 10
msg s@example.org alice@example.test | sluice-enqueue 2>/dev/null
t0=$(date +%s.%N)
wait_for "[ \$(ls $mr/alice/new 2>/dev/null | wc -l) = 1 ]" 20
ok $? "the daemon delivers a new message"
el=$(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo 0)
note "picked up after ${el}s"
ok $(awk -v e="$el" 'BEGIN { exit !(e < 3) }'; echo $?) "promptly, woken by the trigger (not the 5 s scan)"
kill -TERM "$rq"; wait "$rq"
is "$?" 0 "SIGTERM stops it cleanly"
like "$(tail -1 "$tmpdir/sluice-runq.log")" 'sluice-runq: stop' "and it says so"
done_testing
