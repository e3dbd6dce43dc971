#!/bin/bash
# sluice-runq running as the spool's owner leaves a queue file it cannot
# read where it is, reports it once, and still delivers the rest of the
# batch (before, one such file made the whole batch fail with 111).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { skip_all "needs root to run the runner as another user"; }

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$tmpdir/mail" "$SLUICE_SPOOL"
printf 'hostname mx.example.test\nmailroot %s\nchain sluice-local\n' "$tmpdir/mail" > "$SLUICE_CONF/config"
echo example.test > "$SLUICE_CONF/domains"
echo "test@example.test test/" > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
chown -R nobody:nogroup "$tmpdir/mail" "$SLUICE_SPOOL"

msg() { printf 'MAIL FROM:<a@example.org>\nRCPT TO:<test@example.test>\nDATA\nSubject: %s\n\nbody\n.\n' "$1"; }
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- env SLUICE_CONF="$SLUICE_CONF" SLUICE_SPOOL="$SLUICE_SPOOL" SLUICE_LIBEXEC="$SLUICE_LIBEXEC" "$@"; }

for i in 1 2 3; do msg "good $i" | asnobody sluice-enqueue 2>/dev/null || bail "enqueue as nobody"; done
# One file root wrote by hand into incoming/, readable by root only.
q=$(msg "root's" | sluice-enqueue 2>&1 | sed -n 's/.*qid=\([0-9a-f]*\).*/\1/p')
[ -n "$q" ] || bail "enqueue as root"
chown root:root "$SLUICE_SPOOL/incoming/$q" && chmod 600 "$SLUICE_SPOOL/incoming/$q"

asnobody sluice-runq -1 2> "$tmpdir/runq.log"
is "$?" 0 "the run-once exits 0"
is "$(ls "$tmpdir/mail/test/new" | wc -l)" 3 "the three readable messages are delivered"
ok $([ -e "$SLUICE_SPOOL/incoming/$q" ]; echo $?) "the unreadable file is left where it is"
like "$(cat "$tmpdir/runq.log")" "qid=$q unable to read .*Permission denied; left in place" "and reported"
is "$(grep -c "qid=$q unable to read" "$tmpdir/runq.log")" 1 "once"
done_testing
