#!/bin/bash
# The DNS rules of sluice-smtpd, against a real DNS server on loopback
# (dnslib): smtpd_require_rdns refuses a client without a reverse name,
# smtpd_require_fcrdns one whose reverse name does not resolve back to it,
# smtpd_require_helo_match a HELO name that is neither the client's address
# literal, nor its verified name, nor a name that resolves to it, and
# smtpd_require_sender_domain a sender whose domain has no MX or A record
# or a null MX; each with reject (5xx) or tempfail (4xx), and a DNS that
# does not answer is always a 4xx.  An allowed client is spared them.
# Entries by host name in the access table match only a verified name.
# And with no rule that needs it, no question is asked at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

cat > "$tmpdir/zone" <<'EOF'
$TTL 60
2.0.0.127.in-addr.arpa.   IN PTR good.example.test.
good.example.test.        IN A   127.0.0.2
3.0.0.127.in-addr.arpa.   IN PTR liar.example.test.
liar.example.test.        IN A   192.0.2.99
5.0.0.127.in-addr.arpa.   IN PTR slow.example.test.
helo.example.test.        IN A   127.0.0.2
other.example.test.       IN A   192.0.2.98
mx.example.org.           IN MX  10 mail.example.org.
mail.example.org.         IN A   192.0.2.1
aonly.example.org.        IN A   192.0.2.2
nullmx.example.org.       IN MX  0 .
EOF
dport=$(free_port) || bail "no free port"
spawn dns_pid "$PY" "$tools/dnsbl-dns.py" --zone "$tmpdir/zone" --port "$dport" \
    --log "$tmpdir/dns-questions" --slow 5.0.0.127.in-addr.arpa=3 --slow slow.example.org=3
wait_for "'$tools/dns.sh' query $dport probe.invalid A" 10 || bail "the DNS server did not start"

dns="dns_servers 127.0.0.1:$dport dns_timeout 1s dns_tries 1"
# shellcheck disable=SC2086
smtpd_conf rej $dns smtpd_require_rdns reject smtpd_require_fcrdns reject \
    smtpd_require_helo_match reject smtpd_require_sender_domain reject
printf '%s\n' '127.0.0.6 allow' > "$tmpdir/rej/access"
sluice-mkcdb -o "$tmpdir/rej/access.cdb" "$tmpdir/rej/access"
smtpd_start rport "$tmpdir/rej" "$tmpdir/recho"
# shellcheck disable=SC2086
smtpd_conf tmp $dns smtpd_require_rdns tempfail smtpd_require_fcrdns tempfail \
    smtpd_require_helo_match tempfail smtpd_require_sender_domain tempfail
smtpd_start tport "$tmpdir/tmp" "$tmpdir/techo"
# shellcheck disable=SC2086
smtpd_conf names $dns
printf '%s\n' 'good.example.test relay' 'liar.example.test relay' > "$tmpdir/names/access"
sluice-mkcdb -o "$tmpdir/names/access.cdb" "$tmpdir/names/access"
smtpd_start nport "$tmpdir/names" "$tmpdir/necho"
# shellcheck disable=SC2086
smtpd_conf none $dns
smtpd_start oport "$tmpdir/none" "$tmpdir/oecho"

