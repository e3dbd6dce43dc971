# t/smtp.sh — shared set-up for the sluice-smtp tests (t/50-smtp-*.t),
# sourced after t/lib.sh: a private configuration folder, a DNS server, the
# Python test server.  (Tables and smtp-sink: table and start_sink, t/lib.sh.)

conf=$tmpdir/conf
mkdir -p "$conf"
export SLUICE_CONF=$conf
export TMPDIR=$tmpdir
# sluice-smtp remembers unreachable destinations in the spool: a folder of
# the test's own, absent (no memory) unless a test makes it.
export SLUICE_SPOOL=$tmpdir/spool

# start_dns ZONE-TEXT — serve the zone on a free port; sets $dport.
start_dns() {
    printf '%s\n' "$1" > "$tmpdir/zone"
    dport=$(free_port)
    "$tools/dns.sh" start "$tmpdir/zone" "$dport" "$tmpdir/dns.pid" ||
        bail "the DNS server did not start"
    at_exit "'$tools/dns.sh' stop '$tmpdir/dns.pid'"
}

# start_py PIDVAR PORT LOG [OPTIONS...] — the Python test server
# t/tools/smtp-tls-server.py on 127.0.0.1:PORT, its sessions recorded in LOG,
# with the certificate $tmpdir/cert.pem and key $tmpdir/key.pem (made for
# CN=mx.test when missing).
start_py() {
    local var=$1 port=$2 log=$3
    shift 3
    [ -f "$tmpdir/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes \
        -days 2 -subj /CN=mx.test -keyout "$tmpdir/key.pem" \
        -out "$tmpdir/cert.pem" 2>/dev/null || bail "openssl req failed"
    spawn "$var" "$PY" "$tools/smtp-tls-server.py" "$port" "$log" \
        "$tmpdir/cert.pem" "$tmpdir/key.pem" "$@"
    wait_port "$port" 10 || bail "the test SMTP server on $port did not start"
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
