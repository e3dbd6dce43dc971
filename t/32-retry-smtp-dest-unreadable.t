#!/bin/bash
# An smtp_dest that exists but cannot be read is a temporary failure, never
# an empty table (issue 11, item 5): sluice-retry exits 111 with a log line
# rather than bounce by queue_lifetime a message whose destination has a
# longer lifetime of its own; the runner holds a new message rather than
# try it now when it cannot know whether its destination is queue_first.
# The programs run as nobody, the table is root's, mode 0600.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to run as another user"
export SLUICE_CONF=$tmpdir/conf SLUICE_NOW=1700000000 TZ=UTC
mkdir -p "$SLUICE_CONF"; chmod 755 "$tmpdir" "$SLUICE_CONF"
printf 'hostname mx.example.test\npostmaster postmaster@example.test\nqueue_lifetime 5d\ndelay_warning 0\n' > "$SLUICE_CONF/config"
printf 'slow.example lifetime=10d\ndialup.example queue_first=yes\n' > "$SLUICE_CONF/smtp_dest"
for t in config smtp_dest; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "sluice-mkcdb $t"; done
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

# Six days old: past queue_lifetime (5d), within slow.example's 10d.
printf 'XFORWARD IDENT=0654c0800000000001092\nMAIL FROM:<s@example.org>\nRCPT TO:<a@slow.example> X-DEFER=4.4.1+20connection+20refused\nDATA\nSubject: test\n\nhello\n.\n' > "$tmpdir/in"
chmod 644 "$tmpdir/in"

as_nobody sluice-retry < "$tmpdir/in" > "$tmpdir/out1" 2> "$tmpdir/err1"
is $? 0 "smtp_dest readable: exit 0"
like "$(cat "$tmpdir/out1")" "^XFORWARD IDENT=0654c0800000000001092
MAIL FROM:<s@example\.org> X-RETRY=" "the message waits: slow.example's lifetime is 10 days"

chmod 600 "$SLUICE_CONF/smtp_dest.cdb"
as_nobody sluice-retry < "$tmpdir/in" > "$tmpdir/out2" 2> "$tmpdir/err2"
is $? 111 "smtp_dest unreadable: exit 111, the batch waits"
like "$(cat "$tmpdir/err2")" "unable to read table $SLUICE_CONF/smtp_dest\.cdb: Permission denied" \
    "a log line names the table and why"
unlike "$(cat "$tmpdir/out2")" "X-NOTICE=bounce" "nothing is bounced"

# The runner: a new message for dialup.example is held (queue_first); one
# for another domain too while the table cannot be read.
spool=$tmpdir/spool
mkdir -p "$spool"; chown nobody: "$spool"
printf 'spool %s\nchain sluice-envelope\n' "$spool" >> "$SLUICE_CONF/config"
sluice-mkcdb "$SLUICE_CONF/config" || bail "config"
export SLUICE_LIBEXEC=$top/libexec
unset SLUICE_NOW
as_nobody "$top/libexec/sluice-runq" -1 2>/dev/null
printf 'MAIL FROM:<s@example.org>\nRCPT TO:<r@other.example>\nDATA\nSubject: s\n\nb\n.\n' |
    as_nobody env SLUICE_SPOOL="$spool" "$top/libexec/sluice-enqueue" 2>/dev/null || bail "sluice-enqueue"
as_nobody env SLUICE_SPOOL="$spool" "$top/libexec/sluice-runq" -1 > "$tmpdir/runq.out" 2> "$tmpdir/runq.err"
like "$(cat "$tmpdir/runq.err")" "smtp_dest: other\.example: unable to read table [^ ]*smtp_dest\.cdb: Permission denied: the messages of the queue wait" \
    "the runner says it cannot read smtp_dest"
is "$(ls "$spool/deferred" | wc -l)" 1 "and the new message waits in deferred/"
done_testing
