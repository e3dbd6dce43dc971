#!/bin/bash
# t/tools/wraplog.sh DIR — after make check SAN=1 or VALGRIND=1: print every
# report the checkers wrote into DIR (t/tools/mkwrap.sh) and fail if there
# is one.  valgrind writes a log per process, empty when it found nothing.
n=0
for f in "$1"/*; do
    [ -s "$f" ] || continue
    n=$((n + 1))
    echo "==== $f"
    head -60 "$f"
done
if [ $n -gt 0 ]; then
    echo "wraplog: $n report(s) in $1" >&2
    exit 1
fi
echo "wraplog: no report in $1"
