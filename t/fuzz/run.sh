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
    esac
    echo "fuzz: $name for ${secs}s"
    start=$(date +%s)
    "$bin" "${opts[@]}" "$work" "t/fuzz/corpus/$name" > "t/fuzz/build/$name.log" 2>&1
    rc=$?
    ran=$(( $(date +%s) - start ))
    total=$(( $(cat "t/fuzz/build/seconds-$name" 2>/dev/null || echo 0) + ran ))
    echo "$total" > "t/fuzz/build/seconds-$name"
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss)' \
        "t/fuzz/build/$name.log" | sed "s/^/fuzz: $name: /"
    echo "fuzz: $name: ran ${ran}s now, ${total}s in all here; exit $rc"
    if [ $rc -ne 0 ] || [ -n "$(ls -A "$crash")" ]; then
        echo "fuzz: $name: FOUND something: $crash/ and t/fuzz/build/$name.log" >&2
        found="$found $name"
    fi
done
[ -z "$found" ] || { echo "fuzz: findings in:$found" >&2; exit 1; }
exit 0
