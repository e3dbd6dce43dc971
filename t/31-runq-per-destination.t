#!/bin/bash
# The queue per destination: smtp_dest lifetime and queue_first, mailq's
# destination and reason, flushing one destination (sluice-runq -D, sendmail
# -qR, ETRN, the daemon's flush requests), a split message's parts, a chain that
# keeps failing, and +detail local delivery.  Remote destinations are
# Postfix's smtp-sink on loopback, reached through routes smtp:[127.0.0.1]:PORT.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail
sp=$SLUICE_SPOOL
chain="sluice-envelope | sluice-alias | sluice-route | sluice-local | sluice-smtp"

config() {	# config [SETTING...] — the defaults below, later ones win
    settings "hostname mx.example.test" "mailroot $mr" \
        "postmaster postmaster@example.test" "retry_min 60s" "retry_max 1h" \
        "queue_lifetime 1h" "delay_warning 0" "smtp_connect_timeout 5s" \
        "smtp_helo_timeout 10s" "chain $chain" "$@"
}
msg() {	# msg IDENT RCPT [SUBJECT]
    printf 'XFORWARD IDENT=%s\nMAIL FROM:<s@example.test>\nRCPT TO:<%s>\nDATA\nSubject: %s\n\nhello\n.\n' \
        "$1" "$2" "${3:-test}"
}
count() { ls "$1" 2>/dev/null | wc -l; }
runq() { sluice-runq "$@" 2>>"$tmpdir/runq.log"; }
log() { cat "$tmpdir/runq.log"; }

p_dial=$(free_port); p_fix=$(free_port); p_dead=$(free_port); p_d=$(free_port)
table domains example.test
table users "bob@example.test bob/" "s@example.test sender/"
table routes "dial.test smtp:[127.0.0.1]:$p_dial" "fixed.test smtp:[127.0.0.1]:$p_fix" \
    "short.test smtp:[127.0.0.1]:$p_dead" "mid.test smtp:[127.0.0.1]:$p_dead" \
    "other.test smtp:[127.0.0.1]:$p_dead" "d.test smtp:[127.0.0.1]:$p_d"
table smtp_dest "short.test lifetime=2s" "mid.test lifetime=30s" \
    "dial.test queue_first=yes" "d.test queue_first=yes lifetime=2h"
seq 1 1500 | sed 's/^/u/; s/$/@other.test/' > "$tmpdir/biglist"
table aliases "big@example.test :include:$tmpdir/biglist"
config
start_sink sink_dial 127.0.0.1 "$p_dial" "$tmpdir/dial"
start_sink sink_d 127.0.0.1 "$p_d" "$tmpdir/d"

