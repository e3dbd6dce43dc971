#!/bin/bash
# t/tools/clamd.sh — a private clamd for tests, with a local signature
# database and no network (no freshclam): EICAR as a body signature
# (local.ndb, so it is found inside any decoded data) and ClamAV's test
# program clam.exe by its MD5 (local.hdb, for clamav-testfiles' samples).
#
#   t/tools/clamd.sh start DIR PORT   writes DIR/clamd.conf and DIR/db/, starts
#                                     clamd in the foreground (socket
#                                     DIR/clamd.sock and 127.0.0.1:PORT), prints
#                                     its PID once it answers PING
#   t/tools/clamd.sh eicar            prints the EICAR test string
#   t/tools/clamd.sh ping ADDR        exit 0 when clamd at ADDR (socket path or
#                                     host:port) answers PONG
#
# ScanMail is off: clamd then takes a mail as plain octets, so a test finds
# base64, quoted-printable or uuencoded EICAR only if sluice-scan decoded it.
# The caller stops clamd by the printed PID.
set -eu

. "$(dirname "$0")/daemon.sh"
die() { echo "clamd.sh: $*" >&2; exit 1; }

eicar() { printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'; }

ping() { daemon_ping "$1" 'zPING\0' PONG; }

start() {
    local dir=$1 port=$2 clamd
    clamd=$(command -v clamd || echo /usr/sbin/clamd)
    [ -x "$clamd" ] || die "clamd is missing (package clamav-daemon, .ci/deps)"
    command -v sigtool >/dev/null || die "sigtool is missing (package clamav, .ci/deps)"
    mkdir -p "$dir/db"
    echo "Eicar-Test-Signature:0:*:$(eicar | od -An -tx1 | tr -d ' \n')" > "$dir/db/local.ndb"
    if [ -r /usr/share/clamav-testfiles/clam.exe ]; then
        sigtool --md5 /usr/share/clamav-testfiles/clam.exe |
            sed 's/:[^:]*$/:ClamAV-Test-File/' > "$dir/db/local.hdb"
    fi
    cat > "$dir/clamd.conf" <<CONF
DatabaseDirectory $dir/db
LocalSocket $dir/clamd.sock
LocalSocketMode 666
TCPSocket $port
TCPAddr 127.0.0.1
Foreground yes
LogFile $dir/clamd.log
LogTime yes
ScanMail no
StreamMaxLength 200M
MaxScanSize 400M
MaxFileSize 200M
MaxThreads 8
CONF
    # A clamd running as root keeps root (no User line); it reads only DIR.
    "$clamd" --config-file="$dir/clamd.conf" </dev/null >>"$dir/clamd.out" 2>&1 &
    daemon_wait clamd $! 300 "$dir/clamd.sock" 'zPING\0' PONG "$dir/clamd.out" "$dir/clamd.log"
}

case ${1:-} in
start) shift; start "$@" ;;
eicar) eicar ;;
ping) shift; ping "$@" ;;
*) die "usage: clamd.sh start DIR PORT | eicar | ping ADDR" ;;
esac
