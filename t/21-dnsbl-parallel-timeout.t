#!/bin/bash
# sluice-dnsbl asks every list at once: with lists that each answer after
# 1.5 s, a check takes about 1.5 s, not the sum (at connect, and for a whole
# batch of clients in the stream stage); the TXT reasons of the listings
# are asked after, again all at once: one more 1.5 s.  A list slower than dnsbl_timeout is
# given up: by default the client is accepted and the event logged; with
# dnsbl_timeout_action tempfail it is told 421 (at connect) or the batch
# exits 111 (stage).
. "$(dirname "$0")/lib.sh"
. "$top/t/dnsbl.sh"

dnsbl_dns slow1.test=1.5 slow2.test=1.5 slow3.test=1.5 slow4.test=3
dnsbl_conf conf dnsbl_timeout 10s

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- at connect: three slow lists ---------------------------------------------------
dnsbl_table dnsbl "slow1.test ip4 reject" "slow2.test ip4 reject" "slow3.test ip4 reject"
t0=$(now_ms)
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=127.0.0.5 sluice-dnsbl sluice-smtpd 2>/dev/null)
t=$(( $(now_ms) - t0 ))
like "$out" '^220 ' "a client no slow list lists is served"
ok $([ "$t" -ge 1400 ] && [ "$t" -lt 2900 ]; echo $?) \
    "three lists of 1.5 s each take about 1.5 s, not 4.5 (took $t ms)"
t0=$(now_ms)
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=127.0.0.2 sluice-dnsbl sluice-smtpd 2>/dev/null)
t=$(( $(now_ms) - t0 ))
like "$out" '^554 5\.7\.1 .*blocked using slow1\.test' "a client all three list is refused"
ok $([ "$t" -ge 2900 ] && [ "$t" -lt 4400 ]; echo $?) \
    "in about 3 s: the lists at once, then their reasons at once, not 9 s (took $t ms)"

# --- the stage: 30 clients, two slow lists -----------------------------------------
dnsbl_table dnsbl "slow1.test ip4 tag" "slow2.test ip4 tag"
for i in $(seq 30); do
    printf 'XFORWARD ADDR=127.0.1.%d\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\n\nx\n.\n' "$i"
done > "$tmpdir/in"
t0=$(now_ms)
sluice-dnsbl < "$tmpdir/in" > "$tmpdir/out" 2>/dev/null
t=$(( $(now_ms) - t0 ))
is "$(grep -c '^X-Sluice-DNSBL: slow1\.test' "$tmpdir/out")" 30 "each of 30 clients is tagged"
ok $([ "$t" -ge 2900 ] && [ "$t" -lt 4400 ]; echo $?) \
    "60 questions and 30 reasons of 1.5 s each take about 3 s in all (took $t ms)"

# --- a list slower than dnsbl_timeout ------------------------------------------------
dnsbl_conf conf2 dnsbl_timeout 1s
dnsbl_table dnsbl "slow4.test ip4 reject" "bl.test ip4 tag"
t0=$(now_ms)
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=127.0.0.2 sluice-dnsbl sluice-smtpd 2>"$tmpdir/err")
t=$(( $(now_ms) - t0 ))
like "$out" '^220 ' "by default, a client whose list does not answer in time is accepted"
ok $([ "$t" -ge 900 ] && [ "$t" -lt 2500 ]; echo $?) "after dnsbl_timeout, 1 s (took $t ms)"
like "$(cat "$tmpdir/err")" 'client=127\.0\.0\.2 event=unanswered list=slow4\.test subject=127\.0\.0\.2 error="timed out"' \
    "and the timeout is logged"
printf 'XFORWARD ADDR=127.0.0.2\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\n\nx\n.\n' > "$tmpdir/in1"
sluice-dnsbl < "$tmpdir/in1" > "$tmpdir/out1" 2>/dev/null
ok $? "the stage passes the batch on"
like "$(cat "$tmpdir/out1")" 'X-Sluice-DNSBL: bl\.test' "tagged by the list that answered"

dnsbl_conf conf3 dnsbl_timeout 1s dnsbl_timeout_action tempfail
dnsbl_table dnsbl "slow4.test ip4 reject"
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=127.0.0.2 sluice-dnsbl sluice-smtpd 2>/dev/null)
like "$out" '^421 4\.7\.1 DNS-BL lookup failed, try again later' \
    "with dnsbl_timeout_action tempfail the client is told 421"
sluice-dnsbl < "$tmpdir/in1" > "$tmpdir/out3" 2> "$tmpdir/err3"
is "$?" 111 "and the stage's batch waits (111)"
like "$(cat "$tmpdir/err3")" 'fatal: 4\.4\.3 DNS-BL lookup failed' "with a reason"
is "$(wc -c < "$tmpdir/out3")" 0 "having written nothing"
done_testing
