#!/bin/bash
# t/tools/dns.sh — a real DNS server on 127.0.0.1 for tests (dnslib's zoneresolver,
# package python3-dnslib), answering on UDP and TCP from a master-format zone file.
#
#   t/tools/dns.sh start ZONEFILE PORT PIDFILE   returns once it answers on UDP
#                                                and TCP; its log is PIDFILE.log
#   t/tools/dns.sh stop PIDFILE                  TERM, then KILL, by PID
#   t/tools/dns.sh query PORT NAME [TYPE [tcp]]  prints "RCODE" then one answer
#                                                per line: "NAME TTL IN TYPE RDATA"
#
# What this server does (dnslib 0.9.23): names are matched exactly (no wildcards,
# no delegation); a name or type not in the zone gets NXDOMAIN, even when the
# name exists with another type (no NODATA); an MX or CNAME answer carries the
# target's A/AAAA records in the additional section.
# Debian's python3-* modules load only under /usr/bin/python3, hence that path.
set -eu

py=/usr/bin/python3
die() { echo "dns.sh: $*" >&2; exit 1; }

# query PORT NAME TYPE PROTO: exit 0 and print the answer, exit 1 on no answer.
query() {
    "$py" - "$@" <<'EOF'
import sys
from dnslib import DNSRecord, RCODE
port, name, qtype, proto = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
q = DNSRecord.question(name, qtype)
try:
    raw = q.send("127.0.0.1", port, tcp=(proto == "tcp"), timeout=1)
except Exception as e:
    print("no answer: %s" % e, file=sys.stderr)
    sys.exit(1)
r = DNSRecord.parse(raw)
print(RCODE[r.header.rcode])
for rr in r.rr:
    print(rr.toZone())
EOF
}

do_start() {
    local zone=$1 port=$2 pidfile=$3 pid i
    [ -r "$zone" ] || die "cannot read zone file $zone"
    case $port in ''|*[!0-9]*) die "bad port: $port" ;; esac
    # No inherited stdout: prove waits for every holder of the test's stdout.
    "$py" -u -m dnslib.zoneresolver --zone "$zone" --address 127.0.0.1 \
        --port "$port" --tcp </dev/null >"$pidfile.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { cat "$pidfile.log" >&2; die "server exited"; }
        # Any reply, NXDOMAIN included, means the server is up.
        if query "$port" probe.invalid A udp >/dev/null 2>&1 &&
           query "$port" probe.invalid A tcp >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    do_stop "$pidfile"
    die "no answer on 127.0.0.1:$port within 10 s"
}

do_stop() {
    local pidfile=$1 pid
    [ -r "$pidfile" ] || return 0
    pid=$(tr -dc 0-9 < "$pidfile")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

case ${1:-} in
    start) [ $# -eq 4 ] || die "usage: dns.sh start ZONEFILE PORT PIDFILE"
           do_start "$2" "$3" "$4" ;;
    stop)  [ $# -eq 2 ] || die "usage: dns.sh stop PIDFILE"
           do_stop "$2" ;;
    query) [ $# -ge 3 ] && [ $# -le 5 ] || die "usage: dns.sh query PORT NAME [TYPE [tcp]]"
           query "$2" "$3" "${4:-A}" "${5:-udp}" ;;
    *) echo "usage: dns.sh start ZONEFILE PORT PIDFILE | stop PIDFILE | query PORT NAME [TYPE [tcp]]" >&2
       exit 64 ;;
esac
