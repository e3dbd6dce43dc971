#!/bin/bash
# The access table of sluice-smtpd: entries by address, range a-b and CIDR
# block in any textual form, IPv4 and IPv6, and the old forms (whole dotted
# components, whole IPv6 groups); the most specific entry wins; reject (554)
# and tempfail (421) refuse at connect; smtpd_client_default reject or
# tempfail keeps out every client without an allow or relay entry; per-peer
# mail=reject (550) / mail=tempfail (450) and size=N; the greeting text is
# smtpd_greeting; relaying is allowed by address (a relay entry, RELAYCLIENT)
# or to an authenticated client only, and a client not allowed to relay is
# refused in every disguise of a foreign address (the relay battery).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

# pipe IP CONF COMMAND... — one session on a pipe as client IP; the replies.
pipe() {
    local ip=$1 conf=$2
    shift 2
    printf '%s\r\n' "$@" | env SLUICE_CONF="$tmpdir/$conf" TCPREMOTEIP="$ip" \
        SLUICE_QUEUE="$top/t/queue-echo.sh" ECHO_DIR="$tmpdir/pecho" \
        sluice-smtpd 2>>"$tmpdir/pipe.log" | tr -d '\r'
}
# first IP CONF — the greeting's code and enhanced code only
first() { pipe "$1" "$2" QUIT | head -1 | cut -c1-9; }
mkdir -p "$tmpdir/pecho"

smtpd_conf forms
cat > "$tmpdir/forms/access" <<'EOF'
192.0.2.0/24		reject
192.0.2.128/25		tempfail
192.0.2.200-192.0.2.210	allow
192.0.2.205		reject
198.51.100		reject
10.			tempfail
2001:DB8:0:0::/64	reject
2001:0db8:0000:0001:0000:0000:0000:0007	reject
[IPv6:2001:db8:2::1]	tempfail
2001:db8:3		reject
::ffff:203.0.113.0/120	reject
203.0.113.9		mail=reject size=2k
203.0.113.10		mail=tempfail
203.0.113.11		allow, mail=no
EOF
sluice-mkcdb -o "$tmpdir/forms/access.cdb" "$tmpdir/forms/access"

is "$(first 192.0.2.7 forms)" "554 5.7.1" "a CIDR block refuses with 554 5.7.1"
is "$(first 192.0.2.130 forms)" "421 4.7.1" "a narrower block inside it wins: tempfail gives 421 4.7.1"
is "$(first 192.0.2.201 forms)" "220 mx.ex" "a range a-b inside both lets its clients in (allow)"
is "$(first 192.0.2.205 forms)" "554 5.7.1" "one address inside the range wins over it"
is "$(first 192.0.2.211 forms)" "421 4.7.1" "one past the range is the /25's again"
is "$(first 198.51.100.77 forms)" "554 5.7.1" "the old form of whole components (198.51.100) still works"
is "$(first 10.1.2.3 forms)" "421 4.7.1" "and with a trailing dot (10.)"
is "$(first 2001:db8::99 forms)" "554 5.7.1" "an IPv6 block in full form holds a compressed address"
is "$(first 2001:db8:0:1::7 forms)" "554 5.7.1" "an IPv6 address written in full matches its compressed form"
is "$(first 2001:db8:0:1::8 forms)" "220 mx.ex" "its neighbour is not refused"
is "$(first 2001:db8:2:0:0:0:0:1 forms)" "421 4.7.1" "an address literal key [IPv6:...] holds the address"
is "$(first 2001:db8:3:ffff::1 forms)" "554 5.7.1" "the old form of whole IPv6 groups (2001:db8:3) still works"
is "$(first ::ffff:203.0.113.5 forms)" "554 5.7.1" "a block in IPv4-mapped notation holds the IPv4 client"
is "$(first 203.0.113.5 forms)" "554 5.7.1" "and the client seen as plain IPv4"
is "$(first 192.0.3.1 forms)" "220 mx.ex" "a client named by no entry is let in (smtpd_client_default allow)"

out=$(pipe 203.0.113.9 forms "EHLO c.example" "MAIL FROM:<a@example.org>" QUIT)
like "$out" '250-SIZE 2048' "size=2k is the client's size limit, offered in EHLO"
like "$out" '550 5\.7\.1 Mail from your host is not accepted here' "mail=reject refuses MAIL with 550 5.7.1"
out=$(pipe 203.0.113.10 forms "EHLO c.example" "MAIL FROM:<a@example.org>" QUIT)
like "$out" '450 4\.7\.1 Mail from your host is not accepted now' "mail=tempfail refuses MAIL with 450 4.7.1"
out=$(pipe 203.0.113.11 forms "HELO c.example" "MAIL FROM:<a@example.org>" QUIT)
like "$out" '^220 .*550 5\.7\.1 ' "entries are words separated by commas or blanks (allow, mail=no)"
out=$(pipe 192.0.3.1 forms "EHLO c.example" "MAIL FROM:<a@example.org>" QUIT)
like "$out" '250-SIZE 36700160.*250 2\.1\.0 Sender ok' "other clients keep message_size_limit and may send"
out=$(pipe 203.0.113.9 forms "EHLO c.example" "MAIL FROM:<a@example.org> SIZE=4000" QUIT)
like "$out" '552 5\.3\.4' "SIZE over the client's own limit is refused"
like "$(cat "$tmpdir/pipe.log")" 'event=reject reason=access entry=192\.0\.2\.205' \
    "a refusal logs the entry that matched"

# --- smtpd_client_default: deny by default, with exceptions --------------------
smtpd_conf deny smtpd_client_default reject
printf '%s\n' '127.0.0.3 allow' '127.0.0.10-127.0.0.12 allow' '127.0.0.16/30 relay' \
    > "$tmpdir/deny/access"
