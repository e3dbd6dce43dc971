#!/bin/bash
# sluice-smtpd under a real tcpserver, driven by swaks and by Postfix's
# smtp-source: a plain send, the EHLO keywords, pipelining, HELO, a message
# over the size limit, and 100 messages over 5 connections.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"
echo=$tmpdir/echo

# --- a plain send -------------------------------------------------------
out=$(swaks -s 127.0.0.1 -p "$port" --ehlo client.example.org \
    --from alice@example.org --to test@example.test \
    --header 'Subject: plain' --body 'hello from swaks' 2>&1)
ok $? "swaks sends a message"
like "$out" '<- +250 2\.0\.0 Ok: queued as [0-9a-f]{21}' "the DATA reply names the queue id"
qid=$(grep -oE 'queued as [0-9a-f]+' <<<"$out" | cut -d' ' -f3)
is "$(echo_count "$echo")" 1 "one transaction reached the queue program"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$(sed -n 1p <<<"$msg")" \
    "^XFORWARD ADDR=127\\.0\\.0\\.1 PORT=[1-9][0-9]* PROTO=ESMTP HELO=client\\.example\\.org IDENT=$qid\$" \
    "XFORWARD carries the client, HELO, protocol and the same queue id"
is "$(sed -n 2,4p <<<"$msg")" "MAIL FROM:<alice@example.org>
RCPT TO:<test@example.test>
DATA" "the envelope is handed over as a stream"
like "$(sed -n 5,7p <<<"$msg")" \
    "^Received: from client\.example\.org \(unknown \[127\.0\.0\.1\]\)
	by mx\.example\.test \(sluice\) with ESMTP id $qid
	for <test@example\.test>; [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}\$" \
    "a Received: field with the queue id comes first"
like "$msg" $'\nSubject: plain\n' "the header is passed on"
like "$msg" $'\nhello from swaks\n(\n)*\\.$' "the body is passed on and the stream ends with ."
unlike "$msg" $'\r' "the stream uses LF line ends"

# --- EHLO keywords --------------------------------------------------------
out=$(swaks -s 127.0.0.1 -p "$port" --to test@example.test --quit-after EHLO 2>&1)
for kw in PIPELINING 'SIZE 36700160' 8BITMIME ENHANCEDSTATUSCODES DSN SMTPUTF8; do
    like "$out" "<- +250[ -]$kw"$'(\r)?\n' "EHLO offers $kw"
done
unlike "$out" '250[ -](AUTH|STARTTLS)' "EHLO offers neither AUTH nor STARTTLS (no TLS yet)"
like "$out" '<- +221 2\.0\.0 ' "QUIT is answered 221 2.0.0"

# --- pipelining -----------------------------------------------------------
rm -f "$echo"/*.msg
out=$(swaks -s 127.0.0.1 -p "$port" --pipeline --from a@example.org \
    --to test@example.test,bob@example.test,alias@example.test 2>&1)
ok $? "swaks --pipeline sends a message to three recipients"
like "$out" '<- +250 2\.0\.0 Ok: queued as' "the pipelined transaction is queued"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$msg" $'RCPT TO:<test@example.test>\nRCPT TO:<bob@example.test>\nRCPT TO:<alias@example.test>\nDATA\n' \
    "all three pipelined recipients are handed over (alias table counts as known)"
like "$msg" $'with ESMTP id [0-9a-f]{21};\n\t[A-Z]' "Received: has no 'for' clause with several recipients"

# --- HELO, as smtp-source speaks it --------------------------------------
rm -f "$echo"/*.msg
out=$(swaks -s 127.0.0.1 -p "$port" --protocol SMTP --helo old.example.org \
    --from a@example.org --to bob@example.test 2>&1)
like "$out" '<- +250 mx\.example\.test' "HELO is answered with the host name"
like "$out" '<- +250 2\.0\.0 Ok: queued as' "a HELO session queues a message"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$msg" 'PROTO=SMTP HELO=old\.example\.org' "XFORWARD says PROTO=SMTP after HELO"
like "$msg" 'with SMTP id' "Received: says 'with SMTP' after HELO"

# --- a message over the size limit -----------------------------------------
smtpd_conf small message_size_limit 10k
smtpd_start sport "$tmpdir/small" "$tmpdir/echo-small"
head -c 30000 /dev/zero | tr '\0' 'x' | fold -w 70 > "$tmpdir/big.txt"
out=$(swaks -s 127.0.0.1 -p "$sport" --to test@example.test \
    --body @"$tmpdir/big.txt" 2>&1)
like "$out" 'SIZE 10240' "EHLO announces the configured limit"
like "$out" '<(-|\*\*) +552 5\.3\.4 ' "a body over message_size_limit is refused with 552 5.3.4 after the data"
is "$(echo_count "$tmpdir/echo-small")" 0 "nothing over the limit was queued"
out=$(swaks -s 127.0.0.1 -p "$sport" --to test@example.test --body small 2>&1)
like "$out" '<- +250 2\.0\.0 Ok: queued' "a message under the limit is still accepted"

# --- smtp-source: 100 messages over 5 connections, HELO, no pipelining -------
rm -f "$echo"/*.msg
out=$(/usr/sbin/smtp-source -s 5 -m 100 -l 5120 -f a@example.test \
    -t test@example.test "127.0.0.1:$port" 2>&1)
ok $? "smtp-source sends 100 messages"
[ -z "$out" ] || diag "smtp-source said: $out"
is "$(echo_count "$echo")" 100 "all 100 transactions reached the queue program"
n=$(cat "$echo"/*.msg | grep -c '^RCPT TO:<test@example.test>$')
is "$n" 100 "each one with its recipient"
n=$(for f in "$echo"/*.msg; do tail -n 1 "$f"; done | grep -c '^\.$')
is "$n" 100 "each stream is complete"
is "$(ls "$echo" | grep -vc '\.msg$')" 0 "no truncated or stray files"

done_testing
