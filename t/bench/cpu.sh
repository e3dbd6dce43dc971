#!/bin/bash
# t/bench/cpu.sh — one end-to-end run, as section c of make bench runs it,
# with the CPU it took: what a message costs when the two systems are
# CPU-bound, and how long the last messages took after the last 250.
#
#   t/bench/cpu.sh MODE N SYSTEM... [-- PERF-OPTIONS]
#
# MODE is new, reuse or one (as accept.sh); N messages of 5 KB.  Each
# SYSTEM in turn, on a fresh instance, after sync and a 3 s pause:
#   TREE      a checkout with bin/ and libexec/ built: make run's setup
#             and conf/config (t/tools/run.sh), the runner included;
#   postfix   t/tools/postfix.sh, delivering into a Maildir.
# Prints per run: msg/s from the first connection to the last message in
# the Maildir; the CPU busy time (user, system, interrupts, from
# /proc/stat, every process on the machine) per message; and the tail,
# from smtp-source's end (the last 250) to the last message in the
# Maildir, with how many were there at the last 250.  With "-- OPTIONS",
# `perf record -a OPTIONS` runs over each timed part, into
# $TMPDIR/cpu-perf.SYSTEM.N (kept), e.g. `-- -g` or
# `-- -e sched:sched_process_exec -e sched:sched_process_exit`.
# Needs root (Postfix, tcpserver -u), smtp-source, tcpserver.
set -u
. "$(dirname "$0")/modes.sh"
perf_opts=() systems=() runs=0
while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; perf_opts=("$@"); break; fi
    systems+=("$1"); shift
done
[ ${#systems[@]} -gt 0 ] || { echo "usage: $me MODE N SYSTEM... [-- PERF-OPTIONS]" >&2; exit 2; }

busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
now() { date +%s%N; }

# one NAME MAILDIR PORT — the timed run against a started system
one() {
    local name=$1 new=$2/test/new port=$3 b0 b1 t0 ts t1 at pp='' limit out
    sync; sleep 3
    if [ ${#perf_opts[@]} -gt 0 ]; then
        out=${TMPDIR:-/tmp}/cpu-perf.$name.$runs
        perf record -q -a "${perf_opts[@]}" -o "$out" >/dev/null 2>&1 &
        pp=$!
        sleep 0.5
    fi
    b0=$(busy) t0=$(now)
    smtp-source "${src[@]}" -m "$n" -l 5120 -f a@example.test -t test@example.test \
        "127.0.0.1:$port" >/dev/null 2>&1
    ts=$(now) at=$(count "$new")
    limit=$((ts + (60 + n / 20) * 1000000000))
    while [ "$(count "$new")" -lt "$n" ] && [ "$(now)" -lt "$limit" ]; do sleep 0.02; done
    t1=$(now) b1=$(busy)
    [ -z "$pp" ] || { kill -INT "$pp"; wait "$pp"; }
    printf '%-24s %5s %7s msg/s  %5s us CPU/msg  tail %4s ms (%s of %s at the last 250)%s\n' \
        "$name" "$mode" "$((n * 1000000000 / (t1 - t0)))" \
        "$(( (b1 - b0) * 1000000 / $(getconf CLK_TCK) / n ))" "$(( (t1 - ts) / 1000000 ))" \
        "$at" "$n" "$([ "$(count "$new")" -ge "$n" ] || echo "  INCOMPLETE: $(count "$new")")"
}

run_sluice() {
    local tree=$1 var=$b/var.$((++runs)) port
    port=$(free_port)
    VAR=$var PORT=$port "$tree/t/tools/run.sh" > "$var.log" 2>&1 &
    srv_pid=$!
    wait_port "$port" || { echo "$tree: did not start:"; tail -3 "$var.log"; return 1; }
    one "sluice $(basename "$tree")" "$var/mail" "$port"
    kill -TERM "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=''
}

run_postfix() {
    local port mail=$b/pfmail.$((++runs))
    pf_dir=$b/postfix.$runs
    mkdir -p "$mail"
    port=$(free_port)
    "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$mail" test >/dev/null 2>&1 ||
        { echo "Postfix did not start"; return 1; }
    one postfix "$mail" "$port"
    "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    pf_dir=''
}

for sys in "${systems[@]}"; do
    case $sys in
    postfix) run_postfix ;;
    *) run_sluice "$(cd "$sys" && pwd)" ;;
    esac
done
