#!/bin/bash
# t/fuzz/run.sh SECONDS NAME... — run each fuzz target for SECONDS (make fuzz).
#
# Seeds come from t/fuzz/corpus/NAME (never written to); what libFuzzer
# finds new goes to t/fuzz/build/corpus-NAME, kept between runs; a crash,
# leak or sanitizer report to t/fuzz/build/crash-NAME/.  A finding becomes
# a regression test by copying it into t/fuzz/corpus/NAME/ once it is
# fixed: make check replays every corpus file.  The seconds each target
# has run are added up in t/fuzz/build/seconds-NAME (doc/fuzzing.md).
set -u
cd "$(dirname "$0")/../.." || exit 111
secs=$1
shift
found=
# User + system seconds of the children waited for so far (bash's times,
# run in this shell, not in a subshell, whose children are its own).
cpu_now() {
    times > t/fuzz/build/times.$$
    cpu=$(sed -n 2p t/fuzz/build/times.$$ | awk '{ split($1, u, /[ms]/);
        split($2, s, /[ms]/); printf "%d\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
    rm -f t/fuzz/build/times.$$
}
# The importers sync what they move aside: on tmpfs that costs nothing.
[ -w /dev/shm ] && export TMPDIR=/dev/shm
for name in "$@"; do
    bin=t/fuzz/build/fuzz-$name
    [ -x "$bin" ] || { echo "run.sh: $bin is not built" >&2; exit 111; }
    work=t/fuzz/build/corpus-$name crash=t/fuzz/build/crash-$name
    mkdir -p "$work" "$crash"
    opts=(-max_total_time="$secs" -artifact_prefix="$crash/" -close_fd_mask=3
          -timeout=10 -rss_limit_mb=1024 -print_final_stats=1)
    [ -f "t/fuzz/$name.dict" ] && opts+=(-dict="t/fuzz/$name.dict")
    case $name in
        # The decoder's refusals end the program (exit 100); the target
        # jumps out of them instead, leaving what was allocated: leaks
        # are not looked for there (doc/fuzzing.md).
        bsmtp) opts+=(-detect_leaks=0) ;;
        # Whole mailboxes and messages, as large as real ones get.
        mime|import|stream) opts+=(-max_len=65536) ;;
        # Whole sessions: a few long lines and many commands.
        smtpd|smtp) opts+=(-max_len=8192) ;;
    esac
    echo "fuzz: $name for ${secs}s"
    start=$(date +%s)
    # CPU seconds too: on a shared machine wall-clock time says little
    # of how much fuzzing was done (the target's user + system time).
    cpu_now; cpu0=$cpu
    "$bin" "${opts[@]}" "$work" "t/fuzz/corpus/$name" > "t/fuzz/build/$name.log" 2>&1
    rc=$?
    ran=$(( $(date +%s) - start ))
    cpu_now; cpu=$(( cpu - cpu0 ))
    total=$(( $(cat "t/fuzz/build/seconds-$name" 2>/dev/null || echo 0) + ran ))
    echo "$total" > "t/fuzz/build/seconds-$name"
    cputotal=$(( $(cat "t/fuzz/build/cpu-$name" 2>/dev/null || echo 0) + cpu ))
    echo "$cputotal" > "t/fuzz/build/cpu-$name"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "t/fuzz/build/$name.log" | tail -n 1)
    echo "$(( $(cat "t/fuzz/build/execs-$name" 2>/dev/null || echo 0) + ${execs:-0} ))" \
        > "t/fuzz/build/execs-$name"
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss)' \
        "t/fuzz/build/$name.log" | sed "s/^/fuzz: $name: /"
    echo "fuzz: $name: ran ${ran}s (${cpu}s CPU) now, ${total}s (${cputotal}s CPU) in all here; exit $rc"
    if [ $rc -ne 0 ] || [ -n "$(ls -A "$crash")" ]; then
        echo "fuzz: $name: FOUND something: $crash/ and t/fuzz/build/$name.log" >&2
        found="$found $name"
    fi
done
[ -z "$found" ] || { echo "fuzz: findings in:$found" >&2; exit 1; }
exit 0
