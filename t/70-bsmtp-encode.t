#!/bin/bash
# sluice-bsmtp-encode takes the recipients routed bsmtp:MAILBOX out of their
# transaction and adds a tunnel message for MAILBOX: an RFC 2442
# application/batch-SMTP message whose batch is CRLF canonical (EHLO, the
# transaction with its ESMTP parameters but none of sluice's private ones,
# QUIT), 7bit when every line allows, base64 when the content is 8-bit or a
# line is too long for 7bit, with a MAC that checks with the shared secret.
# One tunnel message per transaction, or per batch with batch=yes; a
# max_size that starts a new tunnel message, or bounces a transaction that
# alone is too big.  A stream with nothing for a tunnel passes unchanged.
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf
mkdir -p "$conf"
export SLUICE_CONF=$conf TUNNEL_SECRET=s3cret
table config "hostname hub.test"
table bsmtp_tunnels "tunnel@hub.test secret=s3cret" "batch@hub.test batch=yes max_size=8k" \
    "plain@hub.test form=plain"

# txn FROM-PARAMS BODY-LINES... with recipients from $rcpts (one a line).
txn() {
    local mail=$1
    shift
    printf 'XFORWARD NAME=client.test ADDR=192.0.2.7 IDENT=06b0205b09b4f700054c4\n'
    printf 'MAIL FROM:<alice@sender.test>%s\n' "$mail"
    printf '%s\n' "$rcpts"
    printf 'DATA\n'
    printf '%s\n' "$@" | sed 's/^\./../'
    printf '.\n'
}
encode() { sluice-bsmtp-encode < "$tmpdir/in" > "$tmpdir/out" 2>"$tmpdir/err"; }
take() { rm -rf "$tmpdir/t"; "$PY" "$tools/tunnels.py" "$tmpdir/out" "$tmpdir/t"; }

# Nothing for a tunnel: the same octets out.
rcpts='RCPT TO:<bob@example.test> NOTIFY=FAILURE ORCPT=rfc822;bob@example.test X-ROUTE=local'
txn ' BODY=8BITMIME ENVID=E1' 'Subject: local' '' '.dot' > "$tmpdir/in"
encode; rc=$?
is "$rc" 0 "a stream without tunnel recipients is read"
cmp -s "$tmpdir/in" "$tmpdir/out"
ok $? "and written out unchanged"

# One transaction, ASCII: 7bit; the local recipient stays in the original.
rcpts=$'RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@remote.test X-ROUTE=bsmtp:tunnel@hub.test\nRCPT TO:<carol@remote.test> X-ROUTE=bsmtp:tunnel@hub.test\nRCPT TO:<dave@example.test> X-ROUTE=local'
txn ' RET=HDRS ENVID=E2' 'Subject: ascii' '' '.a dotted line' 'end' > "$tmpdir/in"
encode || diag "$(cat "$tmpdir/err")"
is "$(take)" "1 7bit size=$(take >/dev/null; wc -c < "$tmpdir/t/1.msg")" "an ASCII transaction makes one 7bit tunnel message"
printf '%s\r\n' 'EHLO hub.test' 'MAIL FROM:<alice@sender.test> RET=HDRS ENVID=E2' \
    'RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@remote.test' \
    'RCPT TO:<carol@remote.test>' 'DATA' 'Subject: ascii' '' '..a dotted line' 'end' '.' 'QUIT' > "$tmpdir/want"
cmp -s "$tmpdir/t/1.batch" "$tmpdir/want"
ok $? "its batch: EHLO, the envelope with ESMTP parameters and no private ones, the body, QUIT, all CRLF"
is "$(cat "$tmpdir/t/1.mac")" ok "its MAC checks with the shared secret"
like "$(cat "$tmpdir/t/1.env")" $'^MAIL FROM:<postmaster@hub.test> BODY=7BIT X-TUNNEL=1\nRCPT TO:<tunnel@hub.test>$' \
    "it goes from the postmaster to the tunnel mailbox, marked X-TUNNEL"
