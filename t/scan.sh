# t/scan.sh — helpers for the sluice-scan tests (t/6x-scan-*.t); source it
# after t/lib.sh.  It sources t/content.sh: content_conf makes their
# configuration folders.
#
#   clamd_start      a private clamd (t/tools/clamd.sh): sets CLAMD_PID,
#       CLAMD_SOCK (its Unix socket) and CLAMD_TCP (127.0.0.1:PORT); stopped
#       by PID at exit
#   mail KIND [FROM [TO]]   a test message as a stream transaction
#       (t/tools/virusmail.py); EICAR in all kinds but clean, bigclean, forged
#   scan CONF < in > out   sluice-scan with that configuration; its log in
#       $tmpdir/scan.log
#   raw_reply FILE   what clamd says of FILE's octets as they are (no decoding)

. "$top/t/content.sh"

clamd_start() {
    local port
    port=$(free_port)
    CLAMD_PID=$("$tools/clamd.sh" start "$tmpdir/clamd" "$port") ||
        bail "clamd did not start"
    _t_pids+=("$CLAMD_PID")
    CLAMD_SOCK=$tmpdir/clamd/clamd.sock
    CLAMD_TCP=127.0.0.1:$port
}

mail() { "$PY" "$tools/virusmail.py" "$@"; }

scan() {
    SLUICE_CONF=$tmpdir/$1 sluice-scan "${@:2}" 2>> "$tmpdir/scan.log"
}

raw_reply() {
    "$PY" - "$CLAMD_SOCK" "$1" <<'PYEOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b"zINSTREAM\0")
data = open(sys.argv[2], "rb").read()
s.sendall(struct.pack(">I", len(data)) + data + struct.pack(">I", 0))
print(s.recv(4096).rstrip(b"\0").decode())
PYEOF
}
