#!/bin/bash
# sluice-smtp against a real DNS server and Postfix's smtp-sink: MX lookup and
# its fallbacks, delivery, pass-through, temporary and permanent failures,
# dropped connections, 421 (smtp-sink -Q), 554 at DATA, relay routes,
# relayhost and smtp_hosts, and a refused double bounce.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

port=$(free_port)
start_dns "\$ORIGIN test.
\$TTL 300
a.test.      IN MX 10 mx1.a.test.
mx1.a.test.  IN A  127.0.0.1
b.test.      IN MX 10 dead.b.test.
b.test.      IN MX 20 live.b.test.
dead.b.test. IN A  127.0.0.2
live.b.test. IN A  127.0.0.1
c.test.      IN A  127.0.0.1
d.test.      IN MX 10 drop.d.test.
d.test.      IN MX 20 live.d.test.
drop.d.test. IN A  127.0.0.3
live.d.test. IN A  127.0.0.1
null.test.   IN MX 0 ."
table config "dns_servers 127.0.0.1:$dport" "smtp_port $port" \
    "smtp_helo_timeout 10s" "smtp_connect_timeout 5s"

start_sink sink "127.0.0.1" "$port" "$tmpdir/main"
start_sink sinkq "127.0.0.3" "$port" "$tmpdir/drop" -q RCPT
p_soft=$(free_port); start_sink s1 127.0.0.1 "$p_soft" "$tmpdir/soft" -r RCPT
p_hard=$(free_port); start_sink s2 127.0.0.1 "$p_hard" "$tmpdir/hard" -f RCPT
p_554=$(free_port); start_sink s3 127.0.0.1 "$p_554" "$tmpdir/554" -B "554 5.7.1 not now" -f .
p_421=$(free_port); start_sink s4 127.0.0.1 "$p_421" "$tmpdir/421" -Q RCPT

# ---- one message, MX delivery, the local recipient passes through ----
msg alice@example.org q1 "<bob@a.test> X-ROUTE=smtp" "<loc@example.org> X-ROUTE=local" > "$tmpdir/in1"
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
is $? 0 "delivers and exits 0"
f=$(find "$tmpdir/main" -type f | head -1)
like "$(cat "$f" 2>/dev/null)" "X-Rcpt-Args: <bob@a.test>" "the sink got the recipient"
grep -qx '.a line with a dot' "$f" 2>/dev/null
ok $? "the body arrives with dot-stuffing undone by the sink"
like "$(cat "$tmpdir/err1")" "qid=q1 to=<bob@a.test> relay=mx1.a.test\[127.0.0.1\]:$port delay=[0-9.]+ dsn=2\.[0-9.]+ status=sent reply=\"250 " \
    "one log line per recipient: relay, delay, dsn, status, reply"
like "$(cat "$tmpdir/out1")" "RCPT TO:<loc@example.org> X-ROUTE=local" "the local recipient stays in the output"
unlike "$(cat "$tmpdir/out1")" "bob@a.test" "the delivered recipient is gone from the output"

# ---- a transaction with no smtp recipient passes through byte for byte ----
msg alice@example.org q2 "<x@example.org> X-ROUTE=local" > "$tmpdir/in2"
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
cmp -s "$tmpdir/in2" "$tmpdir/out2"
ok $? "other routes pass through untouched"

