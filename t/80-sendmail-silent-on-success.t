#!/bin/bash
# sendmail is silent when it succeeds, as other MTAs' are, so that a cron job
# that mails gets no mail about it: the line of a local submission (with the
# submitting uid) goes to the administrator's log, syslog, not to the
# submitter's standard error, whatever "log" says.  A failure is still
# reported on standard error, with a non-zero exit.
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf spool=$tmpdir/spool sock=$tmpdir/log.sock sys=$tmpdir/syslog
mkdir -p "$conf" "$spool"
export SLUICE_CONF=$conf SLUICE_LIBEXEC=$top/libexec
unset SLUICE_SPOOL SLUICE_QUEUE NAME
start_syslog "$sock" "$sys"
setlog() {
    printf 'log %s\nsyslog_socket %s\nspool %s\nqualify_domain example.test\n' \
        "$1" "$sock" "$spool" > "$conf/config"
    sluice-mkcdb "$conf/config" || bail "config"
}

for mode in auto stderr syslog; do
    setlog $mode
    : > "$sys"
    printf 'Subject: cron\n\nreport\n' | sendmail root > "$tmpdir/out" 2> "$tmpdir/err"
    is "$?" 0 "log $mode: sendmail exits 0"
    is "$(cat "$tmpdir/out" "$tmpdir/err")" "" "log $mode: and prints nothing"
    wait_for "grep -q 'qid=' '$sys'" 5
    like "$(cat "$sys")" "^<22>.* sluice-enqueue\\[[0-9]+\\]: qid=[0-9a-f]{21} from=<$(id -un)@example.test> nrcpt=1 size=[0-9]+ uid=$(id -u)\$" \
        "log $mode: the submission, with its uid, is logged to syslog"
done
q=$(grep -oE 'qid=[0-9a-f]{21}' "$sys" | cut -d= -f2)
ok $([ -f "$spool/incoming/$q" ]; echo $?) "the logged queue id is the queued file"

# A failure: the queue cannot be written.
setlog auto
mv "$spool" "$spool.away" && touch "$spool"
printf 'Subject: cron\n\nreport\n' | sendmail root 2> "$tmpdir/err"
is "$?" 75 "when the queue cannot be written, sendmail exits EX_TEMPFAIL"
like "$(cat "$tmpdir/err")" "sluice-enqueue: fatal: .*
sendmail: qid=[0-9a-f]{21} from=<[^>]*> nrcpt=1 size=[0-9]+ status=failed" \
    "and says why on standard error"

done_testing
