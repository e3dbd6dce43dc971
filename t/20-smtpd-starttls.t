#!/bin/bash
# STARTTLS (RFC 3207) in sluice-smtpd, done by sluice-tlsd: offered when a
# certificate is configured, swaks and Python's smtplib send over it, the
# Received: field and XFORWARD record the protocol and cipher, TLS 1.1 is
# refused, the client must EHLO again, and commands pipelined after
# STARTTLS are dropped, never run under TLS (CVE-2011-0411).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_cert
smtpd_conf conf smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth yes
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"
echo=$tmpdir/echo
log=$tmpdir/tcpserver-$port.log

# --- offered, and swaks sends over it ---------------------------------------
out=$(swaks -s 127.0.0.1 -p "$port" --to test@example.test --quit-after EHLO 2>&1)
like "$out" '<- +250-STARTTLS' "EHLO offers STARTTLS when smtpd_tls_cert is set"
unlike "$out" '250[ -]AUTH' "AUTH is not offered before TLS"

out=$(swaks -s 127.0.0.1 -p "$port" --tls --ehlo client.example.org \
    --from alice@example.org --to test@example.test --header 'Subject: tls' 2>&1)
ok $? "swaks --tls sends a message"
like "$out" '<- +220 2\.0\.0 Ready to start TLS' "STARTTLS is answered 220 2.0.0"
like "$out" '<~ +250-AUTH PLAIN LOGIN' "under TLS, EHLO offers AUTH PLAIN LOGIN"
unlike "$out" '<~ +250-STARTTLS' "under TLS, STARTTLS is no longer offered"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$(sed -n 1p <<<"$msg")" '^XFORWARD ADDR=127\.0\.0\.1 PORT=[0-9]+ PROTO=ESMTPS HELO=client\.example\.org ' \
    "XFORWARD says ESMTPS (RFC 3848)"
like "$msg" $'\nReceived: from client\\.example\\.org \\(unknown \\[127\\.0\\.0\\.1\\]\\)\n\t\\(using TLSv1\\.[23] with cipher [A-Z0-9_-]+ \\([0-9]+ bits\\)\\)\n\tby mx\\.example\\.test \\(sluice\\) with ESMTPS id ' \
    "the Received: field records the protocol and the cipher"
like "$(cat "$log")" 'event=starttls tls=TLSv1\.[23] cipher=' "the switch is logged with protocol and cipher"

