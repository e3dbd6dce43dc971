#!/bin/bash
# The runner logs what really became of a message that leaves the queue
# (issue 11, item 7), from its record of deliveries (spool/delivered/QID)
# and the failure notices the chain made for it (X-NOTICE-FOR, lib/dsn.c):
# status=sent delivered=N when all were delivered, status=bounced bounced=N
# when none was and a notice went back, status=sent delivered=N bounced=M
# for both, status=done for neither (a failure nobody is told of: NOTIFY=
# NEVER).  sluice-enqueue keeps X-NOTICE-FOR out of the queue.
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf spool=$tmpdir/spool mr=$tmpdir/mail
mkdir -p "$conf" "$spool" "$mr"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool SLUICE_LIBEXEC=$top/libexec
table config "hostname mx.example.test" "qualify_domain example.test" "mailroot $mr" \
    "log stderr" "chain sluice-envelope | sluice-local"
table domains example.test
table users "test@example.test test/" "other@example.test other/"

# enqueue NAME RCPT... — a message from NAME@example.org; its queue id in $qid_NAME
enqueue() {
    local n=$1 r
    shift
    { echo "MAIL FROM:<$n@example.org>"
      for r in "$@"; do echo "RCPT TO:$r"; done
      printf 'DATA\nSubject: %s\n\nhello\n.\n' "$n"; } |
        sluice-enqueue 2> "$tmpdir/enq-$n.log" || bail "sluice-enqueue $n"
    printf -v "qid_$n" '%s' "$(sed -n 's/.*qid=\([0-9a-f]*\) .*/\1/p' "$tmpdir/enq-$n.log")"
}
enqueue delivered "<test@example.test>" "<other@example.test>"
enqueue bounced "<ghost@example.test>"
enqueue mixed "<test@example.test>" "<ghost@example.test>" "<ghost2@example.test>"
enqueue silent "<ghost@example.test> NOTIFY=NEVER"

sluice-runq -1 < /dev/null 2> "$tmpdir/runq.log"
is $? 0 "the run succeeds"
note "$(cat "$tmpdir/runq.log")"
line() { grep "^sluice-runq: qid=$1 status=" "$tmpdir/runq.log" | grep -v 'status=queued'; }
is "$(line "$qid_delivered")" "sluice-runq: qid=$qid_delivered status=sent delivered=2" \
    "both recipients delivered: status=sent delivered=2"
is "$(line "$qid_bounced")" "sluice-runq: qid=$qid_bounced status=bounced bounced=1" \
    "its only recipient bounced: status=bounced bounced=1"
is "$(line "$qid_mixed")" "sluice-runq: qid=$qid_mixed status=sent delivered=1 bounced=2" \
    "one delivered, two bounced: status=sent delivered=1 bounced=2"
is "$(line "$qid_silent")" "sluice-runq: qid=$qid_silent status=done" \
    "a failure nobody is told of (NOTIFY=NEVER), nothing delivered: status=done"

# The notices are queued (their senders are not local), without X-NOTICE-FOR.
notices=$(grep -l '^MAIL FROM:<> X-NOTICE=bounce' "$spool"/incoming/* "$spool"/deferred/* 2>/dev/null | wc -l)
is "$notices" 2 "two failure notices wait in the queue"
is "$(cat "$spool"/incoming/* "$spool"/deferred/* 2>/dev/null | grep -c 'X-NOTICE-FOR')" 0 \
    "without X-NOTICE-FOR: sluice-enqueue drops it"
is "$(find "$spool/delivered" -type f ! -empty | wc -l)" 0 "the records of deliveries are gone"

done_testing