# ---- MX preference, A fallback, dropped connection, null MX, NXDOMAIN ----
rm -f "$tmpdir"/main/*
{ msg s@example.org q3 "<u@b.test> X-ROUTE=smtp"
  msg s@example.org q4 "<u@c.test> X-ROUTE=smtp"
  msg s@example.org q5 "<u@d.test> X-ROUTE=smtp"
  msg s@example.org q6 "<u@null.test> X-ROUTE=smtp"
  msg s@example.org q7 "<u@nx.test> X-ROUTE=smtp"; } > "$tmpdir/in3"
smtp "$tmpdir/in3" "$tmpdir/out3" "$tmpdir/err3"
is $? 0 "exit 0 with bounces"
err=$(cat "$tmpdir/err3"); out=$(cat "$tmpdir/out3")
like "$err" "to=<u@b.test> relay=live.b.test\[127.0.0.1\]:$port .* status=sent" \
    "the lower preference MX is dead: the next one takes it"
like "$err" "to=<u@c.test> relay=c.test\[127.0.0.1\]:$port .* status=sent" \
    "no MX: the domain's own address"
like "$err" "to=<u@d.test> relay=live.d.test\[127.0.0.1\]:$port .* status=sent" \
    "the first MX drops the connection: the next one takes it"
is "$(count_files "$tmpdir/main")" 3 "three messages reached the sink"
like "$out" "Final-Recipient: rfc822; u@null.test
Action: failed
Status: 5\.1\.10" "null MX bounces with 5.1.10"
like "$out" "Final-Recipient: rfc822; u@nx.test
Action: failed
Status: 5\.1\.2" "NXDOMAIN bounces with 5.1.2"
is "$(grep -c '^MAIL FROM:<> X-NOTICE=bounce' "$tmpdir/out3")" 2 "one bounce per failed message"
like "$out" "RCPT TO:<s@example.org>" "the bounces go to the sender"

# ---- replies: 4xx defers, 5xx bounces, a drop defers, 554 at DATA ----
{ msg s@example.org q8 "<t@soft.test> X-ROUTE=smtp:[127.0.0.1]:$p_soft"
  msg s@example.org q9 "<h@hard.test> X-ROUTE=smtp:[127.0.0.1]:$p_hard" "<ok@a.test> X-ROUTE=smtp"
  msg s@example.org q10 "<q@drop.test> X-ROUTE=smtp:[127.0.0.3]:$port"
  msg s@example.org q11 "<d@554.test> X-ROUTE=smtp:[127.0.0.1]:$p_554"; } > "$tmpdir/in4"
smtp "$tmpdir/in4" "$tmpdir/out4" "$tmpdir/err4"
is $? 0 "exit 0 with deferrals"
out=$(cat "$tmpdir/out4")
like "$out" "RCPT TO:<t@soft.test> X-ROUTE=smtp:\[127\.0\.0\.1\]:$p_soft X-DEFER=4\.[0-9.]+\+20host\+20127\.0\.0\.1\[127\.0\.0\.1\]\+20said:\+204[0-9][0-9]\+20" \
    "a 4xx reply to RCPT leaves the recipient with X-DEFER"
like "$out" "Final-Recipient: rfc822; h@hard.test
Action: failed
Status: 5\.[0-9.]+
Remote-MTA: dns; 127\.0\.0\.1
Diagnostic-Code: smtp; 5[0-9][0-9] " "a 5xx reply bounces, with Remote-MTA and Diagnostic-Code: smtp"
unlike "$out" "ok@a.test" "the other recipient of that message leaves the output"
like "$(cat "$tmpdir/err4")" "qid=q9 to=<ok@a\.test> relay=mx1\.a\.test\[127\.0\.0\.1\]:$port .* status=sent" \
    "...because it is delivered"
like "$out" "RCPT TO:<q@drop.test> [^
]*X-DEFER=4\.4\.2\+20lost\+20connection" "a dropped connection defers"
like "$out" "RCPT TO:<d@554.test> [^
]*X-DEFER=4\.7\.1\+20host[^
]*554\+205\.7\.1\+20not\+20now" "554 after DATA is temporary by default"
like "$(cat "$tmpdir/err4")" "to=<t@soft.test> relay=127.0.0.1\[127.0.0.1\]:$p_soft .* status=deferred" \
    "the deferral is logged"

# ---- a 421 (smtp-sink -Q) in the middle of a session defers, nothing is lost ----
{ msg s@example.org q13 "<a@421.test> X-ROUTE=smtp:[127.0.0.1]:$p_421"
  msg s@example.org q14 "<b@421.test> X-ROUTE=smtp:[127.0.0.1]:$p_421"; } > "$tmpdir/in6"
smtp "$tmpdir/in6" "$tmpdir/out6" "$tmpdir/err6"
is $? 0 "a 421 at RCPT: exit 0"
out=$(cat "$tmpdir/out6")
like "$out" "RCPT TO:<a@421\.test> [^
]*X-DEFER=4\.[0-9.]+" "the recipient refused with 421 is deferred"
like "$out" "RCPT TO:<b@421\.test> [^
]*X-DEFER=4\.[0-9.]+" "and so is the next message for that destination, not tried on a closed session"
unlike "$out" "Action: failed" "a 421 bounces nothing"

# ---- a double bounce the remote refuses is kept (for dead/), not dropped ----
table config "dns_servers 127.0.0.1:$dport" "smtp_port $port" \
    "smtp_helo_timeout 10s" "smtp_connect_timeout 5s" "postmaster pm@hard.test"
printf 'XFORWARD IDENT=q12\nMAIL FROM:<> X-NOTICE=bounce\nRCPT TO:<pm@hard.test> X-ROUTE=smtp:[127.0.0.1]:%s\nDATA\nSubject: double\n\nx\n.\n' \
    "$p_hard" > "$tmpdir/in5"
smtp "$tmpdir/in5" "$tmpdir/out5" "$tmpdir/err5"
is $? 0 "a refused double bounce: exit 0"
like "$(cat "$tmpdir/out5")" "RCPT TO:<pm@hard.test> [^
]*X-DEFER=5\.[0-9.]+" "the refused double bounce stays in the output with its 5.x.x reason, for sluice-runq's dead/"
unlike "$(cat "$tmpdir/out5")" "Action: failed" "and no bounce of it is made"
table config "dns_servers 127.0.0.1:$dport" "smtp_port $port" \
    "smtp_helo_timeout 10s" "smtp_connect_timeout 5s"

table config "dns_servers 127.0.0.1:$dport" "smtp_port $port" "smtp_554_data_temporary no"
msg s@example.org q12 "<d@554.test> X-ROUTE=smtp:[127.0.0.1]:$p_554" > "$tmpdir/in5"
smtp "$tmpdir/in5" "$tmpdir/out5" "$tmpdir/err5"
like "$(cat "$tmpdir/out5")" "Status: 5\.7\.1" "with smtp_554_data_temporary no, 554 bounces"

# ---- relayhost with a name from smtp_hosts, relayhost_backup ----
rm -f "$tmpdir"/main/*
table smtp_hosts "relay.test 127.0.0.1" "backup.test 127.0.0.1"
table config "dns_servers 127.0.0.1:$dport" "relayhost [relay.test]:$p_soft" \
    "relayhost_backup [backup.test]:$port" "smtp_hosts_order first"
msg s@example.org q13 "<r@anywhere.test> X-ROUTE=smtp" "<r2@a.test> X-ROUTE=smtp:[127.0.0.9]:1" > "$tmpdir/in6"
smtp "$tmpdir/in6" "$tmpdir/out6" "$tmpdir/err6"
err=$(cat "$tmpdir/err6")
like "$err" "to=<r@anywhere.test> relay=backup.test\[127.0.0.1\]:$port .* status=sent" \
    "relayhost defers (4xx): relayhost_backup takes the message"
like "$err" "to=<r2@a.test> relay=none .* status=deferred reply=\"connect to 127\.0\.0\.9\[127\.0\.0\.9\]:1: " \
    "relayhost does not override an explicit nexthop (t/50-smtp-route-beats-relayhost.t)"
is "$(count_files "$tmpdir/main")" 1 "one message for both recipients"

done_testing
