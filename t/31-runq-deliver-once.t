#!/bin/bash
# Each recipient is delivered once.  When a stage after the delivering ones
# fails (exit 111, again and again), or any member of the chain is killed
# with SIGKILL in the middle of a batch, or the runner itself is, the retries
# deliver only what was not delivered yet: a crash repeats at most the
# deliveries in flight at that instant.  Mailboxes are local (sluice-local)
# and remote (sluice-smtp to Postfix's smtp-sink); the kills are made with
# strace's syscall injection, so they land inside the real programs.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || bail "strace is needed (a test dependency)"
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail
sp=$SLUICE_SPOOL
NMSG=12 NLOC=5 NREM=5	# recipients per message, local and remote

config() {	# config CHAIN — the settings of this test with that chain
    table config "hostname mx.example.test" "mailroot $mr" \
        "postmaster postmaster@example.test" "retry_min 1s" "retry_max 1s" \
        "delay_warning 0" "smtp_connect_timeout 5s" "smtp_helo_timeout 10s" \
        "smtp_destination_concurrency 1" "batch_size 100" "concurrency 1" \
        "chain $1"
}
sport=$(free_port)
start_sink sink 127.0.0.1 "$sport" "$tmpdir/sink"
table domains example.test
table users "@example.test box/"
table routes "remote.test smtp:[127.0.0.1]:$sport"
base="sluice-envelope | sluice-alias | sluice-route | sluice-local | sluice-smtp"

