# t/tools/daemon.sh — sourced by t/tools/clamd.sh and t/tools/spamd.sh:
# the start of a private daemon for the tests, the same for both.
#
#   daemon_ping ADDR REQUEST REPLY
#       exit 0 when the daemon at ADDR (a socket path or host:port)
#       answers REQUEST (backslash escapes: \0, \r\n) with a reply that
#       holds REPLY
#   daemon_wait NAME PID TRIES ADDR REQUEST REPLY LOG...
#       waits up to TRIES tenths of a second for the daemon started as PID
#       to answer at ADDR, then prints PID; if it exits or does not answer
#       in time, kills it and dies with the end of its LOG files
#
# The caller sets die() (its own name in the message).

daemon_ping() {
    /usr/bin/python3 - "$@" <<'PYEOF'
import socket, sys
a, req, reply = sys.argv[1], sys.argv[2], sys.argv[3]
req = req.encode().decode("unicode_escape").encode("latin-1")
try:
    if a.startswith("/"):
        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(a)
    else:
        h, p = a.rsplit(":", 1)
        s = socket.create_connection((h, int(p)), 2)
    s.sendall(req)
    sys.exit(0 if reply.encode() in s.recv(256) else 1)
except OSError:
    sys.exit(1)
PYEOF
}

daemon_wait() {
    local name=$1 pid=$2 tries=$3 addr=$4 req=$5 reply=$6 i
    shift 6
    for ((i = 0; i < tries; i++)); do
        daemon_ping "$addr" "$req" "$reply" && { echo "$pid"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    die "$name did not start: $(tail -5 "$@" 2>/dev/null)"
}
