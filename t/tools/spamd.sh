#!/bin/bash
# t/tools/spamd.sh — a private spamd (SpamAssassin) for tests, with the
# packaged rules, no network tests (-L) and no per-user configuration (-x).
#
#   t/tools/spamd.sh start DIR PORT   starts spamd listening on 127.0.0.1:PORT
#                                     and on the Unix socket DIR/spamd.sock,
#                                     prints its PID once it answers PING
#                                     (about 10 s with the packaged rules)
#   t/tools/spamd.sh ping ADDR        exit 0 when spamd at ADDR (socket path or
#                                     host:port) answers PONG
#   t/tools/spamd.sh gtube            prints the GTUBE test string
#
# The caller stops spamd by the printed PID (its children follow it).
set -eu

. "$(dirname "$0")/daemon.sh"
die() { echo "spamd.sh: $*" >&2; exit 1; }

gtube() { printf '%s' 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'; }

ping() { daemon_ping "$1" 'PING SPAMC/1.5\r\n\r\n' PONG; }

start() {
    local dir=$1 port=$2 spamd
    spamd=$(command -v spamd || echo /usr/sbin/spamd)
    [ -x "$spamd" ] || die "spamd is missing (packages spamd and spamc, .ci/deps)"
    mkdir -p "$dir"
    # -u nobody: spamd refuses to run its children as root.
    "$spamd" -x -L --listen "127.0.0.1:$port" --listen "$dir/spamd.sock" \
        --socketmode 0666 --pidfile "$dir/spamd.pid" -u nobody -s stderr \
        --max-children 2 </dev/null >>"$dir/spamd.log" 2>&1 &
    daemon_wait spamd $! 600 "127.0.0.1:$port" 'PING SPAMC/1.5\r\n\r\n' PONG "$dir/spamd.log"
}

case ${1:-} in
start) shift; start "$@" ;;
ping) shift; ping "$@" ;;
gtube) gtube ;;
*) die "usage: spamd.sh start DIR PORT | ping ADDR | gtube" ;;
esac