PORTS="$rport $tport $nport" py_checks "$rport" "$tmpdir/recho" <<'EOF'
rport, tport, nport = [int(p) for p in os.environ["PORTS"].split()]
def conn(src, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.s, c.buf = s, b""
    c.banner = c.reply()[-1]
    return c
def mail(src, port, helo, sender="a@mx.example.org"):
    c = conn(src, port)
    c.cmd("EHLO " + helo)
    r = c.cmd("MAIL FROM:<%s>" % sender)
    c.close()
    return r
for port, kind in ((rport, "reject"), (tport, "tempfail")):
    r = mail("127.0.0.2", port, "good.example.test")
    check(kind + ": a client whose reverse name resolves back to it may send", r.startswith("250 "), r)
    for helo in ("[127.0.0.2]", "helo.example.test", "GOOD.example.test"):
        r = mail("127.0.0.2", port, helo)
        check(kind + ": HELO %s matches the client" % helo, r.startswith("250 "), r)
want = {"reject": ("550 5.7.25", "550 5.7.1 ", "550 5.1.8", "550 5.7.27"),
        "tempfail": ("450 4.7.25", "450 4.7.1 ", "450 4.1.8", "450 4.7.27")}
for port, kind in ((rport, "reject"), (tport, "tempfail")):
    rdns, helo, dom, null = want[kind]
    r = mail("127.0.0.4", port, "[127.0.0.4]")
    check(kind + ": a client without a reverse name gets " + rdns, r.startswith(rdns), r)
    r = mail("127.0.0.3", port, "[127.0.0.3]")
    check(kind + ": one whose reverse name does not resolve to it gets " + rdns, r.startswith(rdns), r)
    for h in ("other.example.test", "nosuch.example.test", "[127.0.0.9]", "localhost"):
        r = mail("127.0.0.2", port, h)
        check(kind + ": HELO %s does not match: %s" % (h, helo), r.startswith(helo), r)
    r = mail("127.0.0.2", port, "good.example.test", "a@aonly.example.org")
    check(kind + ": a sender domain with an A record only is accepted", r.startswith("250 "), r)
    r = mail("127.0.0.2", port, "good.example.test", "a@nosuch.example.org")
    check(kind + ": a sender domain without MX or A gets " + dom, r.startswith(dom), r)
    r = mail("127.0.0.2", port, "good.example.test", "a@nullmx.example.org")
    check(kind + ": a sender domain with a null MX gets " + null, r.startswith(null), r)
    r = mail("127.0.0.2", port, "good.example.test", "")
    check(kind + ": the null sender is not looked up", r.startswith("250 "), r)
    t0 = time.time()
    r = mail("127.0.0.2", port, "good.example.test", "a@slow.example.org")
    check(kind + ": a sender domain the DNS does not answer for gets 451 4.4.3",
          r.startswith("451 4.4.3 ") and time.time() - t0 < 6, r)
    r = mail("127.0.0.5", port, "[127.0.0.5]")
    check(kind + ": a reverse lookup that times out gets 450 4.7.25", r.startswith("450 4.7.25 "), r)
r = mail("127.0.0.6", rport, "whatever", "a@nosuch.example.org")
check("an allowed client is spared the client and sender checks", r.startswith("250 "), r)
# Entries by name: only a verified name counts.
for src, want_r, what in (("127.0.0.2", "250 ", "a verified name's relay entry applies"),
                          ("127.0.0.3", "554 5.7.1 ", "an unverified name's entry does not")):
    c = conn(src, nport)
    c.cmd("EHLO x.example")
    c.cmd("MAIL FROM:<a@example.org>")
    r = c.cmd("RCPT TO:<x@elsewhere.example>")
    check("access by host name: " + what, r.startswith(want_r), r)
    c.close()
EOF
like "$(cat "$tmpdir/tcpserver-$rport.log")" 'event=reject reason=fcrdns' "refusals are logged with their reason"

# The verified name goes into the Received: field.
: > "$tmpdir/dns-questions"
swaks -s 127.0.0.1 -p "$oport" --from a@example.org --to test@example.test \
    --helo c.example >/dev/null 2>&1
n=$(grep -c . "$tmpdir/dns-questions")
is "$n" 0 "with no DNS rule and no name in the access table no question is asked"
wait_for "[ \$(echo_count '$tmpdir/oecho') = 1 ]" 10
like "$(cat "$tmpdir"/oecho/*.msg)" 'Received: from c\.example \(unknown \[127\.0\.0\.1\]\)' \
    "and the client has no name"
: > "$tmpdir/dns-questions"
swaks -s 127.0.0.1 -p "$nport" --from a@example.org --to test@example.test \
    --helo c.example --local-interface 127.0.0.2 >/dev/null 2>&1
wait_for "[ \$(echo_count '$tmpdir/necho') = 1 ]" 10
like "$(cat "$tmpdir"/necho/*.msg)" 'Received: from c\.example \(good\.example\.test \[127\.0\.0\.2\]\)' \
    "a verified name is the client's name in the Received: field"
done_testing
