#!/bin/bash
# lib/qfree, the queue files kept for reuse in spool/free/ (unit tests in
# t/qfree.c): puts fill the lowest slots; a take guesses among the first
# 64 slots before it reads free/ (reading 512 names costs more than the
# rest of a take), then four spread over the others, and reads it when
# its guesses miss; a put that finds
# every slot filled looks again 10 ms later, not a second later, since
# takers empty slots at every message.  And, traced: a take whose first
# guess is filled reads no folder.  sluice-runq fills every empty slot with
# an empty file at its start (logged) and, when idle, again: the first
# message into a fresh spool creates no file either.
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

# The first 64 slots emptied by a burst, the others filled: a take guesses
# among them too, and reads no folder.
mkdir -p "$tmpdir/sp4"/{tmp,incoming,free}
for i in $(seq 64 511); do printf 'old %s\n' "$i" > "$tmpdir/sp4/free/$i"; done
chmod 600 "$tmpdir/sp4"/free/*
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nSubject: s\n\nbody\n.\n' |
    SLUICE_SPOOL=$tmpdir/sp4 strace -f -o "$tmpdir/trace4" -e trace=getdents64,openat \
    "$top/libexec/sluice-enqueue" 2>>"$tmpdir/enq.log"
is "$?" 0 "slots 0-63 empty, 64-511 filled: the message is queued"
is "$(ls "$tmpdir/sp4/free" | wc -l)" 447 "into one of the kept files"
is "$(grep -c 'getdents64\|O_CREAT' "$tmpdir/trace4")" 0 "without reading free/ or creating a file"

# sluice-runq at its start: every slot of a fresh spool's free/ filled.
export SLUICE_SPOOL=$tmpdir/sp3
mkdir -p "$SLUICE_SPOOL"
table domains example.test
table users "b@example.test b/"
settings "hostname mx.example.test" "mailroot $tmpdir/mail" "chain sluice-envelope | sluice-local"
spawn rq sluice-runq
wait_for "grep -q 'free: 512 queue files made for reuse' '$tmpdir/sluice-runq.log'" 10
ok $? "sluice-runq's start makes a file in each of the 512 slots, and says so"
is "$(find "$SLUICE_SPOOL/free" -type f -empty -perm 600 | wc -l)" 512 \
    "empty files, mode 0600"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nSubject: s\n\nbody\n.\n' |
    strace -f -o "$tmpdir/trace3" -e trace=openat "$top/libexec/sluice-enqueue" 2>>"$tmpdir/enq.log"
is "$?" 0 "the first message into the spool is queued"
is "$(grep -c 'O_CREAT' "$tmpdir/trace3")" 0 "into a file the runner made, none created"
wait_for "ls '$tmpdir/mail/b/new' | grep -q ." 10
ok $? "and delivered"
rm -f "$SLUICE_SPOOL"/free/{0,1,2,3,4,5,6,7,8,9,100,511}
wait_for "[ \$(ls '$SLUICE_SPOOL/free' | wc -l) = 512 ]" 12
ok $? "slots emptied while the runner is idle are filled again within its 5 s"
stop_pid "$rq"
done_testing
