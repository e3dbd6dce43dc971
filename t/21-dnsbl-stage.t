#!/bin/bash
# sluice-dnsbl as a stream stage against a real DNS server on loopback: each
# transaction gets an X-Sluice-DNSBL: field per list that lists its client
# (XFORWARD ADDR, IPv4 or IPv6) or its sender's domain (MAIL FROM), with the
# TXT reason; fields of that name it came with are removed; each subject is
# asked once per batch; a list that lists the negative test point is not
# believed.  Before the queue (sluice-smtpd's SLUICE_QUEUE) a reject list
# refuses the message at the end of DATA with 554 5.7.1 and the reason.
. "$(dirname "$0")/lib.sh"
. "$top/t/dnsbl.sh"

dnsbl_dns
dnsbl_conf conf
dnsbl_table dnsbl "bl.test ip4 reject" "tag.test ip tag" "bl6.test ip6 tag" \
    "dbl.test domain tag" "refused.test ip4 tag" "hijack.test ip4 tag"

# txn ADDR FROM ID [HEADER-LINE...] — one transaction on stdout.
txn() {
    local addr=$1 from=$2 id=$3 h
    shift 3
    [ -z "$addr" ] || echo "XFORWARD ADDR=$addr IDENT=$id"
    echo "MAIL FROM:<$from>"
    echo "RCPT TO:<test@example.test>"
    echo DATA
    for h in "$@"; do echo "$h"; done
    printf 'Subject: %s\n\n..dotted body of %s\n.\n' "$id" "$id"
}

{
    txn 127.0.0.2 alice@TEST q1 "X-Sluice-DNSBL: forged; 127.0.0.2" "	folded forged line"
    txn 127.0.0.1 bob@invalid q2
    txn IPv6:2001:db8::bad "" q3
    txn "" carol@spam.example q4
} > "$tmpdir/in"
sluice-dnsbl < "$tmpdir/in" > "$tmpdir/out" 2> "$tmpdir/err"
ok $? "the stage exits 0"
cat > "$tmpdir/want" <<'EOF2'
XFORWARD ADDR=127.0.0.2 IDENT=q1
MAIL FROM:<alice@TEST>
RCPT TO:<test@example.test>
DATA
X-Sluice-DNSBL: bl.test; 127.0.0.2; client=127.0.0.2; "Listed for testing: see https://bl.test/q?127.0.0.2"
X-Sluice-DNSBL: tag.test; 127.0.0.3; client=127.0.0.2; "Tagged 'quoted' reason"
X-Sluice-DNSBL: bl6.test; 127.0.0.2; client=127.0.0.2; "IPv6 test point"
X-Sluice-DNSBL: dbl.test; 127.0.1.2; domain=test; "Domain listed for testing"
Subject: q1

..dotted body of q1
.
XFORWARD ADDR=127.0.0.1 IDENT=q2
MAIL FROM:<bob@invalid>
RCPT TO:<test@example.test>
DATA
Subject: q2

..dotted body of q2
.
XFORWARD ADDR=IPv6:2001:db8::bad IDENT=q3
MAIL FROM:<>
RCPT TO:<test@example.test>
DATA
X-Sluice-DNSBL: bl6.test; 127.0.0.2; client=2001:db8::bad
Subject: q3

..dotted body of q3
.
MAIL FROM:<carol@spam.example>
RCPT TO:<test@example.test>
DATA
X-Sluice-DNSBL: dbl.test; 127.0.1.2; domain=spam.example
Subject: q4

..dotted body of q4
.
EOF2
diff "$tmpdir/want" "$tmpdir/out" >&2
ok $? "each list that lists a client or a sender domain adds a field; forged ones go; the rest passes as it came"
like "$(cat "$tmpdir/err")" 'qid=q1 event=tag list=bl\.test subject=127\.0\.0\.2 answer=127\.0\.0\.2' \
    "each tag is logged with the queue id"
like "$(cat "$tmpdir/err")" 'event=refused list=refused\.test subject=127\.0\.0\.2 answer=127\.255\.255\.254' \
    "a refused query is logged, not a listing"
