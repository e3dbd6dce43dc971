# t/data/smtp-test.sh — shared set-up for the sluice-smtp tests (t/50-smtp-*.t),
# sourced after t/lib.sh: a private configuration folder, a DNS server, sinks.

conf=$tmpdir/conf
mkdir -p "$conf"
export SLUICE_CONF=$conf
export TMPDIR=$tmpdir
# sluice-smtp remembers unreachable destinations in the spool: a folder of
# the test's own, absent (no memory) unless a test makes it.
export SLUICE_SPOOL=$tmpdir/spool

# table NAME LINE... — write conf/NAME and compile it.
table() {
    local name=$1
    shift
    printf '%s\n' "$@" > "$conf/$name"
    sluice-mkcdb -o "$conf/$name.cdb" "$conf/$name" || bail "sluice-mkcdb $name failed"
}

# start_dns ZONE-TEXT — serve the zone on a free port; sets $dport.
start_dns() {
    printf '%s\n' "$1" > "$tmpdir/zone"
    dport=$(free_port)
    "$tools/dns.sh" start "$tmpdir/zone" "$dport" "$tmpdir/dns.pid" ||
        bail "the DNS server did not start"
    at_exit "'$tools/dns.sh' stop '$tmpdir/dns.pid'"
}

# start_sink PIDVAR ADDR PORT DUMPDIR [SMTP-SINK OPTIONS...] — Postfix's
# smtp-sink on ADDR:PORT, each message dumped into DUMPDIR as one file.
start_sink() {
    local var=$1 addr=$2 port=$3 dir=$4 pid i
    shift 4
    mkdir -p "$dir"
    chown nobody "$dir"
    /usr/sbin/smtp-sink -u nobody -d "$dir/" "$@" "$addr:$port" 100 \
        </dev/null >>"$tmpdir/sink-$port.log" 2>&1 &
    pid=$!
    _t_pids+=("$pid")
    printf -v "$var" %s "$pid"
    for ((i = 0; i < 100; i++)); do
        "$PY" -c 'import socket,sys
s=socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)' "$addr" "$port" && return 0
        sleep 0.1
    done
    bail "smtp-sink on $addr:$port did not start"
}

# msg FROM IDENT RCPT-LINE... — one stream transaction on stdout.
msg() {
    local from=$1 id=$2 r
    shift 2
    echo "XFORWARD IDENT=$id"
    echo "MAIL FROM:<$from>"
    for r in "$@"; do echo "RCPT TO:$r"; done
    printf 'DATA\nSubject: test %s\nMessage-ID: <%s@test>\n\n..a line with a dot\nbody of %s\n.\n' \
        "$id" "$id" "$id"
}

# smtp IN OUT ERR — run sluice-smtp; its exit status.
smtp() { sluice-smtp < "$1" > "$2" 2> "$3"; }

# count_files DIR — how many messages a sink has dumped.
count_files() { find "$1" -type f 2>/dev/null | wc -l; }