grep -q $'^Content-Type: application/batch-SMTP\r$' "$tmpdir/t/1.msg" &&
    grep -q $'^MIME-Version: 1.0\r$' "$tmpdir/t/1.msg" && grep -q $'^Message-ID: <bsmtp\\.' "$tmpdir/t/1.msg"
ok $? "it is an application/batch-SMTP MIME message with a Message-ID"
is "$(grep -c '^RCPT' "$tmpdir/t/rest")" 1 "the original keeps only the recipient that is not tunnelled"
grep -q '^XFORWARD .*IDENT=06b0205b09b4f700054c4' "$tmpdir/t/rest" && ! grep -q '^XFORWARD' "$tmpdir/t/1.env"
ok $? "the original keeps its IDENT; the tunnel message has none (a new message)"
awk 'length > 998' "$tmpdir/t/1.msg" | grep -q . ; ok $((!$?)) "no line of the tunnel message is over 998 octets"

# 8-bit content, and a dot-stuffed line that 7bit cannot carry: base64.
rcpts='RCPT TO:<bob@remote.test> X-ROUTE=bsmtp:tunnel@hub.test'
txn ' BODY=8BITMIME' 'Subject: 8bit' '' $'caf\xc3\xa9' > "$tmpdir/in"
encode; take > "$tmpdir/list"
like "$(cat "$tmpdir/list")" '^1 base64 ' "8-bit content is base64"
LC_ALL=C grep -q $'^caf\xc3\xa9\r$' "$tmpdir/t/1.batch"; ok $? "and decodes to the 8-bit octets"
txn '' 'Subject: long' '' ".$(head -c 997 /dev/zero | tr '\0' x)" > "$tmpdir/in"
encode; take > "$tmpdir/list"
like "$(cat "$tmpdir/list")" '^1 base64 ' "a line of 999 octets once dot-stuffed is base64"
"$PY" -c 'import sys; b = open(sys.argv[1],"rb").read().split(b"\r\n\r\n", 1)[1]; sys.exit(0 if all(len(l) <= 76 for l in b.split(b"\r\n")) else 1)' "$tmpdir/t/1.msg"
ok $? "with body lines of at most 76 characters"

# Per transaction, and per batch.
{ rcpts='RCPT TO:<a@remote.test> X-ROUTE=bsmtp:tunnel@hub.test'; txn '' 'Subject: one' '' 1
  rcpts='RCPT TO:<b@remote.test> X-ROUTE=bsmtp:tunnel@hub.test'; txn '' 'Subject: two' '' 2; } > "$tmpdir/in"
encode; is "$(take | wc -l)" 2 "two transactions: two tunnel messages by default"
{ rcpts='RCPT TO:<a@remote.test> X-ROUTE=bsmtp:batch@hub.test'; txn '' 'Subject: one' '' 1
  rcpts='RCPT TO:<b@remote.test> X-ROUTE=bsmtp:batch@hub.test'; txn '' 'Subject: two' '' 2; } > "$tmpdir/in"
encode; is "$(take | wc -l)" 1 "batch=yes: one tunnel message for both"
is "$(grep -c '^MAIL FROM:' "$tmpdir/t/1.batch")" 2 "holding both transactions"
grep -q '^Subject: BSMTP tunnel from hub.test: 2 messages' "$tmpdir/t/1.msg"; ok $? "its Subject: counts them"

