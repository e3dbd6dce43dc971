#!/bin/bash
# sluice-smtp with TLS end to end: opportunistic STARTTLS, verify against a CA
# file, TLS required and refused, SMTP AUTH only under TLS, connection reuse,
# and success notices when the server does not take DSN.  The peer is a small
# Python SMTP server with the ssl module (t/tools/smtp-tls-server.py).
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 18

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.tls.test \
    -addext subjectAltName=DNS:mx.tls.test -keyout "$tmpdir/key.pem" \
    -out "$tmpdir/cert.pem" 2>/dev/null || bail "openssl req failed"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other.test \
    -keyout "$tmpdir/key2.pem" -out "$tmpdir/other.pem" 2>/dev/null || bail "openssl req failed"

p_tls=$(free_port); start_py s1 "$p_tls" "$tmpdir/tls.log" --auth user:secret
p_plain=$(free_port); start_py s2 "$p_plain" "$tmpdir/plain.log" --no-starttls
p_dsn=$(free_port); start_py s3 "$p_dsn" "$tmpdir/dsn.log" --dsn

table smtp_hosts "mx.tls.test 127.0.0.1" "plain.test 127.0.0.1" "dsn.test 127.0.0.1"
table config "smtp_hosts_order first" "smtp_reuse_max 2" "smtp_destination_concurrency 1"
route_tls="X-ROUTE=smtp:[mx.tls.test]:$p_tls"
field() {	# field LOG LINE KEY: one field of the LINEth JSON record
    "$PY" -c 'import json,sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print(recs[int(sys.argv[2])][sys.argv[3]])' "$@" 2>/dev/null
}

# ---- opportunistic STARTTLS, connection reuse ----
for i in 1 2 3 4 5; do msg s@example.org "q$i" "<u$i@tls.test> $route_tls"; done > "$tmpdir/in1"
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
is $? 0 "exit 0"
is "$(wc -l < "$tmpdir/tls.log")" 5 "five messages delivered"
is "$(field "$tmpdir/tls.log" 0 tls)" True "the session used STARTTLS"
sessions=$("$PY" -c 'import json,sys
print(len({json.loads(l)["session"] for l in open(sys.argv[1])}))' "$tmpdir/tls.log")
is "$sessions" 3 "five messages over three connections (smtp_reuse_max 2)"
table smtp_dest "mx.tls.test reuse=4"
mv "$tmpdir/tls.log" "$tmpdir/tls0.log"
smtp "$tmpdir/in1" "$tmpdir/out1b" "$tmpdir/err1b"
sessions=$("$PY" -c 'import json,sys
print(len({json.loads(l)["session"] for l in open(sys.argv[1])}))' "$tmpdir/tls.log")
is "$sessions" 2 "smtp_dest reuse=4 overrides it: five messages over two connections"
rm -f "$conf/smtp_dest.cdb"
mv "$tmpdir/tls0.log" "$tmpdir/tls.log"
is "$(field "$tmpdir/tls.log" 0 auth)" None "no AUTH without credentials"

# ---- verify against the CA file; a wrong CA defers ----
table smtp_tls "mx.tls.test verify" "plain.test require"
table config "smtp_hosts_order first" "smtp_tls_ca $tmpdir/cert.pem"
msg s@example.org q6 "<v@tls.test> $route_tls" > "$tmpdir/in2"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
like "$(cat "$tmpdir/err2")" "to=<v@tls.test> .* status=sent" "verify: a certificate from the CA file is accepted"
table config "smtp_hosts_order first" "smtp_tls_ca $tmpdir/other.pem"
msg s@example.org q7 "<w@tls.test> $route_tls" > "$tmpdir/in3"
smtp "$tmpdir/in3" "$tmpdir/out3" "$tmpdir/err3"
like "$(cat "$tmpdir/out3")" "RCPT TO:<w@tls.test> [^
]*X-DEFER=4\.7\.5\+20TLS\+20with[^
]*certificate\+20verif" "verify: a certificate from another CA defers (4.7.5)"
is "$(wc -l < "$tmpdir/tls.log")" 6 "and nothing was sent"

# ---- TLS required, server without STARTTLS ----
msg s@example.org q8 "<p@plain.test> X-ROUTE=smtp:[plain.test]:$p_plain" > "$tmpdir/in4"
smtp "$tmpdir/in4" "$tmpdir/out4" "$tmpdir/err4"
like "$(cat "$tmpdir/out4")" "RCPT TO:<p@plain.test> [^
]*X-DEFER=4\.7\.4\+20TLS\+20is\+20required" "require: no STARTTLS offered defers (4.7.4)"
[ ! -s "$tmpdir/plain.log" ]
ok $? "require: nothing was sent in the clear"

# ---- SMTP AUTH, only under TLS ----
table smtp_tls "plain.test may"
table smtp_auth "mx.tls.test user:secret" "plain.test user:secret"
table config "smtp_hosts_order first"
msg s@example.org q9 "<a@tls.test> $route_tls" > "$tmpdir/in5"
msg s@example.org q10 "<b@plain.test> X-ROUTE=smtp:[plain.test]:$p_plain" >> "$tmpdir/in5"
smtp "$tmpdir/in5" "$tmpdir/out5" "$tmpdir/err5"
is "$(field "$tmpdir/tls.log" 6 auth)" user "AUTH over TLS logs in with the smtp_auth credentials"
like "$(cat "$tmpdir/out5")" "RCPT TO:<b@plain.test> [^
]*X-DEFER=4\.7\.0\+20not\+20sending\+20the\+20password" "no password without TLS: deferred"
[ ! -s "$tmpdir/plain.log" ]
ok $? "and nothing was sent to that server"
table smtp_auth "mx.tls.test user:wrong"
msg s@example.org q11 "<c@tls.test> $route_tls" > "$tmpdir/in6"
smtp "$tmpdir/in6" "$tmpdir/out6" "$tmpdir/err6"
like "$(cat "$tmpdir/out6")" "X-DEFER=4\.7\.0\+20authentication\+20failed" "a refused login defers"

# ---- success notices: only when the server does not take DSN ----
table smtp_auth "#"
{ msg s@example.org q12 "<n@tls.test> NOTIFY=SUCCESS $route_tls"
  msg s@example.org q13 "<d@dsn.test> NOTIFY=SUCCESS ORCPT=rfc822;d@dsn.test X-ROUTE=smtp:[dsn.test]:$p_dsn"; } > "$tmpdir/in7"
smtp "$tmpdir/in7" "$tmpdir/out7" "$tmpdir/err7"
out=$(cat "$tmpdir/out7")
like "$out" "MAIL FROM:<> X-NOTICE=success
RCPT TO:<s@example.org>.*Final-Recipient: rfc822; n@tls.test
Action: relayed
Status: 2\.0\.0" "NOTIFY=SUCCESS to a server without DSN: a success notice"
is "$(grep -c 'X-NOTICE=success' "$tmpdir/out7")" 1 "none for the server that took NOTIFY"
like "$(cat "$tmpdir/dsn.log")" "NOTIFY=SUCCESS ORCPT=rfc822;d@dsn.test" "NOTIFY and ORCPT are passed on to a DSN server"