sluice-mkcdb -o "$tmpdir/deny/access.cdb" "$tmpdir/deny/access"
smtpd_start dport "$tmpdir/deny" "$tmpdir/decho"
smtpd_conf later smtpd_client_default tempfail
printf '%s\n' '127.0.0.3 allow' > "$tmpdir/later/access"
sluice-mkcdb -o "$tmpdir/later/access.cdb" "$tmpdir/later/access"
smtpd_start lport "$tmpdir/later" "$tmpdir/lecho"
CONFS="$dport $lport" py_checks "$dport" "$tmpdir/decho" <<'EOF'
dport, lport = [int(p) for p in os.environ["CONFS"].split()]
def conn(src, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.s, c.buf = s, b""
    c.banner = c.reply()[-1]
    return c
for src, want in (("127.0.0.2", "554 5.7.1"), ("127.0.0.3", "220 "), ("127.0.0.11", "220 "),
                  ("127.0.0.13", "554 5.7.1"), ("127.0.0.17", "220 ")):
    c = conn(src, dport)
    check("default reject: %s gets %s" % (src, want), c.banner.startswith(want), c.banner)
    c.close()
c = conn("127.0.0.2", dport)
r = c.cmd("EHLO c.example")
check("a refused client is answered 503 until QUIT", r.startswith("503 "), r)
check("and 221 to QUIT", c.cmd("QUIT").startswith("221 "))
c = conn("127.0.0.2", lport)
check("default tempfail: 421 4.7.1 at once", c.banner.startswith("421 4.7.1 "), c.banner)
check("and the connection is closed", c.closed(5))
c = conn("127.0.0.3", lport)
check("default tempfail: an allow entry is let in", c.banner.startswith("220 "), c.banner)
c.close()
# The exceptions may mail local users; only the relay entry may relay.
c = conn("127.0.0.3", dport)
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@example.org>")
check("an allowed client may mail a local user", c.cmd("RCPT TO:<test@example.test>").startswith("250 "))
r = c.cmd("RCPT TO:<x@elsewhere.example>")
check("but not relay (554 5.7.1)", r.startswith("554 5.7.1 "), r)
c.close()
c = conn("127.0.0.17", dport)
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@example.org>")
r = c.cmd("RCPT TO:<x@elsewhere.example>")
check("a client of a relay block (127.0.0.16/30) may relay", r.startswith("250 "), r)
c.close()
EOF

# --- the greeting --------------------------------------------------------------
smtpd_conf greet smtpd_greeting "ESMTP ready"
is "$(pipe 192.0.3.1 greet QUIT | head -1)" "220 mx.example.test ESMTP ready" \
    "smtpd_greeting replaces the words after the host name (no software named)"
is "$(pipe 192.0.3.1 forms QUIT | head -1)" "220 mx.example.test ESMTP sluice" "the default names sluice"

# --- relaying: RELAYCLIENT, and the relay battery for relay-by-address ---------
out=$(printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' |
    SLUICE_CONF=$tmpdir/forms TCPREMOTEIP=192.0.2.7 RELAYCLIENT= sluice-smtpd 2>/dev/null | tr -d '\r')
like "$out" '^220 .*250 2\.1\.5 ' "RELAYCLIENT makes a relay client, whatever the table says"

smtpd_conf battery
printf '%s\n' '127.0.0.16/30 relay' > "$tmpdir/battery/access"
sluice-mkcdb -o "$tmpdir/battery/access.cdb" "$tmpdir/battery/access"
smtpd_start bport "$tmpdir/battery" "$tmpdir/becho"
py_checks "$bport" "$tmpdir/becho" <<'EOF'
def conn(src):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10, source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.s, c.buf = s, b""
    c.banner = c.reply()[-1]
    return c
battery = [
    ("percent hack", "<user%elsewhere.example@example.test>"),
    ("bang path", "<elsewhere.example!user@example.test>"),
    ("bang path alone", "<elsewhere.example!user>"),
    ("source route", "<@example.test:user@elsewhere.example>"),
    ("quoted local part with @", '<"user@elsewhere.example"@example.test>'),
    ("quoted local part with % and @", '<"user%elsewhere.example@x"@example.test>'),
    ("IPv4 address literal", "<user@[192.0.2.1]>"),
    ("IPv6 address literal", "<user@[IPv6:2001:db8::1]>"),
    ("unqualified", "<user>"),
    ("trailing dot", "<user@elsewhere.example.>"),
    ("a local domain's trailing dot", "<user@example.test.>"),
    ("foreign domain", "<user@elsewhere.example>"),
]
c = conn("127.0.0.2")
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@example.org>")
for name, rcpt in battery:
    r = c.cmd("RCPT TO:%s" % rcpt)
    check("relay battery, not a relay client: %s %s is refused (%s)" % (name, rcpt, r[:9]),
          r[0] in "45", r)
r = c.cmd("DATA")
check("so DATA has no recipient", r.startswith("503 "), r)
r = c.cmd("AUTH PLAIN AGZvbwBiYXI=")
check("AUTH without TLS is not accepted", r[0] in "45", r)
c.cmd("RSET")
c.cmd("MAIL FROM:<a@example.org>")
r = c.cmd("RCPT TO:<user@elsewhere.example>")
check("AUTH without TLS did not make it a relay client", r.startswith("554 5.7.1 "), r)
c.close()
check("nothing was queued", echo_files() == [], echo_files())
c = conn("127.0.0.17")
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@example.org>")
r = c.cmd("RCPT TO:<user@elsewhere.example>")
check("a relay client by address may relay", r.startswith("250 "), r)
c.close()
EOF
done_testing