# ---- +detail: bob+x@ is bob's mailbox, Delivered-To keeps the detail ----
now=$(date +%s)
msg "$(qid_at "$now")" bob+lists@example.test | sluice-enqueue 2>/dev/null
runq -1
f=$(ls "$mr"/bob/new/* 2>/dev/null | head -1)
ok $([ -n "$f" ]; echo $?) "bob+lists@example.test is delivered into bob's Maildir"
like "$(cat "$f" 2>/dev/null)" $'Delivered-To: bob\\+lists@example\\.test\n' "Delivered-To keeps the whole address"

# ---- per-destination lifetime ----
now=$(date +%s)
q_short=$(qid_at $((now - 10))); q_long=$(qid_at $((now - 10))); q_mid=$(qid_at "$now")
{ msg "$q_short" a@short.test short; msg "$q_long" b@other.test long; msg "$q_mid" c@mid.test mid; } |
    sluice-enqueue 2>/dev/null
runq -1
ok $([ ! -e "$sp/deferred/$q_short" ]; echo $?) "a message older than its destination's lifetime (2s) leaves the queue"
like "$(log)" "qid=$q_short status=bounced nrcpt=1 delay=[0-9]+ reason=\"lifetime of the destination reached \\(smtp_dest\\)\"" "the log says why it bounced"
f=$(grep -l 'Subject: Undelivered\|X-Original-To\|a@short.test' "$mr"/sender/new/* 2>/dev/null | head -1)
like "$(cat "$f" 2>/dev/null)" $'Final-Recipient: rfc822; a@short\\.test\nAction: failed\nStatus: 4\\.4\\.1' "the sender gets a bounce with the last error"
ok $([ -e "$sp/deferred/$q_long" ]; echo $?) "the same age is fine under the global queue_lifetime (1h)"
next=$(( $(stat -c %Y "$sp/deferred/$q_mid" 2>/dev/null || echo 0) - $(printf %d 0x${q_mid:0:9}) ))
ok $([ "$next" -ge 25 ] && [ "$next" -le 31 ]; echo $?) "the next retry is capped at the end of a 30s lifetime, not retry_min 60s (+${next}s)"

# ---- queue_first: not tried at arrival; a flush delivers it ----
now=$(date +%s)
q_dial=$(qid_at "$now")
msg "$q_dial" u@dial.test dialup | sluice-enqueue 2>/dev/null
runq -1
is "$(count "$tmpdir/dial")" 0 "queue_first: the message is not tried when it arrives"
ok $([ -e "$sp/deferred/$q_dial" ]; echo $?) "queue_first: it waits in deferred/"
like "$(log)" "qid=$q_dial status=queued nrcpt=1 next=[0-9]+s reason=\"queue_first" "the log says it is queued first"
runq -1
is "$(count "$tmpdir/dial")" 0 "nor at the next run before its retry time"

# ---- mailq: destination, reason, next retry ----
out=$(SLUICE_SPOOL=$sp mailq)
like "$out" "$q_mid .*"$'\n'" +\\(age [0-9]+s, next retry in [0-9]+s at [^)]*\\)"$'\n'"-> mid\\.test via \\[127\\.0\\.0\\.1\\]:$p_dead"$'\n'"\\(4\\.4\\.1 [^)]*\\)"$'\n'" +c@mid\\.test" "mailq: destination with its nexthop, the reason, the next retry"
like "$out" "-> dial\\.test"$'\n'" +u@dial\\.test" "mailq: a queued-first recipient's destination is its domain"

# ---- flush one destination: sluice-runq -1 -D ----
runq -1 -D dial.test
is "$(count "$tmpdir/dial")" 1 "sluice-runq -1 -D dial.test delivers the queued-first message"
ok $([ ! -e "$sp/deferred/$q_dial" ]; echo $?) "and it leaves the queue"
ok $([ -e "$sp/deferred/$q_long" ] && [ -e "$sp/deferred/$q_mid" ]; echo $?) "messages for other destinations stay deferred"

# ---- sendmail -qR: a fixed destination is flushed, the others are not ----
now=$(date +%s)
q_fix=$(qid_at "$now"); q_other=$(qid_at "$now")
{ msg "$q_fix" v@fixed.test fix; msg "$q_other" w@other.test other; } | sluice-enqueue 2>/dev/null
runq -1
ok $([ -e "$sp/deferred/$q_fix" ] && [ -e "$sp/deferred/$q_other" ]; echo $?) "both are deferred while nothing listens"
m_other=$(stat -c %Y "$sp/deferred/$q_other")
start_sink sink_fix 127.0.0.1 "$p_fix" "$tmpdir/fix"
runq -1
is "$(count "$tmpdir/fix")" 0 "the repaired destination is not tried before its retry time"
SLUICE_SPOOL=$sp sendmail -qRfixed.test 2>>"$tmpdir/runq.log"
is "$?" 0 "sendmail -qRfixed.test exits 0"
is "$(count "$tmpdir/fix")" 1 "sendmail -qRfixed.test delivers the message for the repaired destination"
ok $([ ! -e "$sp/deferred/$q_fix" ]; echo $?) "it leaves the queue"
is "$(stat -c %Y "$sp/deferred/$q_other" 2>/dev/null)" "$m_other" "the message for another destination is not touched"
SLUICE_SPOOL=$sp sendmail -qR 2>/dev/null
is "$?" 64 "sendmail -qR without a domain is a usage error"
runq -1 -D 'bad/name'
is "$?" 100 "sluice-runq -D refuses a name that is not a domain"

# ---- ETRN (RFC 1985) in sluice-smtpd: a flush request for the runner ----
now=$(date +%s)
q_e=$(qid_at "$now")
msg "$q_e" e@dial.test etrn | sluice-enqueue 2>/dev/null
runq -1
ok $([ -e "$sp/deferred/$q_e" ]; echo $?) "a queue_first message waits for the ETRN"
out=$(printf 'EHLO client.example\r\nETRN dial.test\r\nETRN other.test\r\nETRN #queue\r\nQUIT\r\n' |
    sluice-smtpd 2>>"$tmpdir/smtpd.log")
like "$out" $'\r\n250-ETRN\r\n' "EHLO offers ETRN"
like "$out" $'\r\n250 2\\.0\\.0 Queuing started for node dial\\.test\r\n' "ETRN for a queue_first destination: 250"
like "$out" $'\r\n459 4\\.7\\.1 [^\r]*other\\.test\r\n' "ETRN for another destination: 459, not allowed"
like "$out" $'\r\n501 5\\.5\\.4 Syntax: ETRN domain\r\n' "ETRN #queue (named queues): 501"
ok $([ -e "$sp/flush/dial.test" ]; echo $?) "the ETRN leaves a flush request in flush/"
out=$(printf 'EHLO client.example\r\nETRN other.test\r\nQUIT\r\n' |
    RELAYCLIENT= sluice-smtpd 2>>"$tmpdir/smtpd.log")
like "$out" $'\r\n250 2\\.0\\.0 Queuing started for node other\\.test\r\n' "a relay client may ETRN any destination"
rm -f "$sp/flush/other.test"
runq -1
is "$(count "$tmpdir/dial")" 2 "the next queue run delivers what waited for the ETRN"
ok $([ ! -e "$sp/deferred/$q_e" ] && [ ! -e "$sp/flush/dial.test" ]; echo $?) "the message and the request are gone"

# ---- the daemon: a flush request (sluice-runq -D, sendmail -qR) ----
now=$(date +%s)
q_d=$(qid_at "$now")
msg "$q_d" x@d.test daemon | sluice-enqueue 2>/dev/null
spawn runq_pid sluice-runq
wait_for "grep -q 'qid=$q_d status=queued' '$tmpdir/sluice-runq.log'" 20
ok $? "the daemon queues a queue_first message at arrival"
is "$(count "$tmpdir/d")" 0 "and does not try it"
runq -1 -D d.test
is "$?" 0 "sluice-runq -1 -D while the daemon runs hands the flush to it (exit 0)"
wait_for "[ \"\$(ls '$tmpdir/d' | wc -l)\" = 1 ]" 20
is "$(count "$tmpdir/d")" 1 "the daemon delivers the flushed destination at once"
like "$(cat "$tmpdir/sluice-runq.log")" "flush dest=d\\.test" "the daemon logs the flush"
stop_pid "$runq_pid" 20

# ---- a split message: both parts requeued with the original arrival time ----
now=$(date +%s)
q_big=$(qid_at $((now - 50)))
msg "$q_big" big@example.test big | sluice-enqueue 2>/dev/null
runq -1
files=$(ls "$sp/deferred" | grep "^${q_big:0:9}")
is "$(echo "$files" | wc -l)" 2 "a message split in two by sluice-alias leaves two queue files"
ok $(echo "$files" | grep -qx "$q_big"; echo $?) "one keeps the message's queue id"
rc=0; for f in $files; do grep -q "^XFORWARD IDENT=$f" "$sp/deferred/$f" || rc=1; done
ok $rc "each part's IDENT names its own file"
is "$(cat $(printf "$sp/deferred/%s " $files) | grep -c '^RCPT TO:<u[0-9]*@other.test>')" 1500 "together they hold all 1500 recipients"
is "$(count "$sp/incoming")" 0 "no part was queued as a new message"
like "$(log)" "split_from=$q_big nrcpt=500" "the log names the part split from the message"

# ---- a chain that keeps failing (111): bounced after the lifetime, not lost ----
printf '#!/bin/sh\ncat >/dev/null\nexit 111\n' > "$tmpdir/fail"; chmod +x "$tmpdir/fail"
config "chain $tmpdir/fail" "queue_lifetime 30s"
now=$(date +%s)
q_old=$(qid_at $((now - 100))); q_young=$(qid_at "$now")
{ msg "$q_old" y@example.test old111; msg "$q_young" z@example.test young111; } | sluice-enqueue 2>/dev/null
runq -1 -f
ok $([ ! -e "$sp/incoming/$q_old" ] && [ ! -e "$sp/deferred/$q_old" ]; echo $?) "a message past its lifetime in a failing batch leaves the queue"
# The bounce is queued, and (this being a run-once) tried and deferred too.
bounce=$(grep -l "^MAIL FROM:<> .*X-NOTICE=bounce" "$sp"/incoming/* "$sp"/deferred/* 2>/dev/null | xargs grep -l 'y@example.test' 2>/dev/null)
is "$(echo "$bounce" | grep -c .)" 1 "its bounce is queued"
like "$(cat $bounce 2>/dev/null)" "Status: 4\\.3\\.0"$'\n'"Diagnostic-Code: X-Sluice; the chain failed \\(exit 111\\)" "the bounce says the chain kept failing"
ok $([ -e "$sp/deferred/$q_young" ]; echo $?) "a young message of the same batch stays deferred"
unlike "$(grep -h '^RCPT' "$sp/deferred/$q_young")" "X-DEFER" "and is left untouched"

done_testing
