#!/bin/bash
# The record of delivered recipients costs no file per message: the stages
# of a chain note their deliveries in the run record of its slot
# (spool/delivered/run.PID.N), which sluice-runq empties once the chain's
# output is committed.  A batch that is not committed whole has its lines
# moved into records per message first, and a runner killed with SIGKILL
# at any of these moments leaves lines that its next start moves: no retry
# delivers anything twice.  A run record grown past 64 KiB sends further
# lines to the records per message.  The kills are made with strace's
# syscall injection at the runner's opens of the run record.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || bail "strace is needed (a test dependency)"
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail sp=$SLUICE_SPOOL
table domains example.test
table users "@example.test box/"
# Passes the stream on; exits 111 while its counter file is above zero,
# and notes what delivered/ holds once the stages before it are done.
cat > "$tmpdir/flaky" <<EOF2
#!/bin/sh
n=\$(cat "\$1")
echo \$((n - 1)) > "\$1"
cat
ls "$sp/delivered" > "$tmpdir/seen"
[ "\$n" -le 0 ] || exit 111
EOF2
chmod +x "$tmpdir/flaky"
config() {	# config FAILURES [STAGE] — the chain's last stage fails that often
    echo "$1" > "$tmpdir/count"
    table config "hostname mx.example.test" "mailroot $mr" "retry_min 1s" \
        "retry_max 1s" "delay_warning 0" "concurrency 1" "batch_size 100" \
        "chain sluice-envelope | sluice-local | ${2:+$2 | }$tmpdir/flaky $tmpdir/count"
}
reset() { rm -rf "$mr" "$sp"; : > "$tmpdir/runq.log"; }
queue() {	# queue MESSAGES RECIPIENTS
    local m r
    for ((m = 1; m <= $1; m++)); do
        echo "MAIL FROM:<s@example.test>"
        for ((r = 1; r <= $2; r++)); do echo "RCPT TO:<m${m}u$r@example.test>"; done
        printf 'DATA\nSubject: msg %d\n\nhello\n.\n' "$m"
    done | sluice-enqueue 2>/dev/null || bail "sluice-enqueue failed"
}
runq() { "$@" sluice-runq -1 -f </dev/null 2>>"$tmpdir/runq.log"; }
# kill_runq_at N — a run whose runner is killed at its Nth open of its run
# record delivered/run.PID.0: strace attaches to it before it starts.
kill_runq_at() {
    local pid spid
    rm -f "$tmpdir/go" && mkfifo "$tmpdir/go"
    (cd "$sp" && exec sh -c 'read _ < "$0"; exec sluice-runq -1 -f' "$tmpdir/go" \
        </dev/null 2>>"$tmpdir/runq.log") &
    pid=$!
    (cd "$sp" && exec strace -qq -o /dev/null -p "$pid" -P "delivered/run.$pid.0" \
        -e trace=openat -e inject=openat:signal=KILL:when="$1") &
    spid=$!
    wait_for "grep -Eq '^TracerPid:[[:space:]]*[1-9]' /proc/$pid/status" 10
    echo > "$tmpdir/go"
    wait "$pid" 2>/dev/null
    is $? 137 "the runner is killed at its open $1 of its run record"
    wait "$spid"
}
copies() { grep -h '^Delivered-To: ' "$mr"/box/new/* 2>/dev/null | sort; }
# check NAME TOTAL — each of TOTAL recipients has one copy, nothing is left.
check() {
    is "$(copies | uniq | wc -l) $(copies | uniq -d | wc -l)" "$2 0" \
        "$1: each recipient has one copy"
    is "$(find "$sp"/{incoming,deferred,bad} -type f | wc -l)" 0 "$1: the queue is empty"
    is "$(find "$sp/delivered" -type f ! -empty | wc -l)" 0 "$1: no record is left"
}

# ---- a batch delivered at once: no record file made or removed ----
reset
config 0
queue 5 3
# (LeakSanitizer cannot run in a traced process: off for this run under
# make check SAN=1, where the runner's t/asan/sluice-runq turns it on.)
runq env ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"} \
    strace -f -qq -o "$tmpdir/trace" -e trace=open,openat,unlink,unlinkat
check "at once" 15
made=$(grep -E 'delivered/[0-9a-f]{21}"' "$tmpdir/trace" | grep -E 'O_CREAT' | grep -vc '= -1')
gone=$(grep -E 'unlink(at)?\(.*delivered/[0-9a-f]{21}"' "$tmpdir/trace" | grep -vc '= -1')
is "$made $gone" "0 0" "at once: no record per message is made or removed"

# ---- the runner killed after the commit, before emptying the run record ----
reset
config 0
queue 5 3
kill_runq_at 4	# made at start, read for the log, read to move, emptied
is "$(find "$sp/incoming" -type f | wc -l) $(cat "$sp"/delivered/run.* | wc -l)" "0 15" \
    "killed after the commit: the batch left the queue, its lines stayed"
runq
check "killed after the commit" 15

# ---- a deferred batch: its lines move into records per message ----
reset
config 1
queue 5 3
runq
is "$(copies | wc -l)" 15 "deferred: the first run delivered everything"
is "$(find "$sp/delivered" -type f -name '0*' ! -empty | wc -l) $(cat "$sp"/delivered/run.* | wc -c)" "5 0" \
    "deferred: a record per message, synced; the run record is empty"
runq
check "deferred after its deliveries" 15

# ---- the runner killed before moving a deferred batch's lines, and while ----
for at in 3 4; do	# 3: before they are read; 4: moved, not yet emptied
    reset
    config 2
    queue 5 3
    kill_runq_at $at
    runq	# the start moves what is left; the chain fails once more
    is "$(cat "$sp"/delivered/0* | sort | uniq -d | wc -l) $(cat "$sp"/delivered/0* | wc -l)" "0 15" \
        "killed at open $at of a deferred batch's run record: each line is kept once"
    runq
    check "killed at open $at of a deferred batch's run record" 15
done

# ---- a chain left running by a killed runner writes into a new runner's ----
# run record: its lines (here for message X, put aside in bad/) outlive the
# commit of the new runner's batch, so that X, put back, is not delivered again.
reset
mkdir -p "$sp/bad"
queue 1 1
x=$(ls "$sp/incoming")
mv "$sp/incoming/$x" "$sp/bad/"
cat > "$tmpdir/orphan" <<EOF2
#!/bin/sh
printf '%s\tm1u1@example.test\t\t0\n' "$x" >> "\$SLUICE_DELIVERED_RUN"
exec cat
EOF2
chmod +x "$tmpdir/orphan"
queue 2 2
config 0 "$tmpdir/orphan"
runq
is "$(copies | wc -l) $(cat "$sp/delivered/$x")" "4 $(printf '%s\t\t0' m1u1@example.test)" \
    "another message's line in the run record is kept at the commit"
mv "$sp/bad/$x" "$sp/incoming/"
config 0
runq
check "a line of a chain left running" 4

# ---- a record per message that ends in a line cut by a crash ----
# What is added after it starts a line of its own: the first line added is
# not lost with the cut one, and the retry does not deliver it again.
reset
config 1
queue 1 2
x=$(ls "$sp/incoming")
mkdir -p "$sp/delivered"
printf 'm1u1@example.test\t' > "$sp/delivered/$x"
runq
runq
check "after a cut line" 2

# ---- a run record past 64 KiB: further lines go to records per message ----
reset
config 1
queue 4 500
runq
ok $([ "$(grep -c '^0' "$tmpdir/seen")" -gt 0 ] &&
    [ "$(grep -c . "$tmpdir/seen")" -le 5 ]; echo $?) \
    "a full run record: lines went to records per message during the run"
runq
check "a full run record" 2000

done_testing
