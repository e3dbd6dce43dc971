#!/bin/bash
# A tunnel message delivered twice (POP3's failure case: fetched again after a
# lost QUIT, or mailed twice) is queued once: sluice-bsmtp-decode records its
# id (the Message-ID) in bsmtp/seen/ only after the queue program exited 0,
# and a second copy within bsmtp_dedup_window queues nothing and exits 0.  A
# copy the queue did not take is not recorded, so its retry is queued; a
# record older than the window no longer counts.
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf spool=$tmpdir/spool echo_dir=$tmpdir/queued
mkdir -p "$conf" "$spool" "$echo_dir"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool ECHO_DIR=$echo_dir SLUICE_QUEUE="$top/t/queue-echo.sh"
table config "hostname remote.test" "spool $spool" "bsmtp_dedup_window 1h"
table domains remote.test
table bsmtp_senders "postmaster@hub.test secret=s3cret"

make_msg() {
    printf '%s\r\n' 'EHLO hub.test' 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<bob@remote.test>' \
        'DATA' "Subject: $1" '' body '.' 'QUIT' | "$tools/tunnelmsg.py" --secret s3cret --id "$1@hub.test"
}
queued() { find "$echo_dir" -name '*.msg' | wc -l; }
decode() { sluice-bsmtp-decode < "$1" 2>>"$tmpdir/log"; }

make_msg one > "$tmpdir/one"
decode "$tmpdir/one"; is "$?" 0 "the first copy is decoded"
is "$(queued)" 1 "and queued"
decode "$tmpdir/one"; is "$?" 0 "the second copy exits 0 (so sluice-pop3 deletes it)"
is "$(queued)" 1 "and queues nothing"
grep -q 'status=duplicate id=<one@hub.test>' "$tmpdir/log"; ok $? "it is logged as a duplicate"
is "$(ls "$spool/bsmtp/seen" | wc -l)" 1 "one record in bsmtp/seen/"
is "$(cat "$spool"/bsmtp/seen/*)" "one@hub.test" "holding the tunnel id"

make_msg two > "$tmpdir/two"
ECHO_EXIT=111 decode "$tmpdir/two"; is "$?" 111 "a copy the queue refuses fails with the queue's status"
decode "$tmpdir/two"; is "$?" 0 "its retry is decoded"
is "$(find "$echo_dir" -name '*.msg' -exec grep -l 'Subject: two' {} + | wc -l)" 2 \
    "and handed to the queue again, since the failed copy was not recorded"

# Older than the window: the record is ignored, then pruned.
touch -d '2 hours ago' "$spool"/bsmtp/seen/*
rm -f "$spool/bsmtp/seen/.pruned"
n=$(queued)
decode "$tmpdir/one"; is "$(queued)" $((n + 1)) "a copy after bsmtp_dedup_window is queued again"
decode "$tmpdir/one"; is "$(queued)" $((n + 1)) "and recorded again"
done_testing
