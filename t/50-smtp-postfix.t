#!/bin/bash
# sluice-smtp hands mail to a real Postfix (a private instance from
# t/tools/postfix.sh) that delivers it into a Maildir: in the clear, then with
# STARTTLS once Postfix has a certificate, and with ESMTP parameters kept.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 8
pf=$tmpdir/postfix
mroot=$tmpdir/mail
mkdir -p "$mroot"
port=$(free_port)
"$tools/postfix.sh" start "$pf" "$port" "$mroot" test >"$tmpdir/pf-start.log" 2>&1 ||
    bail "private Postfix did not start: $(cat "$tmpdir/pf-start.log")"
at_exit "'$tools/postfix.sh' stop '$pf'"

delivered() { find "$mroot/test/new" -type f 2>/dev/null | wc -l; }

table config "smtp_tls_level may"
{ msg alice@example.org q1 "<test@example.test> NOTIFY=FAILURE X-ROUTE=smtp:[127.0.0.1]:$port"
  printf 'XFORWARD IDENT=q2\nMAIL FROM:<alice@example.org> BODY=8BITMIME\nRCPT TO:<test@example.test> X-ROUTE=smtp:[127.0.0.1]:%s\nDATA\nSubject: caf\xc3\xa9\n\n..8-bit body: \xc3\xa9t\xc3\xa9\n.\n' "$port"
} > "$tmpdir/in1"
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
is $? 0 "exit 0"
is "$(grep -c 'status=sent' "$tmpdir/err1")" 2 "Postfix accepted both messages"
[ ! -s "$tmpdir/out1" ]
ok $? "nothing is left in the output"
wait_for '[ "$(delivered)" -ge 2 ]' 30
is "$(delivered)" 2 "both messages are in the Maildir"
all=$(cat "$mroot"/test/new/* 2>/dev/null)
like "$all" "with ESMTP id" "Postfix received them over ESMTP"
like "$all" $'\n\\.8-bit body: \xc3\xa9t\xc3\xa9' "an 8-bit body with a leading dot arrives intact"

# ---- with a certificate, the same path uses STARTTLS ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=postfix.example.test \
    -keyout "$pf/etc/key.pem" -out "$pf/etc/cert.pem" 2>/dev/null
postconf -c "$pf/etc" -e "smtpd_tls_cert_file = $pf/etc/cert.pem" \
    "smtpd_tls_key_file = $pf/etc/key.pem" "smtpd_tls_security_level = may"
# smtpd needs the tlsmgr service, which t/tools/postfix.sh leaves out.
postconf -c "$pf/etc" -M "tlsmgr/unix=tlsmgr unix - - n 1000? 1 tlsmgr"
postfix -c "$pf/etc" reload >/dev/null 2>&1
table smtp_tls "127.0.0.1 require"
# After the reload, wait until Postfix's EHLO reply offers STARTTLS.
offers_starttls() {
    "$PY" - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO x\r\n")
caps = []
while True:
    l = f.readline()
    caps.append(l)
    if l[3:4] != b"-":
        break
s.sendall(b"QUIT\r\n")
sys.exit(0 if any(b"STARTTLS" in c for c in caps) else 1)
PY
}
wait_for offers_starttls 20
msg alice@example.org q3 "<test@example.test> X-ROUTE=smtp:[127.0.0.1]:$port" > "$tmpdir/in2"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
like "$(cat "$tmpdir/err2")" "status=sent" "TLS required: Postfix takes it"
wait_for '[ "$(delivered)" -ge 3 ]' 30
like "$(grep -l 'test q3' "$mroot"/test/new/* | xargs cat 2>/dev/null)" "with ESMTPS id" \
    "Postfix received it over TLS (ESMTPS)"
