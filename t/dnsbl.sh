# t/dnsbl.sh — shared set-up for the sluice-dnsbl tests
# (t/21-dnsbl-*.t, t/20-smtpd-sender-access.t), sourced after t/lib.sh: a private
# configuration folder and a real DNS server on loopback (t/tools/dnsbl-dns.py,
# dnslib) serving DNS-BL zones that follow RFC 5782's test points.
#
#   dnsbl_dns [SUFFIX=SECONDS...]  start the server (slow zones as given);
#                                  sets $dport; every question is logged
#                                  as "TYPE NAME" in $tmpdir/dns-questions
#   dnsbl_conf NAME [SETTING VALUE]...   $tmpdir/NAME: settings (dns_servers
#       pointing at the server), tables domains/users/access for sluice-smtpd
#       and empty dnsbl/dnsbl_whitelist; sets SLUICE_CONF to it
#   dnsbl_table NAME LINE...       write table NAME of $SLUICE_CONF, compiled

v6_2=2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0  # ::FFFF:7F00:2
v6_1=1.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0  # ::FFFF:7F00:1
v6_bad=d.a.b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2  # 2001:db8::bad

dnsbl_zone() {
    cat <<EOF2
\$TTL 60
; bl.test: an IPv4 list as RFC 5782 wants it (127.0.0.2 listed, 127.0.0.1 not)
2.0.0.127.bl.test.       IN A   127.0.0.2
2.0.0.127.bl.test.       IN TXT "Listed for testing: see https://bl.test/q?127.0.0.2"
3.0.0.127.bl.test.       IN A   127.0.0.4
; tf.test: the same, for a tempfail list; tag.test and tag2.test for tagging
2.0.0.127.tf.test.       IN A   127.0.0.2
2.0.0.127.tf.test.       IN TXT "Temporarily listed"
2.0.0.127.tag.test.      IN A   127.0.0.3
2.0.0.127.tag.test.      IN TXT "Tagged \"quoted\" reason"
2.0.0.127.tag2.test.     IN A   127.0.0.10
; bl6.test: an IPv6 list (::FFFF:7F00:2 and 2001:db8::bad listed)
$v6_2.bl6.test.          IN A   127.0.0.2
$v6_2.bl6.test.          IN TXT "IPv6 test point"
$v6_bad.bl6.test.        IN A   127.0.0.2
; dbl.test: a domain list (TEST listed, INVALID not), and spam.example
test.dbl.test.           IN A   127.0.1.2
test.dbl.test.           IN TXT "Domain listed for testing"
spam.example.dbl.test.   IN A   127.0.1.2
; refused.test refuses every query (127.255.255.254), as Spamhaus does
2.0.0.127.refused.test.  IN A   127.255.255.254
; broken.test lists the world, the negative test point 127.0.0.1 included
1.0.0.127.broken.test.   IN A   127.0.0.2
2.0.0.127.broken.test.   IN A   127.0.0.2
invalid.broken.test.     IN A   127.0.0.2
; hijack.test: an answer outside 127.0.0.0/8 (a resolver's advertising page)
2.0.0.127.hijack.test.   IN A   198.51.100.1
; slow1..slow4.test: each lists 127.0.0.2, slowly when the server is told so
2.0.0.127.slow1.test.    IN A   127.0.0.2
2.0.0.127.slow2.test.    IN A   127.0.0.2
2.0.0.127.slow3.test.    IN A   127.0.0.2
2.0.0.127.slow4.test.    IN A   127.0.0.2
EOF2
    local i
    # Clients 127.0.1.1 .. 127.0.1.30, listed by slow1.test: for batches.
    for ((i = 1; i <= 30; i++)); do
        echo "$i.1.0.127.slow1.test. IN A 127.0.0.2"
    done
}

dnsbl_dns() {
    local a
    local -a slow=()
    for a in "$@"; do slow+=(--slow "$a"); done
    dnsbl_zone > "$tmpdir/zone"
    dport=$(free_port) || bail "no free port"
    spawn dns_pid "$PY" "$tools/dnsbl-dns.py" --zone "$tmpdir/zone" --port "$dport" \
        --log "$tmpdir/dns-questions" "${slow[@]}"
    wait_for "'$tools/dns.sh' query $dport probe.invalid A" 10 ||
        bail "the DNS server did not start: $(cat "$tmpdir/dnsbl-dns.py.log")"
    : > "$tmpdir/dns-questions"
}

dnsbl_conf() {
    local d=$tmpdir/$1 t
    shift
    mkdir -p "$d/spool"
    printf 'hostname mx.example.test\nspool %s\ndns_servers 127.0.0.1:%s\n' \
        "$d/spool" "$dport" > "$d/config"
    while [ $# -ge 2 ]; do
        printf '%s %s\n' "$1" "$2" >> "$d/config"
        shift 2
    done
    echo example.test > "$d/domains"
    echo 'test@example.test x/' > "$d/users"
    : > "$d/access"
    : > "$d/dnsbl"
    : > "$d/dnsbl_whitelist"
    for t in config domains users access dnsbl dnsbl_whitelist; do
        sluice-mkcdb -o "$d/$t.cdb" "$d/$t" || bail "sluice-mkcdb $d/$t failed"
    done
    export SLUICE_CONF=$d
}

dnsbl_table() {
    local name=$1
    shift
    printf '%s\n' "$@" > "$SLUICE_CONF/$name"
    sluice-mkcdb -o "$SLUICE_CONF/$name.cdb" "$SLUICE_CONF/$name" ||
        bail "sluice-mkcdb $name failed"
}

# questions PATTERN — how many questions the server got whose line matches.
questions() { grep -cE "$1" "$tmpdir/dns-questions"; }
