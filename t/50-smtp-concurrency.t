#!/bin/bash
# sluice-smtp's connection limits: per destination (smtp_dest concurrency=N,
# smtp_destination_concurrency) and in total (smtp_concurrency), seen from
# the server, which records how many sessions were open at each message.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 6
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.test \
    -keyout "$tmpdir/key.pem" -out "$tmpdir/cert.pem" 2>/dev/null || bail "openssl req failed"
p1=$(free_port); start_py s1 "$p1" "$tmpdir/one.log" --no-starttls --delay 0.4
p3=$(free_port); start_py s3 "$p3" "$tmpdir/three.log" --no-starttls --delay 0.4
maxactive() {
    "$PY" -c 'import json,sys
print(max(json.loads(l)["active"] for l in open(sys.argv[1])))' "$1" 2>/dev/null
}

table smtp_dest "one.test concurrency=1" "three.test concurrency=3"
table config "smtp_destination_concurrency 8"
{ for i in 1 2 3 4 5 6; do
    msg s@example.org "a$i" "<u$i@one.test> X-ROUTE=smtp:[one.test]:$p1"
    msg s@example.org "b$i" "<u$i@three.test> X-ROUTE=smtp:[three.test]:$p3"
  done; } > "$tmpdir/in"
table smtp_hosts "one.test 127.0.0.1" "three.test 127.0.0.1"
smtp "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is "$(grep -c status=sent "$tmpdir/err")" 12 "all twelve messages delivered"
is "$(maxactive "$tmpdir/one.log")" 1 "concurrency=1: one connection at a time"
m=$(maxactive "$tmpdir/three.log")
[ "$m" -ge 2 ] && [ "$m" -le 3 ]
ok $? "concurrency=3: several connections, never more than three (saw $m)"

# smtp_concurrency caps the total: both destinations now lead to one server.
: > "$tmpdir/three.log"
sed "s/\]:$p1/]:$p3/" "$tmpdir/in" > "$tmpdir/in2"
table config "smtp_concurrency 1"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
is "$(grep -c status=sent "$tmpdir/err2")" 12 "all twelve delivered again"
is "$(grep -c one.test "$tmpdir/three.log")" 6 "both destinations went to the one server"
is "$(maxactive "$tmpdir/three.log")" 1 "smtp_concurrency 1: one connection in all"
