#!/bin/bash
# sluice-runq gathers a batch when mail trickles in: a message that arrives
# while the runner is busy (a chain runs, or one ended less than
# batch_wait_ms ago) waits for more, up to batch_wait_ms or until
# batch_size are there, or until no more has come for a fifth of
# batch_wait_ms; one that finds the runner idle goes at once.  The
# chain's first stage notes each run in a file.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail
printf '#!/bin/sh\necho run >> "%s/runs"\nexec cat\n' "$tmpdir" > "$tmpdir/count"
chmod +x "$tmpdir/count"
table domains example.test
table users "alice@example.test alice/"
config() {	# config BATCH_SIZE
    settings "hostname mx.example.test" "mailroot $mr" "batch_wait_ms 3000" \
        "batch_size $1" "concurrency 4" "chain $tmpdir/count | sluice-local"
}
msg() { printf 'MAIL FROM:<s@example.org>\nRCPT TO:<alice@example.test>\nDATA\nSubject: %s\n\nhi\n.\n' "$1"; }
send() { msg "$1" | sluice-enqueue 2>>"$tmpdir/enqueue.log"; }
delivered() { ls "$mr/alice/new" 2>/dev/null | wc -l; }
runs() { cat "$tmpdir/runs" 2>/dev/null | wc -l; }
secs() { echo "$(date +%s.%N) - $1" | bc; }
below() { awk -v e="$1" -v l="$2" 'BEGIN { exit !(e < l) }'; }
# took N CMD... — run CMD (it sends), wait until N messages are in the
# mailbox; el is the seconds that took.
took() {
    local want=$1 t0
    shift
    t0=$(date +%s.%N)
    "$@"
    wait_for "[ \"\$(delivered)\" = $want ]" 20
    el=$(secs "$t0")
}
trickle() { local s; for s in two three four; do send "$s"; sleep 0.4; done; }

config 100
spawn rq sluice-runq
wait_for "grep -q start $tmpdir/sluice-runq.log" 10 || bail "sluice-runq did not start"

# Idle: at once.
took 1 send one
note "the first message after ${el}s"
ok $(below "$el" 2; echo $?) "a message that finds the runner idle goes at once"

# Busy (the last chain ended moments ago): three arrivals 0.4 s apart,
# each later than the chain before could take, make one batch.
took 4 trickle
is "$(runs)" 2 "three messages trickling in right after a chain go in one batch"
note "the three delivered after ${el}s"
ok $(below "$el" 6; echo $?) "within batch_wait_ms (3 s) of the first of them, and the chain's time"

# Busy (that chain just ended), and a burst ends: two messages at once,
# then nothing.  Once no more has come for a fifth of batch_wait_ms
# (0.6 s), the batch goes: the end of a burst does not wait the whole
# batch_wait_ms (3 s).
took 6 eval 'send burst1; send burst2'
note "the end of a burst after ${el}s"
ok $(below "$el" 2; echo $?) "the last messages of a burst wait a fifth of batch_wait_ms, not all of it"
is "$(runs)" 3 "in one batch"

# Idle again after batch_wait_ms: at once, whatever the last batch was.
sleep 3.5
took 7 send five
note "the fifth after ${el}s"
ok $(below "$el" 2; echo $?) "once batch_wait_ms passed without a chain, a message goes at once again"
is "$(runs)" 4 "in a run of its own"

# Busy, but batch_size arrived: no waiting for batch_wait_ms.
kill -TERM "$rq"; wait "$rq"
config 2
spawn rq sluice-runq
wait_for "[ \$(grep -c start $tmpdir/sluice-runq.log) = 2 ]" 10 || bail "sluice-runq did not start again"
took 8 send six
took 10 eval 'send seven; send eight'
note "seven and eight after ${el}s"
ok $(below "$el" 2; echo $?) "a busy runner starts a batch at once when batch_size messages are there"
is "$(runs)" 6 "both in one batch"
kill -TERM "$rq"; wait "$rq"
is "$?" 0 "the runner stops cleanly"
done_testing