is "$(questions '^A 2\.0\.0\.127\.bl\.test$')" 1 "the client is asked once of each list"
is "$(questions "^TXT ")" 6 "TXT reasons are asked for the 6 listings only"

# --- each subject once per batch -----------------------------------------------
: > "$tmpdir/dns-questions"
for i in $(seq 50); do txn 127.0.0.2 "u$i@TEST" "m$i"; done > "$tmpdir/in50"
sluice-dnsbl < "$tmpdir/in50" > "$tmpdir/out50" 2>/dev/null
is "$(grep -c '^X-Sluice-DNSBL: bl\.test' "$tmpdir/out50")" 50 "50 transactions from one client are all tagged"
is "$(questions '^A 2\.0\.0\.127\.bl\.test$')" 1 "and the client is asked once"
is "$(questions '^A test\.dbl\.test$')" 1 "and the sender domain once"

# --- a list that lists everything ------------------------------------------------------
dnsbl_table dnsbl "broken.test ip tag" "bl.test ip4 tag"
txn 127.0.0.2 a@example.org b1 | sluice-dnsbl > "$tmpdir/outb" 2> "$tmpdir/errb"
like "$(cat "$tmpdir/outb")" 'X-Sluice-DNSBL: bl\.test' "a working list still tags"
unlike "$(cat "$tmpdir/outb")" 'broken\.test' "a list that lists 127.0.0.1 (asked once per batch) tags nobody"
like "$(cat "$tmpdir/errb")" 'event=broken list=broken\.test subject=127\.0\.0\.1' "and it is logged"

# --- whitelisted clients are not checked, not even their sender's domain ------------------
dnsbl_table dnsbl "bl.test ip4 tag" "dbl.test domain tag"
dnsbl_table dnsbl_whitelist "127.0.0.0/29"
txn 127.0.0.2 a@test w1 | sluice-dnsbl > "$tmpdir/outw" 2>/dev/null
unlike "$(cat "$tmpdir/outw")" 'X-Sluice-DNSBL' "a whitelisted client's message is not tagged"
dnsbl_table dnsbl_whitelist

# --- an empty stream, a malformed one ---------------------------------------------------------
: > "$tmpdir/dns-questions"
is "$(sluice-dnsbl < /dev/null; echo "rc=$?")" "rc=0" "an empty stream gives an empty stream"
is "$(wc -l < "$tmpdir/dns-questions")" 0 "and asks nothing"
printf 'MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nSubject: x\n' | sluice-dnsbl > "$tmpdir/outt" 2> "$tmpdir/errt"
is "$?" 111 "a truncated stream is a temporary failure"
is "$(wc -c < "$tmpdir/outt")" 0 "and nothing is written"

# --- before the queue: sluice-smtpd hands each message to sluice-dnsbl -s -- NEXT ----------
dnsbl_table dnsbl "bl.test ip4 tag" "dbl.test domain reject"
echo=$tmpdir/echo
mkdir -p "$echo"
port=$(free_port)
ECHO_DIR=$echo SLUICE_QUEUE="sluice-dnsbl -s -- $top/t/queue-echo.sh" \
    start_tcpserver "$port" tcp_pid sluice-smtpd || bail "no tcpserver"
out=$(swaks -s 127.0.0.1 -p "$port" --local-interface 127.0.0.2 --from spammer@test \
    --to test@example.test 2>&1)
like "$out" '<\*\* +554 5\.7\.1 Service unavailable; sender domain test blocked using dbl\.test; Domain listed for testing' \
    "a sender domain on a reject list is refused at the end of DATA, with the reason"
is "$(ls "$echo" | wc -l)" 0 "and nothing reaches the queue"
out=$(swaks -s 127.0.0.1 -p "$port" --local-interface 127.0.0.2 --from alice@example.org \
    --to test@example.test 2>&1)
like "$out" '<- +250 2\.0\.0 Ok: queued as' "another sender from the same client is accepted"
like "$(cat "$echo"/*.msg 2>/dev/null)" $'\nX-Sluice-DNSBL: bl\\.test; 127\\.0\\.0\\.2; client=127\\.0\\.0\\.2; "Listed' \
    "and handed on tagged by the tag list"
done_testing
