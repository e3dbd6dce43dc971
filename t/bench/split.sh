#!/bin/bash
# t/bench/split.sh — section c's two halves, each alone: the accepting side
# (smtp-source to the 250 after DATA, nothing delivering) and the
# delivering side (the queued messages into the Maildir, nothing arriving),
# so that a change to one half can be weighed by itself, and each system's
# halves against the other's.
#
#   t/bench/split.sh MODE N SYSTEM...
#
# MODE is new, reuse or one (as accept.sh); N messages of 5 KB.  Each
# SYSTEM in turn, in fresh folders (removed at the end):
#   TREE        a checkout with libexec/ built: make run's setup, tcpserver +
#               sluice-smtpd + sluice-enqueue with no runner, then
#               `sluice-runq -1` over what was queued;
#   noop:TREE   sluice-smtpd with a queue program that reads its input and
#               exits 0 (no queue file, no fsync): what a program per
#               connection and per message costs by itself (accepting only);
#   postfix     t/tools/postfix.sh with its qmgr out of master.cf while the
#               mail comes in, then put back: qmgr, local(8) and the rest.
# The delivering side is timed from the first message in the Maildir to the
# last, so that neither system's start (the runner's first chain; master
# starting qmgr) counts.  Needs root (tcpserver -u, Postfix), smtp-source,
# tcpserver, cc (musl-gcc when there is one, for a static no-op program as
# sluice's own programs are).
set -u
. "$(dirname "$0")/modes.sh"
runs=0

now() { date +%s%N; }
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n * 1e9 / t }'; }
# deliveries DIR N LIMIT — wait until DIR holds N files (or LIMIT seconds);
# sets dr (msg/s from the first file to the last, "" if not all came)
deliveries() {
    local i c t_first=''
    dr=''
    for ((i = 0; i < $3 * 100; i++)); do
        c=$(count "$1")
        [ -n "$t_first" ] || [ "$c" = 0 ] || t_first=$(now)
        [ "$c" -ge "$2" ] && break
        sleep 0.01
    done
    [ "$c" -ge "$2" ] && [ "$2" -gt 1 ] && dr=$(rate $(($2 - 1)) $(($(now) - t_first)))
}

# send PORT — the N messages, timed: sets acc (msg/s)
send() {
    local t0
    sync; sleep 1
    t0=$(now)
    smtp-source "${src[@]}" -m "$n" -l 5120 -f a@example.test -t test@example.test \
        "127.0.0.1:$1" >/dev/null 2>&1
    acc=$(rate "$n" $(($(now) - t0)))
}

row() {	# row SYSTEM QUEUED ACCEPT DELIVERED DELIVER
    printf '%-28s %5s %10s %9s %10s %9s\n' "$1" "$mode" "$2/$n" "${3:--}" "$4" "${5:--}"
}

run_sluice() {
    local tree=$1 noop=$2 var=$b/var.$((++runs)) port q runq
    local -a env
    mkdir -p "$var"
    VAR=$var "$top/t/tools/run.sh" --setup >/dev/null 2>&1 || { echo "$tree: setup failed"; return 1; }
    chown -R "$uid:$gid" "$var"
    env=(SLUICE_CONF="$var/conf" SLUICE_SPOOL="$var/spool" SLUICE_LIBEXEC="$tree/libexec"
         PATH="$tree/bin:$tree/libexec:$PATH")
    [ "$noop" = 0 ] || env+=(SLUICE_QUEUE="$b/noopq")
    port=$(free_port)
    env "${env[@]}" tcpserver -R -H -l 0 -b 100 -c 100 -u "$uid" -g "$gid" \
        127.0.0.1 "$port" "$tree/libexec/sluice-smtpd" </dev/null >/dev/null 2>&1 &
    srv_pid=$!
    wait_port "$port" || { echo "$tree: sluice-smtpd did not start"; return 1; }
    send "$port"
    kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=''
    if [ "$noop" = 1 ]; then
        row "sluice, no-op queue program" "$n" "$acc" - ""
        return
    fi
    q=$(count "$var/spool/incoming")
    sync; sleep 1
    setpriv --reuid="$uid" --regid="$gid" --clear-groups env "${env[@]}" \
        "$tree/libexec/sluice-runq" -1 </dev/null >/dev/null 2>&1 &
    runq=$!
    deliveries "$var/mail/test/new" "$q" $((60 + n / 50))
    wait "$runq"
    row "sluice $(basename "$tree")" "$q" "$acc" "$(count "$var/mail/test/new")" "$dr"
}

run_postfix() {
    local port mail=$b/pfmail.$((++runs)) etc q
    pf_dir=$b/postfix.$runs etc=$b/postfix.$runs/etc
    mkdir -p "$mail"
    port=$(free_port)
    POSTFIX_MAIN_CF='master_service_disable = qmgr.unix qmgr.fifo' \
        "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$mail" test >/dev/null 2>&1 ||
        { echo "Postfix did not start"; return 1; }
    send "$port"
    q=$(count "$pf_dir/spool/incoming")
    sync; sleep 1
    postconf -c "$etc" -e "master_service_disable =" && postfix -c "$etc" reload >/dev/null 2>&1
    deliveries "$mail/test/new" "$q" $((60 + n / 50))
    "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    pf_dir=''
    row "$(postconf -d -h mail_version 2>/dev/null | sed 's/^/Postfix /')" "$q" "$acc" \
        "$(count "$mail/test/new")" "$dr"
}

printf 'int main(void){static char b[65536];while(read(0,b,sizeof b)>0);return 0;}\n' |
    sed '1s/^/#include <unistd.h>\n/' > "$b/noopq.c"
cc=cc
command -v musl-gcc >/dev/null && cc="musl-gcc -static"
$cc -O2 -o "$b/noopq" "$b/noopq.c" || exit 1
chmod 755 "$b/noopq"
printf '%-28s %5s %10s %9s %10s %9s\n' system mode queued "accept/s" delivered "deliver/s"
for sys in "$@"; do
    case $sys in
    postfix) run_postfix ;;
    noop:*) run_sluice "$(cd "${sys#noop:}" && pwd)" 1 ;;
    *) run_sluice "$(cd "$sys" && pwd)" 0 ;;
    esac
done
echo "(accept/s: smtp-source alone, nothing delivering; deliver/s: the queue into the"
echo " Maildir alone, nothing arriving, from the first file there to the last)"
