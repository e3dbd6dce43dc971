#!/bin/bash
# t/bench/files.sh — files made and removed per message, end to end: the
# accepting side (tcpserver + sluice-smtpd + sluice-enqueue, as in
# t/bench/accept.sh) and sluice-runq with the default chain delivering to
# a Maildir, all under one strace -f of the file calls.
#
#   t/bench/files.sh MODE N TREE...
#
# MODE is new (smtp-source -s 10, a connection per message), reuse (-s 10
# -d) or one (-s 1 -d); N messages of 5 KB; each TREE (a checkout with
# libexec/ built) on a fresh spool.  Prints per message the opens with
# O_CREAT and O_TMPFILE, and the unlinks that succeeded, by folder
# (ext4 without a journal pays for each new inode: doc/performance.md).
# FILES_DEBUG=1 also shows the runner's log and the calls it counted.
# The servers run as nobody, as make run runs them as its user.
# Needs root (tcpserver -u, setpriv), strace, smtp-source, tcpserver.
set -u
. "$(dirname "$0")/modes.sh"
pids=() runs=0
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; rm -rf "$b"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# classify TRACE — per message: O_CREAT and O_TMPFILE opens, unlinks, by folder
# (outside VAR: the folder itself, such as /tmp).
classify() {
    awk -v n="$n" -v var="$2" '
    function where(p) {
        if (index(p, var "/") != 1) return p ~ /^\/tmp(\/|$)/ ? "/tmp" : "elsewhere"
        p = substr(p, length(var) + 2)
        if (p ~ /^mail\//) return "Maildir"
        split(p, a, "/")
        return a[1] "/" a[2]
    }
    /open(at)?\(/ && /O_CREAT|O_TMPFILE/ && !/= -1/ {
        match($0, /"[^"]*"/); p = substr($0, RSTART + 1, RLENGTH - 2)
        k = (/O_TMPFILE/ ? "O_TMPFILE " : "O_CREAT ") where(p); c[k]++ }
    /unlink(at)?\(/ && !/= -1/ {
        match($0, /"[^"]*"/); p = substr($0, RSTART + 1, RLENGTH - 2)
        c["unlink " where(p)]++ }
    END { for (k in c) printf "        %-28s %6.2f\n", k, c[k] / n }' "$1" | sort
}

for tree in "$@"; do
    tree=$(cd "$tree" && pwd)
    var=$b/var.$((++runs))
    mkdir -p "$var"
    VAR=$var "$top/t/tools/run.sh" --setup >/dev/null 2>&1 || { echo "setup failed"; exit 1; }
    chown -R "$uid:$gid" "$var"
    port=$(free_port)
    env=(SLUICE_CONF=$var/conf SLUICE_SPOOL=$var/spool SLUICE_LIBEXEC=$tree/libexec
        PATH=$tree/bin:$tree/libexec:$PATH)
    # -ff: a file per process, so no call is cut in two; -y: a folder's descriptor shows its path, so every name can be made whole.
    env "${env[@]}" strace -ff -qq -y -e trace=open,openat,creat,unlink,unlinkat \
        -o "$b/trace" -- sh -c "
        tcpserver -R -H -l 0 -b 100 -c 100 -u $uid -g $gid 127.0.0.1 $port \
            $tree/libexec/sluice-smtpd </dev/null 2>/dev/null &
        echo \$! > $b/tcpserver.pid
        echo \$\$ > $b/runq.pid
        exec setpriv --reuid=$uid --regid=$gid --clear-groups $tree/libexec/sluice-runq </dev/null 2>$b/runq.log" &
    pids=($!)
    wait_port "$port" || { echo "sluice did not start"; exit 1; }
    smtp-source "${src[@]}" -m "$n" -l 5120 -f a@example.test -t test@example.test \
        "127.0.0.1:$port" >/dev/null 2>&1
    for ((i = 0; i < 600; i++)); do
        [ "$(find "$var/mail" -type f -path '*/new/*' | wc -l)" -ge "$n" ] && break
        sleep 0.1
    done
    sleep 1
    kill -TERM "$(cat "$b/tcpserver.pid")" "$(cat "$b/runq.pid")"
    wait "${pids[0]}" 2>/dev/null
    pids=()
    echo "$tree, mode $mode: $(find "$var/mail" -type f -path '*/new/*' | wc -l)/$n delivered," \
        "$(grep -c '^sluice-runq: .* status=sent' "$b/runq.log") sent by the runner"
    # openat(3</a/folder>, "name", ...) -> openat("/a/folder/name", ...)
    sed -E 's#(open|unlink)at\([0-9]+<([^>]*)>, "#\1at("\2/#; s#(open|unlink)at\(AT_FDCWD, "#\1at("#' \
        "$b"/trace.* > "$b/trace.abs"
    classify "$b/trace.abs" "$var"
    [ -n "${FILES_DEBUG:-}" ] && grep -E "O_CREAT|O_TMPFILE|unlink" "$b/trace.abs" | grep -v "= -1" | cut -c1-110 | sort | uniq -c | sort -rn | head -30
    [ -n "${FILES_DEBUG:-}" ] && grep -v status=deferred "$b/runq.log" | head -20 && find "$var/mail" | head
    rm -f "$b"/trace.*
done