# max_size 8k: three 3k transactions make two tunnel messages; a 9k one bounces.
big=$(head -c 3000 /dev/zero | tr '\0' y | fold -w 100)
{ for u in a b c; do rcpts="RCPT TO:<$u@remote.test> X-ROUTE=bsmtp:batch@hub.test"; txn '' "Subject: $u" '' "$big"; done; } > "$tmpdir/in"
encode; take > "$tmpdir/list"
is "$(wc -l < "$tmpdir/list")" 2 "a transaction that would take a tunnel message over max_size starts a new one"
"$PY" -c 'import sys; sys.exit(0 if all(int(l.split("size=")[1]) <= 8192 for l in open(sys.argv[1])) else 1)' "$tmpdir/list"
ok $? "every tunnel message is within max_size"
rcpts=$'RCPT TO:<big@remote.test> X-ROUTE=bsmtp:batch@hub.test\nRCPT TO:<dave@example.test> X-ROUTE=local'
txn '' 'Subject: too big' '' "$big" "$big" "$big" > "$tmpdir/in"
encode; take > "$tmpdir/list"
is "$(wc -l < "$tmpdir/list")" 0 "a transaction alone over max_size makes no tunnel message"
grep -q '^MAIL FROM:<> X-NOTICE=bounce' "$tmpdir/t/rest" && grep -q '^Status: 5.3.4' "$tmpdir/t/rest" &&
    grep -q '^Final-Recipient: rfc822; big@remote.test' "$tmpdir/t/rest"
ok $? "it bounces with 5.3.4 for its tunnel recipient"
grep -q '^RCPT TO:<dave@example.test> X-ROUTE=local' "$tmpdir/t/rest"
ok $? "and its other recipient stays"

# The plain form: no ESMTP parameters inside, and a relayed notice for
# NOTIFY=SUCCESS, since the far end will never know it was asked for.
rcpts='RCPT TO:<bob@remote.test> NOTIFY=SUCCESS ORCPT=rfc822;bob@remote.test X-ROUTE=bsmtp:plain@hub.test'
txn ' SIZE=100 ENVID=E3' 'Subject: plain' '' body > "$tmpdir/in"
encode; take >/dev/null
grep -q $'^MAIL FROM:<alice@sender.test>\r$' "$tmpdir/t/1.batch" && grep -q $'^RCPT TO:<bob@remote.test>\r$' "$tmpdir/t/1.batch"
ok $? "form=plain: MAIL and RCPT without parameters"
grep -q '^MAIL FROM:<> X-NOTICE=success' "$tmpdir/t/rest" && grep -q '^Action: relayed' "$tmpdir/t/rest"
ok $? "form=plain: a relayed notice for NOTIFY=SUCCESS"
is "$(cat "$tmpdir/t/1.mac")" none "no secret, no MAC"

# A tunnel message routed into a tunnel is a loop; NUL cannot be tunnelled.
{ printf 'MAIL FROM:<postmaster@hub.test> X-TUNNEL=1\nRCPT TO:<loop@remote.test> X-ROUTE=bsmtp:tunnel@hub.test\nDATA\nx\n.\n'; } > "$tmpdir/in"
encode; take > "$tmpdir/list"
is "$(wc -l < "$tmpdir/list")" 0 "a tunnel message is never wrapped into a tunnel again"
grep -q '^Status: 5.4.6' "$tmpdir/t/rest"; ok $? "it bounces as a routing loop (5.4.6)"
rcpts='RCPT TO:<bob@remote.test> X-ROUTE=bsmtp:tunnel@hub.test'
{ printf 'MAIL FROM:<alice@sender.test>\n%s\nDATA\n' "$rcpts"; printf 'a\0b\n.\n'; } > "$tmpdir/in"
encode; take > "$tmpdir/list"
is "$(wc -l < "$tmpdir/list")" 0 "a body with NUL makes no tunnel message"
grep -q '^Status: 5.6.0' "$tmpdir/t/rest"; ok $? "it bounces with 5.6.0"

# What the encoder writes is a stream sluice reads again.
rcpts='RCPT TO:<bob@remote.test> X-ROUTE=bsmtp:tunnel@hub.test'
txn '' 'Subject: again' '' x > "$tmpdir/in"
encode && "$top/t/streamcat" < "$tmpdir/out" > /dev/null
ok $? "the encoder's output is a valid stream"
done_testing
