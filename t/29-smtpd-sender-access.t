#!/bin/bash
# Table sender_access of sluice-smtpd refuses spammers' addresses and
# domains: on MAIL FROM with 553 5.7.1 (reject) or 450 4.7.1 (tempfail),
# an ok entry making an exception to its domain's; and in the From,
# Reply-To, Sender, Resent-From and Return-Path header fields (folded, in
# name-addr form, in lists and groups) with 550 5.7.1 or 451 4.7.1 after
# the data, nothing queued; other fields and clean messages pass, and a
# relay client is spared.  And a DNS-BL refusal that sluice-dnsbl passes on
# in SLUICE_DNSBL (dnsbl_refuse_at rcpt) refuses each RCPT with its reply,
# but for a relay client.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf sa
printf '%s\n' 'spammer@example.net reject' '@spam.example reject' \
    'boss@spam.example ok' '@.later.example tempfail' > "$tmpdir/sa/sender_access"
sluice-mkcdb -o "$tmpdir/sa/sender_access.cdb" "$tmpdir/sa/sender_access"
printf '%s\n' '127.0.0.17 relay' > "$tmpdir/sa/access"
sluice-mkcdb -o "$tmpdir/sa/access.cdb" "$tmpdir/sa/access"
smtpd_start port "$tmpdir/sa" "$tmpdir/echo"

py_checks "$port" "$tmpdir/echo" <<'EOF'
def conn(src="127.0.0.2"):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=20, source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.s, c.buf = s, b""
    c.banner = c.reply()[-1]
    c.cmd("EHLO c.example")
    return c
def mail_from(addr, src="127.0.0.2"):
    c = conn(src)
    r = c.cmd("MAIL FROM:<%s>" % addr)
    c.close()
    return r
for addr, want in (("spammer@example.net", "553 5.7.1 "), ("SPAMMER@Example.NET", "553 5.7.1 "),
                   ("anyone@spam.example", "553 5.7.1 "), ("boss@spam.example", "250 "),
                   ("x@a.later.example", "450 4.7.1 "), ("x@later.example", "250 "),
                   ("friend@example.net", "250 ")):
    r = mail_from(addr)
    check("MAIL FROM:<%s> gets %s" % (addr, want.strip()), r.startswith(want), r)
r = mail_from("spammer@example.net", "127.0.0.17")
check("a relay client is spared", r.startswith("250 "), r)
def send(header, src="127.0.0.2"):
    c = conn(src)
    c.cmd("MAIL FROM:<friend@example.net>")
    c.cmd("RCPT TO:<test@example.test>")
    c.cmd("DATA")
    c.send((header + "Subject: hi\r\n\r\nbody\r\nFrom: spammer@example.net in the body\r\n.\r\n").encode())
    r = c.reply()[-1]
    c.close()
    return r
n0 = len(echo_files())
for name, hdr, want in (
        ("From", "From: spammer@example.net\r\n", "550 5.7.1 "),
        ("From with a display name", 'From: "Spam, Inc." <x@spam.example>\r\n', "550 5.7.1 "),
        ("Reply-To in a list", "Reply-To: friend@example.net, Joe (comment) <joe@spam.example>\r\n", "550 5.7.1 "),
        ("Sender folded", "Sender:\r\n\tspammer@example.net\r\n", "550 5.7.1 "),
        ("Resent-From in a group", "Resent-From: gang: spammer@example.net;\r\n", "550 5.7.1 "),
        ("Return-Path", "Return-Path: <spammer@example.net>\r\n", "550 5.7.1 "),
        ("From, temporarily", "From: x@a.later.example\r\n", "451 4.7.1 ")):
    r = send("From: friend@example.net\r\n" + hdr if not hdr.startswith("From") else hdr)
    check("a refused sender in %s: %s after the data" % (name, want.strip()), r.startswith(want), r)
check("none of them was queued", len(echo_files()) == n0, echo_files())
r = send("From: friend@example.net\r\nTo: spammer@example.net\r\nX-Sender: spammer@example.net\r\n")
check("other fields and the body are not looked at", r.startswith("250 "), r)
r = send('From: "spammer@example.net" <friend@example.net>\r\n')
check("a display name that looks like an address is not the address", r.startswith("250 "), r)
r = send("From: boss@spam.example\r\n")
check("an ok entry is an exception in the header too", r.startswith("250 "), r)
r = send("From: spammer@example.net\r\n", "127.0.0.17")
check("a relay client's header is not checked", r.startswith("250 "), r)
check("those were queued", wait_files(n0 + 4), echo_files())
EOF

# --- SLUICE_DNSBL: a refusal passed on by sluice-dnsbl -----------------------
rcpt() {
    printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<test@example.test>\r\nQUIT\r\n' |
        env SLUICE_CONF="$tmpdir/sa" "$@" sluice-smtpd 2>/dev/null | tr -d '\r' | sed -n 11p
}
reason='Service unavailable; client [192.0.2.9] blocked using bl.test; Listed'
is "$(rcpt TCPREMOTEIP=192.0.2.9 SLUICE_DNSBL="554 5.7.1 $reason")" "554 5.7.1 $reason" \
    "SLUICE_DNSBL refuses RCPT with its reply"
is "$(rcpt TCPREMOTEIP=192.0.2.9 SLUICE_DNSBL="451 4.7.1 $reason")" "451 4.7.1 $reason" \
    "and a temporary one with its 451"
is "$(rcpt TCPREMOTEIP=192.0.2.9 RELAYCLIENT= SLUICE_DNSBL="554 5.7.1 $reason")" "250 2.1.5 Recipient ok" \
    "a relay client is spared it"
is "$(rcpt TCPREMOTEIP=192.0.2.9 SLUICE_DNSBL="hello")" "250 2.1.5 Recipient ok" \
    "a value that is no 4xx or 5xx reply is ignored"

# Through the real chain: sluice-dnsbl with dnsbl_refuse_at rcpt, then sluice-smtpd.
. "$top/t/dnsbl.sh"
dnsbl_dns
dnsbl_conf chain dnsbl_refuse_at rcpt smtpd_error_delay 0
dnsbl_table dnsbl "bl.test ip4 reject"
out=$(printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<test@example.test>\r\nQUIT\r\n' |
    TCPREMOTEIP=127.0.0.2 sluice-dnsbl sluice-smtpd 2>/dev/null | tr -d '\r')
like "$out" '^220 .*250 2\.1\.0 Sender ok
554 5\.7\.1 Service unavailable; client \[127\.0\.0\.2\] blocked using bl\.test; Listed for testing' \
    "sluice-dnsbl ... sluice-smtpd: the listed client is greeted, and refused at RCPT with the TXT reason"
done_testing
