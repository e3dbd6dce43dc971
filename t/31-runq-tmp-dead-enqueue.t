#!/bin/bash
# The runner's start removes at once what a killed sluice-enqueue left in the
# spool's tmp/, and never a file that a live sluice-enqueue still holds: the
# one it is writing, and the complete ones of the same input waiting for the
# rename into incoming/ (sluice-enqueue flock()s each until then).
. "$(dirname "$0")/lib.sh"
plan 9

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
sp=$SLUICE_SPOOL
mkdir -p "$SLUICE_CONF"
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $tmpdir/mail
chain sluice-local
EOT
echo example.test > "$SLUICE_CONF/domains"
echo "@example.test box/" > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
mkdir -p "$sp"/{tmp,incoming}

txn() { printf 'MAIL FROM:<s@example.org>\nRCPT TO:<u@example.test>\nDATA\nSubject: %s\n\n' "$1"; }
ntmp() { ls "$sp/tmp" | wc -l; }

# enqueue_on FIFO PIDVAR: a sluice-enqueue reading from a FIFO the test
# holds open on descriptor 3 (dead) or 4 (live), so its input stalls.
mkfifo "$tmpdir/dead.in" "$tmpdir/live.in"
sluice-enqueue < "$tmpdir/dead.in" 2>"$tmpdir/dead.log" &
dead=$!
_t_pids+=("$dead")
exec 3>"$tmpdir/dead.in"
# More than a buffer of body, so the file has content on disk.
{ txn dead; yes 'a line of the body that stalls' | head -5000; } >&3
wait_for '[ "$(ntmp)" = 1 ]' 10
ok $? "the first enqueue has a file in tmp/"
deadfile=$(ls "$sp/tmp")
kill -9 "$dead"
wait "$dead" 2>/dev/null
exec 3>&-

sluice-enqueue < "$tmpdir/live.in" 2>"$tmpdir/live.log" &
live=$!
_t_pids+=("$live")
exec 4>"$tmpdir/live.in"
{ txn live-1; printf 'done\n.\n'; txn live-2; yes 'a line still being written' | head -5000; } >&4
wait_for '[ "$(ntmp)" = 3 ]' 10
ok $? "the live enqueue has its two files in tmp/ next to the dead one's"
livefiles=$(ls "$sp/tmp" | grep -vxF "$deadfile" | tr '\n' ' ')

sluice-runq -1 2>"$tmpdir/runq.log"
is "$?" 0 "a run-once succeeds"
ok $([ ! -e "$sp/tmp/$deadfile" ]; echo $?) "the killed enqueue's file is removed at the runner's start"
like "$(cat "$tmpdir/runq.log")" "removed $sp/tmp/$deadfile: its writer is gone" "and the removal is logged"
is "$(ls "$sp/tmp" | tr '\n' ' ')" "$livefiles" "the live enqueue's files are kept, the complete one and the one being written"

printf 'done\n.\n' >&4
exec 4>&-
wait "$live"
is "$?" 0 "the live enqueue finishes and exits 0" || diag "$(cat "$tmpdir/live.log")"
is "$(ls "$sp/incoming" | wc -l)" 2 "both of its messages are queued"
is "$(ntmp)" 0 "tmp/ is empty"