# The batch: NMSG messages of about 20 KB (so each stage writes many times),
# each to NLOC local and NREM remote recipients; u1 of message 1 asks for a
# success notice.
queue() {
    local m r body
    body=$(head -c 15000 /dev/zero | tr '\0' x | fold -w 70)
    for ((m = 1; m <= NMSG; m++)); do
        echo "MAIL FROM:<s@example.test>"
        for ((r = 1; r <= NLOC; r++)); do
            if ((m == 1 && r == 1)); then
                echo "RCPT TO:<m${m}u$r@example.test> NOTIFY=SUCCESS"
            else
                echo "RCPT TO:<m${m}u$r@example.test>"
            fi
        done
        for ((r = 1; r <= NREM; r++)); do echo "RCPT TO:<m${m}r$r@remote.test>"; done
        printf 'DATA\nSubject: msg %d\n\n%s\n.\n' "$m" "$body"
    done | sluice-enqueue 2>>"$tmpdir/enqueue.log" || bail "sluice-enqueue failed"
}
reset() {
    rm -rf "$mr" "$sp" "$tmpdir"/sink/*
    : > "$tmpdir/runq.log"
}
runq() { sluice-runq -1 -f </dev/null 2>>"$tmpdir/runq.log"; }
# Deliveries per recipient: Delivered-To in the local box, X-Rcpt-Args at the sink.
copies() {
    { grep -h '^Delivered-To: m' "$mr"/box/new/* 2>/dev/null | sed 's/^Delivered-To: //'
      grep -h '^X-Rcpt-Args: <m' "$tmpdir"/sink/* 2>/dev/null |
          sed 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/'; } | sort
}
ndelivered() { copies | wc -l; }
# check NAME MAXDUP — all recipients delivered, at most MAXDUP twice.
check() {
    local name=$1 maxdup=$2 got missing dups
    got=$(copies)
    missing=$(for ((m = 1; m <= NMSG; m++)); do
        for ((r = 1; r <= NLOC; r++)); do echo "m${m}u$r@example.test"; done
        for ((r = 1; r <= NREM; r++)); do echo "m${m}r$r@remote.test"; done
    done | sort | comm -23 - <(sort -u <<<"$got") | wc -l)
    dups=$(( $(wc -l <<<"$got") - $(sort -u <<<"$got" | wc -l) ))
    is "$missing" 0 "$name: no recipient is lost"
    ok $([ "$dups" -le "$maxdup" ]; echo $?) \
        "$name: $dups recipients delivered twice (at most $maxdup, in flight at the crash)"
    is "$(find "$sp"/{incoming,deferred,bad,dead} -type f | wc -l)" 0 "$name: the queue is empty"
    is "$(find "$sp/delivered" -type f ! -empty | wc -l)" 0 "$name: no record of delivered recipients is left"
}

# ---- a stage after the delivering ones fails four times, then passes ----
cat > "$tmpdir/flaky" <<'EOF'
#!/bin/sh
# Passes the stream on; exits 111 while its counter file is above zero.
n=$(cat "$1")
echo $((n - 1)) > "$1"
cat
[ "$n" -le 0 ] || exit 111
EOF
chmod +x "$tmpdir/flaky"
reset
echo 4 > "$tmpdir/count"
config "$base | $tmpdir/flaky $tmpdir/count"
queue
for i in 1 2 3 4; do runq; done
like "$(cat "$tmpdir/runq.log")" "status=deferred .*reason=\"the chain failed \\(exit 111\\)\"" \
    "the failing stage makes the runner defer the batch"
is "$(ndelivered)" $((NMSG * (NLOC + NREM))) "four failed runs delivered each recipient once"
ok $([ "$(find "$sp/delivered" -type f ! -name 'run.*' ! -empty | wc -l)" -eq "$NMSG" ]; echo $?) \
    "the failed runs left a record of what they delivered, per message"
runq
check "a later stage that fails" 0
n=$(grep -l '^Action: delivered' "$mr"/box/new/* 2>/dev/null | wc -l)
is "$n" 1 "the success notice is sent once, by the run that commits"
like "$(cat "$tmpdir/runq.log")" "to=<m1u1@example.test> status=sent dsn=2.0.0 delivered by an earlier attempt" \
    "a retry logs a recorded recipient as sent by an earlier attempt"

# ---- kill -9 at every member of the chain ----
# kill_at NAME SYSCALL WHEN TRACE MAXDUP — in a first run, NAME is killed at
# its WHEN-th SYSCALL (TRACE -f: its children too); a second run without the
# kill finishes the batch, repeating at most MAXDUP deliveries.
total=$((NMSG * (NLOC + NREM)))
kill_at() {
    local name=$1 sc=$2 when=$3 f=$4 maxdup=$5 chain before what
    what="$name killed at $sc #$when"
    chain=$(sed "s#\\($name\\)\\( \\|\$\\)#strace $f -qq -o /dev/null -e trace=$sc -e inject=$sc:signal=KILL:when=$when \\1\\2#" <<<"$base")
    reset
    config "$chain"
    queue
    runq
    before=$(ndelivered)
    if [ "$sc" = exit_group ]; then
        # The worst moment: all its work done, nothing reported yet.
        like "$(cat "$tmpdir/runq.log")" "status=deferred .*reason=\"the chain failed \\(exit 111\\)\"" \
            "$what: the batch is deferred"
        is "$before" "$total" "$what: every recipient was delivered before the kill"
    else
        ok $([ "$before" -gt 0 ] && [ "$before" -lt "$total" ]; echo $?) \
            "$what: the run was cut short after $before deliveries"
    fi
    config "$base"
    runq
    check "$what" "$maxdup"
}
for s in sluice-envelope sluice-alias sluice-route sluice-local sluice-smtp; do
    kill_at $s exit_group 1 "" 0
done
kill_at sluice-local rename 23 "" 1
# A worker dies after the remote took a message and before it noted it: that
# message's recipients (one transaction, NREM of them) are in flight.
kill_at sluice-smtp write 40 -f "$NREM"

# ---- a later stage refuses one message: the batch is split and run again ----
cat > "$tmpdir/refuse" <<'EOF'
#!/bin/sh
# Refuses (exit 100) a batch that holds the message "Subject: msg 3".
cat > "$0.in"
grep -q '^Subject: msg 3$' "$0.in" && exit 100
cat "$0.in"
EOF
chmod +x "$tmpdir/refuse"
reset
# Between the local and the remote delivery: what reaches it are the
# messages with recipients left, so the refusal comes after local deliveries.
config "${base% | sluice-smtp} | $tmpdir/refuse | sluice-smtp"
queue
runq
got=$(copies)
is "$(ls "$sp/bad" | wc -l)" 1 "the refused message alone goes to bad/"
# Message 3's remote recipients wait in bad/ with it.
is "$(wc -l <<<"$got")" $((total - NREM)) "the halves of the split batch delivered nothing twice"
is "$(sort -u <<<"$got" | wc -l)" $((total - NREM)) "every other recipient got its copy"
is "$(find "$sp"/{incoming,deferred} -type f | wc -l)" 0 "the rest of the queue is done"
ok $([ -s "$sp/delivered/$(ls "$sp/bad")" ]; echo $?) \
    "the message in bad/ keeps its record, so putting it back delivers nothing twice"

# ---- kill -9 of the runner while its chain runs ----
cat > "$tmpdir/slow" <<'EOF'
#!/bin/sh
# Passes the stream on, slowly: the runner is killed meanwhile.
cat
sleep 2
EOF
chmod +x "$tmpdir/slow"
reset
config "$base | $tmpdir/slow"
queue
setsid sluice-runq -1 -f </dev/null >>"$tmpdir/runq.log" 2>&1 &
rq=$!
wait_for "[ \$(ndelivered) -eq $((NMSG * (NLOC + NREM))) ]" 20
kill -9 "$rq"
wait "$rq" 2>/dev/null
wait_for "! pgrep -g $rq >/dev/null" 20
ok $([ -n "$(ls "$sp/incoming")" ]; echo $?) "the killed runner left its batch in the queue"
config "$base"
runq
check "the runner killed while its chain runs" 0

# ---- a full disk: the chain's output does not fit, then no room for a record ----
# The spool on a small tmpfs, and the chain of old (sluice-local, then the
# policy stage sluice-runq adds).  First
# the message (300 KB) fits and its remainder (one recipient waits) does
# not: sluice-local delivers, then cannot write its output, and the batch is
# retried while the disk stays full.  Then the disk is so full that a record
# could not be written: nothing is delivered.
if [ "$(id -u)" = 0 ] && mkdir -p "$tmpdir/small" &&
    mount -t tmpfs -o size=1200k tmpfs "$tmpdir/small" 2>/dev/null; then
    at_exit "umount -l '$tmpdir/small'"
    rm -rf "$mr"
    export SLUICE_SPOOL=$tmpdir/small/spool
    sp=$SLUICE_SPOOL
    : > "$tmpdir/runq.log"
    : > "$tmpdir/afile"
    table users "wait@example.test $tmpdir/afile/box/" "@example.test box/"
    config "sluice-envelope | sluice-local"
    fill() {	# fill NAME KB — leave about KB free on the small disk
        local free_kb
        free_kb=$(df -k --output=avail "$tmpdir/small" | tail -1)
        head -c $(((free_kb - $2) * 1024)) /dev/zero > "$tmpdir/small/$1"
    }
    big=$(head -c 300000 /dev/zero | tr '\0' y | fold -w 70)
    printf 'MAIL FROM:<s@example.test>\nRCPT TO:<full1@example.test>\nRCPT TO:<wait@example.test>\nDATA\nSubject: full\n\n%s\n.\n' "$big" |
        sluice-enqueue 2>>"$tmpdir/enqueue.log" || bail "sluice-enqueue failed"
    fill filler 580
    for i in 1 2 3; do runq; done
    # The chain's last stage is the policy stage, sluice-retry(8): it is the
    # one that cannot write the remainder.
    like "$(cat "$tmpdir/runq.log")" "sluice-retry: fatal: unable to write the output: No space left on device" \
        "full disk: sluice-local delivers, then the chain cannot write its output"
    n=$(cat "$mr"/box/new/* 2>/dev/null | grep -c '^Delivered-To: full1@')
    is "$n" 1 "full disk: three runs that cannot write their output deliver once"
    rm -f "$tmpdir/small/filler"
    export SLUICE_SPOOL=$tmpdir/small/spool2
    sp1=$sp sp=$SLUICE_SPOOL
    printf 'MAIL FROM:<s@example.test>\nRCPT TO:<full2@example.test>\nDATA\nSubject: full2\n\nsmall\n.\n' |
        sluice-enqueue 2>>"$tmpdir/enqueue.log" || bail "sluice-enqueue failed"
    rm -rf "$mr"
    fill filler 100
    : > "$tmpdir/runq.log"
    runq
    is "$(ls "$mr"/box/new 2>/dev/null | wc -l)" 0 "no room to record a delivery: nothing is delivered"
    like "$(cat "$tmpdir/runq.log")" "to=<full2@example.test> status=deferred dsn=4.3.1 unable to record deliveries in the queue: No space left on device" \
        "sluice-local says why the recipient waits"
    rm -f "$tmpdir/small/filler" "$tmpdir/afile"
    runq
    SLUICE_SPOOL=$sp1 runq
    n=$(cat "$mr"/box/new/* "$tmpdir"/afile/box/new/* 2>/dev/null | grep -h '^Delivered-To: ' | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')
    is "$n" "1 " "room again: every waiting recipient is delivered, once"
    is "$(find "$sp"/{incoming,deferred,bad,delivered} "$sp1"/{incoming,deferred,bad,delivered} -type f ! -empty | wc -l)" 0 \
        "full disk: the queue is empty at the end"
else
    skip "full disk: needs root to mount a small tmpfs" 6
fi

done_testing
