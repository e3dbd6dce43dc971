#!/bin/bash
# t/bench/syscount.sh — what sluice does per message, counted: make run's
# setup (t/tools/run.sh) from TREE under strace -f, one smtp-source session
# of N messages of 5 KB (-s 1 -d, as section c's "one" mode), then per
# message: system calls, processes started, execve (and chain runs: the
# execs of the chain's first stage), fsync + fdatasync, files created
# (open with O_CREAT, O_TMPFILE, mkdir), link + rename; and the execs by
# program.  strace slows every process, so the batches differ from an
# untraced run's; the counts per batch do not.
#
#   [LIGHT=1] t/bench/syscount.sh [TREE] [N]   (TREE: this checkout; N: 200)
top=$(cd "$(dirname "$0")/../.." && pwd)
tree=$(cd "${1:-$top}" && pwd)
n=${2:-200}
b=$(mktemp -d "${TMPDIR:-/tmp}/sluice-syscount.XXXXXX") || exit 1
chmod 0711 "$b"
# run.sh stops its servers on SIGTERM; strace ends with the last of them.
trap 'kill -TERM $(pgrep -P "$pid") 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$b"' EXIT
port=$((20000 + RANDOM % 10000))
# LIGHT=1: only execve, fsync and fdatasync stop the processes (seccomp),
# so that the batches are nearly an untraced run's; the other counts are
# then those syscalls' only.
trace=()
[ "${LIGHT:-0}" = 1 ] && trace=(--seccomp-bpf -e trace=execve,fsync,fdatasync)
VAR=$b/var PORT=$port strace -f -qq "${trace[@]}" -o "$b/trace" "$tree/t/tools/run.sh" > "$b/run.log" 2>&1 &
pid=$!
for ((i = 0; i < 300; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
# Only what happens from the first message on counts.
: > "$b/trace.mark"; before=$(wc -l < "$b/trace")
smtp-source -s 1 -d -m "$n" -l 5120 -f a@example.test -t test@example.test "127.0.0.1:$port" \
    > "$b/source.log" 2>&1 || { echo "smtp-source failed: $(head -c 200 "$b/source.log")"; exit 1; }
for ((i = 0; i < 600; i++)); do
    [ "$(ls "$b/var/mail/test/new" 2>/dev/null | wc -l)" -ge "$n" ] && break
    sleep 0.1
done
sleep 1
got=$(ls "$b/var/mail/test/new" 2>/dev/null | wc -l)
tail -n +"$((before + 1))" "$b/trace" > "$b/t"
awk -v n="$n" -v got="$got" '
    / = / || /resumed>/ { sys++ }
    # An execve that succeeds, finished on its line or resumed later (by pid).
    match($0, /execve\("[^"]*"/) { p = substr($0, RSTART + 8, RLENGTH - 9); sub(/.*\//, "", p)
        if (/ = 0$/) { ex++; prog[p]++ } else if (/unfinished/) pend[$1] = p }
    /<\.\.\. execve resumed>/ && / = 0$/ && ($1 in pend) { ex++; prog[pend[$1]]++; delete pend[$1] }
    /[^a-z_](clone|clone3|fork|vfork)\(/ && !/= -1/ { proc++ }
    /[^a-z_](fsync|fdatasync)\(/ { fs++ }
    /open(at)?\(.*O_CREAT/ || /O_TMPFILE/ || /[^a-z_]mkdir(at)?\(/ { cr++ }
    /[^a-z_](link|linkat|rename|renameat|renameat2)\(/ { ln++ }
    END {
        printf "delivered %d of %d\n", got, n
        printf "per message: system calls %.1f, processes started %.2f, execve %.2f, fsync+fdatasync %.2f, files created %.2f, link+rename %.2f\n",
            sys / n, proc / n, ex / n, fs / n, cr / n, ln / n
        printf "chain runs (execs of sluice-envelope): %d for %d messages\n", prog["sluice-envelope"], n
        for (p in prog) printf "  execve %-22s %d\n", p, prog[p]
    }' "$b/t"
