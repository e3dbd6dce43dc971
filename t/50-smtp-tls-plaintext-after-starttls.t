#!/bin/bash
# sluice-smtp never reads plain text that came after the server's 220 to
# STARTTLS as if it had come over TLS (the client's side of CVE-2011-0411):
# a server that sends more in the clear after its 220 is a TLS failure for
# that server, logged as "plaintext after STARTTLS".  Under require the
# recipient is deferred (4.7.5), or goes to the next host when there is one;
# under may the same address is tried again in the clear, as after a failed
# handshake.  A server that answers STARTTLS properly still gets the mail
# over TLS.  The injecting peer is t/tools/smtp-tls-server.py --inject: it
# answers STARTTLS with "220 ...\r\n250-injected\r\n250 PIPELINING\r\n" in
# one segment and leaves the first EHLO over TLS unanswered, so a client
# that reads the injected reply after the handshake would deliver.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 11

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.tls.test \
    -addext subjectAltName=DNS:mx.tls.test -keyout "$tmpdir/key.pem" \
    -out "$tmpdir/cert.pem" 2>/dev/null || bail "openssl req failed"

p_inj=$(free_port); start_py s1 "$p_inj" "$tmpdir/inj.log" --inject
p_ok=$(free_port); start_py s2 "$p_ok" "$tmpdir/ok.log"
table smtp_hosts "inject.test 127.0.0.1" "mx.tls.test 127.0.0.1"
tlsof() {	# tlsof LOG: the "tls" field of each delivered message
    "$PY" -c 'import json,sys
print(" ".join(str(json.loads(l)["tls"]) for l in open(sys.argv[1])))' "$1"
}

# ---- require: deferred, nothing delivered over the tampered session ----
table config "smtp_hosts_order first" "smtp_tls_level require"
msg s@example.org q1 "<a@inject.test> X-ROUTE=smtp:[inject.test]:$p_inj" > "$tmpdir/in1"
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
like "$(cat "$tmpdir/out1")" "RCPT TO:<a@inject.test> [^
]*X-DEFER=4\.7\.5\+20TLS\+20with\+20inject\.test\[127\.0\.0\.1\]:\+20plaintext\+20after\+20STARTTLS" \
    "require: plain text after the 220 to STARTTLS defers (4.7.5)"
like "$(cat "$tmpdir/err1")" "relay=inject\.test\[127\.0\.0\.1\]:$p_inj status=unreachable reason=\"TLS with inject\.test\[127\.0\.0\.1\]: plaintext after STARTTLS\"" \
    "the log says plaintext after STARTTLS"
[ ! -s "$tmpdir/inj.log" ]
ok $? "nothing was delivered over that session"

# ---- require with a next host: it takes the message over TLS ----
table config "smtp_hosts_order first" "smtp_tls_level require" \
    "relayhost [inject.test]:$p_inj" "relayhost_backup [mx.tls.test]:$p_ok"
msg s@example.org q2 "<b@anywhere.test> X-ROUTE=smtp" > "$tmpdir/in2"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
like "$(cat "$tmpdir/err2")" "to=<b@anywhere.test> relay=mx\.tls\.test\[127\.0\.0\.1\]:$p_ok .* status=sent" \
    "the next host takes the message"
is "$(tlsof "$tmpdir/ok.log")" True "over TLS"
[ ! -s "$tmpdir/inj.log" ]
ok $? "and the injecting host got nothing"

# ---- may: as after a failed handshake, the same address in the clear ----
table config "smtp_hosts_order first" "smtp_tls_level may"
msg s@example.org q3 "<c@inject.test> X-ROUTE=smtp:[inject.test]:$p_inj" > "$tmpdir/in3"
smtp "$tmpdir/in3" "$tmpdir/out3" "$tmpdir/err3"
like "$(cat "$tmpdir/err3")" "relay=inject\.test\[127\.0\.0\.1\]:$p_inj status=tls-failed reason=\"TLS with inject\.test\[127\.0\.0\.1\]: plaintext after STARTTLS\" retry=clear" \
    "may: the tampered STARTTLS is logged, and retried in the clear"
like "$(cat "$tmpdir/err3")" "to=<c@inject.test> relay=inject\.test\[127\.0\.0\.1\]:$p_inj .* status=sent" \
    "and the message goes again in the clear"
is "$(tlsof "$tmpdir/inj.log")" False "never over the session that took the injection"

# ---- a server that answers STARTTLS properly ----
msg s@example.org q4 "<d@tls.test> X-ROUTE=smtp:[mx.tls.test]:$p_ok" > "$tmpdir/in4"
smtp "$tmpdir/in4" "$tmpdir/out4" "$tmpdir/err4"
like "$(cat "$tmpdir/err4")" "to=<d@tls.test> relay=mx\.tls\.test\[127\.0\.0\.1\]:$p_ok .* status=sent" \
    "a proper STARTTLS server still gets its mail"
is "$(tlsof "$tmpdir/ok.log" | awk '{ print $NF }')" True "over TLS"
