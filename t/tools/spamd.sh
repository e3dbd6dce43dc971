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

py=/usr/bin/python3
die() { echo "spamd.sh: $*" >&2; exit 1; }

gtube() { printf '%s' 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'; }

ping() {
    "$py" - "$1" <<'PYEOF'
import socket, sys
a = sys.argv[1]
try:
    if a.startswith("/"):
        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(a)
    else:
        h, p = a.rsplit(":", 1)
        s = socket.create_connection((h, int(p)), 2)
    s.sendall(b"PING SPAMC/1.5\r\n\r\n")
    sys.exit(0 if b"PONG" in s.recv(256) else 1)
except OSError:
    sys.exit(1)
PYEOF
}

start() {
    local dir=$1 port=$2 pid i spamd
    spamd=$(command -v spamd || echo /usr/sbin/spamd)
    [ -x "$spamd" ] || die "spamd is missing (packages spamd and spamc, .ci/deps)"
    mkdir -p "$dir"
    # -u nobody: spamd refuses to run its children as root.
    "$spamd" -x -L --listen "127.0.0.1:$port" --listen "$dir/spamd.sock" \
        --socketmode 0666 --pidfile "$dir/spamd.pid" -u nobody -s stderr \
        --max-children 2 </dev/null >>"$dir/spamd.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 600; i++)); do
        ping "127.0.0.1:$port" && { echo "$pid"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    die "spamd did not start: $(tail -5 "$dir/spamd.log" 2>/dev/null)"
}

case ${1:-} in
start) shift; start "$@" ;;
ping) shift; ping "$@" ;;
gtube) gtube ;;
*) die "usage: spamd.sh start DIR PORT | ping ADDR | gtube" ;;
esac
