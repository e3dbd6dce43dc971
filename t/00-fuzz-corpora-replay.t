#!/bin/bash
# Every file of every fuzz corpus (t/fuzz/corpus/NAME/: the seeds, and each
# crash, leak or broken invariant the fuzzers ever found, kept once fixed)
# runs through its target without a crash or, under SAN=1, a sanitizer
# report.  Leaks count too: each target frees what it allocates.
. "$(dirname "$0")/lib.sh"

export TMPDIR=$tmpdir
for dir in "$top"/t/fuzz/corpus/*/; do
    name=$(basename "$dir")
    bin=$top/t/fuzz/build/replay-$name
    [ -x "$bin" ] || bail "$bin is not built (make check)"
    n=$(find "$dir" -type f | wc -l)
    ASAN_OPTIONS="detect_leaks=1:exitcode=66" "$bin" "$dir" > "$tmpdir/out" 2> "$tmpdir/err"
    rc=$?
    is "$rc" 0 "$name: $n corpus files replay cleanly" || tail -25 "$tmpdir/err" | sed 's/^/# /'
done
is "$(ls -A "$tmpdir" | grep -v '^out$\|^err$')" "" "the targets leave nothing behind in TMPDIR"
done_testing