# --- smtplib, and the rules of RFC 3207 ----------------------------------------
rm -f "$echo"/*.msg
py_checks "$port" "$echo" <<'EOF'
import ssl
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="py.example.org", timeout=30)
s._host = "mx.example.test"
s.ehlo()
check("smtplib sees starttls", s.has_extn("starttls"))
code, _ = s.starttls(context=ctx)
check("smtplib's starttls verifies our certificate and gets 220", code == 220, code)
check("TLS 1.2 or later was agreed", s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version())
code, _ = s.mail("a@example.org")
check("MAIL before the new EHLO is 503 (RFC 3207 4.2: the client starts over)", code == 503, code)
s.ehlo()
check("after TLS, EHLO offers auth and no starttls", s.has_extn("auth") and not s.has_extn("starttls"))
code, text = s.docmd("STARTTLS")
check("a second STARTTLS is 503", code == 503, (code, text))
cipher = s.sock.cipher()
r = s.sendmail("a@example.org", ["test@example.test"], b"Subject: smtplib\r\n\r\nhi\r\n")
check("smtplib sends a message under TLS", r == {}, r)
s.quit()
check("the message reached the queue program", wait_files(1))
m = read_echo(echo_files()[0])
check("its Received: names the protocol and cipher smtplib agreed",
      "(using %s with cipher %s (%d bits))" % (cipher[1], cipher[0], cipher[2]) in m, m[:400])

# STARTTLS out of place
c = Raw()
check("STARTTLS before EHLO is 503", c.cmd("STARTTLS").startswith("503 5.5.1"))
c.cmd("EHLO x")
check("STARTTLS with an argument is 501", c.cmd("STARTTLS now").startswith("501 5.5.4"))
c.cmd("MAIL FROM:<a@example.org>")
check("STARTTLS in a transaction is 503", c.cmd("STARTTLS").startswith("503 5.5.1"))
c.close()
EOF

# --- injection: what follows STARTTLS in the same packet is dropped ------------
rm -f "$echo"/*.msg
py_checks "$port" "$echo" <<'EOF'
c = Raw()
c.cmd("EHLO x")
# One write: STARTTLS and a whole transaction behind it.
c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<test@example.test>\r\n")
r = c.reply()
check("STARTTLS is answered 220 with commands pipelined behind it", r[-1].startswith("220 "), r)
check("nothing more was answered in clear", c.buf == b"", c.buf)
c.tls()
r = c.cmd("EHLO y")
check("the first reply under TLS is EHLO's, not one to an injected command",
      r.startswith("250 "), r)
r = c.cmd("RCPT TO:<test@example.test>")
check("the injected MAIL was never run: RCPT is 503", r.startswith("503 5.5.1"), r)
c.cmd("QUIT")
c.close()

# Plain text sent after the 220, before the handshake, breaks the handshake.
c = Raw()
c.cmd("EHLO x")
check("STARTTLS", c.cmd("STARTTLS").startswith("220 "))
c.send(b"MAIL FROM:<evil@example.org>\r\n")
try:
    c.tls()
    r = c.cmd("RCPT TO:<test@example.test>")
    check("clear text after 220 is not a command under TLS", r.startswith("503"), r)
except (OSError, EOFError) as e:
    check("clear text after 220 makes the handshake fail", True)
check("no message was queued", echo_files() == [], echo_files())
EOF
like "$(cat "$log")" 'event=starttls_pipelined dropped=[1-9]' "the dropped octets are logged"

# --- no delayed-ACK stall after the handshake ---------------------------------
# After the client's Finished the server has nothing to send; unless it
# acknowledges at once, a client's next command (EHLO) waits in its Nagle
# queue for the server's delayed ACK: 40 ms or more, every session.
py_checks "$port" <<'EOF'
import ssl
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
best = None
for i in range(10):
    c = Raw()
    c.cmd("EHLO x")
    c.cmd("STARTTLS")
    c.tls(ctx)
    t0 = time.monotonic()
    c.cmd("EHLO x")
    dt = time.monotonic() - t0
    best = dt if best is None else min(best, dt)
    c.cmd("QUIT")
    c.close()
check("the first EHLO under TLS is answered without a 40 ms stall (best of 10: %.1f ms)"
      % (best * 1000), best < 0.030, best)
EOF

# --- TLS 1.1 and older are refused ----------------------------------------------
out=$(openssl s_client -connect "127.0.0.1:$port" -starttls smtp -tls1_1 \
    -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1)
unlike "$out" 'Protocol *: TLSv1(\.1)?$' "no TLS 1.1 session is made"
wait_for "grep -q 'event=tls_failed' '$log'" 5
like "$(cat "$log")" 'event=tls_failed error=.*(unsupported protocol|version)' \
    "sluice-tlsd refuses the TLS 1.1 handshake"

# --- without a certificate, no STARTTLS ------------------------------------------
smtpd_conf plain
smtpd_start pport "$tmpdir/plain" "$tmpdir/pecho"
out=$(swaks -s 127.0.0.1 -p "$pport" --to test@example.test --quit-after EHLO 2>&1)
unlike "$out" '250[ -]STARTTLS' "with no smtpd_tls_cert, STARTTLS is not offered"
py_checks "$pport" <<'EOF'
c = Raw()
c.cmd("EHLO x")
check("and STARTTLS is 502", c.cmd("STARTTLS").startswith("502 5.5.1"))
EOF
done_testing
