#!/bin/bash
# lib/qfree, the queue files kept for reuse in spool/free/ (unit tests in
# t/qfree.c): puts fill the lowest slots; a take guesses among the first
# 64 slots before it reads free/ (reading 512 names costs more than the
# rest of a take), and reads it when its guesses miss; a put that finds
# every slot filled looks again 10 ms later, not a second later, since
# takers empty slots at every message.  And, traced: a take whose first
# guess is filled reads no folder.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/qfree" ] || bail "t/qfree is not built (make check)"
command -v strace >/dev/null || bail "strace is needed (a test dependency)"
mkdir -p "$tmpdir/spool" || bail "no tmpdir"
unit "$top/t/qfree" "$tmpdir/spool"

# A message written through sluice-enqueue into a spool whose first slots
# are all filled: the file is one of the kept ones, and free/ is not read.
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/sp2 SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL"/{tmp,incoming,free}
table config "hostname mx.example.test"
for i in $(seq 0 63); do printf 'old %s\n' "$i" > "$SLUICE_SPOOL/free/$i"; done
chmod 600 "$SLUICE_SPOOL"/free/*
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nSubject: s\n\nbody\n.\n' |
    strace -f -o "$tmpdir/trace" -e trace=getdents64,openat "$top/libexec/sluice-enqueue" 2>"$tmpdir/enq.log"
is "$?" 0 "sluice-enqueue queues the message"
is "$(ls "$SLUICE_SPOOL/free" | wc -l)" 63 "into one of the 64 kept files"
is "$(grep -c 'getdents64' "$tmpdir/trace")" 0 "without reading free/"
is "$(grep -c 'O_CREAT' "$tmpdir/trace")" 0 "nor creating a file"
done_testing
