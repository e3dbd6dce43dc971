#!/bin/bash
# t/bench/accept.sh — the accepting side alone: what one message costs from
# the client's connection to the 250 after DATA, with nothing delivering.
#
#   t/bench/accept.sh MODE N SYSTEM...
#
# MODE is new (smtp-source -s 10, a connection per message), reuse (-s 10 -d)
# or one (-s 1 -d); N messages of 5 KB.  Each SYSTEM in turn, on a fresh
# spool: a tree (a checkout with libexec/ built: tcpserver + sluice-smtpd +
# sluice-enqueue, make run's settings, no sluice-runq) or the word postfix
# (t/tools/postfix.sh with qmgr disabled, so that mail stays in incoming/).
# Give SYSTEMs alternately (A B A B ...) on a shared machine.
#
# Prints per run: the wall time per message, and the CPU time per message
# by process name (perf record -e cpu-clock -g of that system's processes
# only, 4 kHz), each split into the system calls that took it, page
# faults, user space and the rest of the kernel.  ACCEPT_STRACE=1 counts
# system calls per message instead (strace -f -c; sluice only).
# Needs root (tcpserver -u, Postfix), perf, smtp-source, tcpserver.
set -u
. "$(dirname "$0")/modes.sh"

# by_process PERFDATA — CPU per message by process name and where it went.
by_process() {
    perf script -i "$1" -F comm,ip,sym 2>/dev/null | python3 -c '
import sys, collections
n, period = float(sys.argv[1]), 250.0    # us per sample at 4 kHz
calls = ("recently_deleted", "exc_page_fault")
per = collections.Counter(); part = collections.defaultdict(collections.Counter)
def take(comm, chain):
    if comm is None: return
    per[comm] += 1
    for f in chain:    # innermost first: the first match names the sample
        if f in calls or f.startswith(("__x64_sys_", "__do_sys_")):
            part[comm][f.replace("__x64_sys_", "").replace("__do_sys_", "")] += 1
            return
    kernel = any(f.startswith(("entry_SYSCALL", "asm_", "ret_from_fork")) for f in chain)
    part[comm]["other kernel" if kernel else "user"] += 1
comm, chain = None, []
for line in sys.stdin:
    if not line.strip():
        take(comm, chain); comm, chain = None, []
    elif not line[0].isspace():
        comm = line.split()[0]
    else:
        p = line.split()
        if len(p) > 1: chain.append(p[1].split("+")[0])
take(comm, chain)
tot = sum(per.values())
print("    CPU per message %.0f us" % (tot * period / n))
for c, k in per.most_common():
    if k * period / n < 5: continue
    print("    %-18s %6.0f us" % (c, k * period / n))
    print("        " + ", ".join("%s %.0f" % (w, v * period / n)
          for w, v in part[c].most_common() if v * period / n >= 4))
' "$n"
}

# Every run gets its own folders, removed only at the end: deleting one
# run's 1,000 files just before the next would slow the next one's file
# creations (doc/performance.md, the accepting side: recently_deleted).
runs=0

# send PORT — the N messages, timed into t0 and t1 (ns), between pauses
# that let the server and the profiler settle.
send() {
    sleep 0.5
    t0=$(date +%s%N)
    smtp-source "${src[@]}" -m "$n" -l 5120 -f a@example.test -t test@example.test \
        "127.0.0.1:$1" >/dev/null 2>&1
    t1=$(date +%s%N)
    sleep 0.3
}

run_sluice() {
    local tree=$1 port var=$b/var.$((++runs)) out=$b/perf.data
    mkdir -p "$var"
    VAR=$var "$top/t/tools/run.sh" --setup || return 1
    chown -R "$uid:$gid" "$var"
    port=$(free_port)
    local wrap=(perf record -q -e cpu-clock -F 4000 -g -o "$out" --)
    [ "${ACCEPT_STRACE:-0}" = 1 ] && wrap=(strace -f -c -o "$b/strace.out" --)
    SLUICE_CONF=$var/conf SLUICE_SPOOL=$var/spool SLUICE_LIBEXEC=$tree/libexec \
        PATH=$tree/bin:$tree/libexec:$PATH \
        "${wrap[@]}" tcpserver -R -H -l 0 -b 100 -c 100 -u "$uid" -g "$gid" \
        127.0.0.1 "$port" "$tree/libexec/sluice-smtpd" </dev/null 2>/dev/null &
    srv_pid=$!
    wait_port "$port" || { echo "sluice did not start"; return 1; }
    send "$port"
    # perf or strace, then tcpserver under it: stop tcpserver, they follow.
    kill "$(ps -o pid= --ppid "$srv_pid" | tr -d " ")" 2>/dev/null
    wait "$srv_pid" 2>/dev/null
    srv_pid=''
    report "$tree" "$(find "$var/spool/incoming" -type f | wc -l)"
    if [ "${ACCEPT_STRACE:-0}" = 1 ]; then
        # Columns: % time, seconds, usecs/call, calls, [errors], syscall.
        awk -v n="$n" '$NF == "total" { printf "    system calls per message %.1f\n", $4 / n }
            $1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / n >= 0.5 {
                printf "        %-14s %6.2f\n", $NF, $4 / n }' "$b/strace.out"
    else
        by_process "$out"
    fi
}

run_postfix() {
    local port mail=$b/pfmail.$((++runs)) out=$b/perf.data mp perf_pid
    pf_dir=$b/postfix.$runs
    mkdir -p "$mail"
    port=$(free_port)
    POSTFIX_MAIN_CF='master_service_disable = qmgr.unix qmgr.fifo' \
        "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$mail" test >/dev/null 2>&1 ||
        { echo "Postfix did not start"; return 1; }
    mp=$(tr -dc 0-9 < "$pf_dir/spool/pid/master.pid")
    # master and what it starts from now on (smtpd, cleanup, trivial-rewrite).
    perf record -q -e cpu-clock -F 4000 -g -p "$mp" -o "$out" 2>/dev/null &
    perf_pid=$!
    send "$port"
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null
    report postfix "$(find "$pf_dir/spool/incoming" -type f | wc -l)"
    "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    pf_dir=''
    by_process "$out"
}

report() {
    awk -v s="$1" -v m="$mode" -v q="$2" -v n="$n" -v w=$(( (t1 - t0) / 1000 )) \
        -v l="$(cut -d ' ' -f 1 /proc/loadavg)" \
        'BEGIN { printf "%s, mode %s: %d/%d queued, %.2f ms a message (wall), load %s\n", s, m, q, n, w / n / 1000, l }'
}

for sys in "$@"; do
    if [ "$sys" = postfix ]; then run_postfix; else run_sluice "$(cd "$sys" && pwd)"; fi
done
