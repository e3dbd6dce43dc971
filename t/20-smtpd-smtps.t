#!/bin/bash
# Implicit TLS, as on port 465 (RFC 8314): tcpserver runs "sluice-tlsd
# sluice-smtpd"; sluice-tlsd makes the handshake before a word is said and
# gives sluice-smtpd the plaintext with the facts in its environment.
# swaks --tlsc and Python's SMTP_SSL send over it; nothing is said in clear.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_cert
smtpd_conf conf smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth yes
SMTPD_TLS_WRAP=1 smtpd_start port "$tmpdir/conf" "$tmpdir/echo"
echo=$tmpdir/echo
log=$tmpdir/tcpserver-$port.log

out=$(swaks -s 127.0.0.1 -p "$port" --tlsc --ehlo client.example.org \
    --from alice@example.org --to test@example.test --header 'Subject: smtps' 2>&1)
ok $? "swaks --tlsc sends a message"
like "$out" '<~ +220 mx\.example\.test ESMTP sluice' "the greeting comes under TLS"
unlike "$out" '<~ +250-STARTTLS' "STARTTLS is not offered: TLS is on already"
like "$out" '<~ +250-AUTH PLAIN LOGIN' "AUTH is offered"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$(sed -n 1p <<<"$msg")" '^XFORWARD ADDR=127\.0\.0\.1 PORT=[0-9]+ PROTO=ESMTPS ' \
    "XFORWARD has tcpserver's client address and says ESMTPS"
like "$msg" $'\n\t\\(using TLSv1\\.[23] with cipher [A-Z0-9_-]+ \\([0-9]+ bits\\)\\)\n\tby mx\\.example\\.test \\(sluice\\) with ESMTPS id ' \
    "the Received: field records the protocol and cipher"

rm -f "$echo"/*.msg
py_checks "$port" "$echo" <<'EOF2'
import ssl
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
# Connect to 127.0.0.1 but check the certificate for mx.example.test.
class SSL(smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        raw = socket.create_connection(("127.0.0.1", port), timeout)
        return self.context.wrap_socket(raw, server_hostname="mx.example.test")
s = SSL("mx.example.test", PORT, context=ctx, timeout=30)
cipher = s.sock.cipher()
check("SMTP_SSL verifies the certificate; TLS 1.2 or later",
      cipher[1] in ("TLSv1.2", "TLSv1.3"), cipher)
r = s.sendmail("a@example.org", ["test@example.test"], b"Subject: ssl\r\n\r\nhi\r\n")
check("SMTP_SSL sends a message", r == {}, r)
s.quit()
check("it reached the queue program", wait_files(1))
m = read_echo(echo_files()[0])
check("its Received: names the cipher agreed",
      "(using %s with cipher %s (%d bits))" % (cipher[1], cipher[0], cipher[2]) in m, m[:300])

# A client that speaks in clear gets no greeting, and no session.
c = socket.create_connection(("127.0.0.1", PORT), timeout=3)
c.settimeout(1.5)
try:
    d = c.recv(100)
except socket.timeout:
    d = None
check("nothing is said in clear before the handshake", d is None, d)
c.settimeout(10)
c.sendall(b"EHLO x\r\nMAIL FROM:<a@example.org>\r\n")
try:
    d = c.recv(100)
    while d and b"220" not in d:
        more = c.recv(100)
        if not more: break
        d += more
except OSError:
    d = b""
check("a clear-text client is dropped without an SMTP reply", b"220" not in d and b"250" not in d, d)
EOF2
wait_for "grep -q 'event=tls_failed' '$log'" 5
like "$(cat "$log")" 'sluice-tlsd: client=127\.0\.0\.1 event=tls_failed' "the failed handshake is logged with the client"
done_testing
