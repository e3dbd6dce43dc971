#!/bin/bash
# An explicit nexthop in a recipient's route wins over relayhost, as a
# nexthop in Postfix's transport_maps does: relayhost is the nexthop of the
# routes that name none (plain "smtp").  sluice-smtp sends accordingly, and
# the queue (lib/qdest, shown by mailq) names the destination the same way.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

p_relay=$(free_port); start_sink s1 127.0.0.1 "$p_relay" "$tmpdir/relay"
p_route=$(free_port); start_sink s2 127.0.0.1 "$p_route" "$tmpdir/route"
table smtp_hosts "relay.test 127.0.0.1" "mx.route.test 127.0.0.1"
table config "relayhost [relay.test]:$p_relay" "smtp_hosts_order first" \
    "smtp_connect_timeout 5s" "smtp_helo_timeout 10s"

{ msg s@example.org q1 "<p@plain.test> X-ROUTE=smtp"
  msg s@example.org q2 "<e@explicit.test> X-ROUTE=smtp:[127.0.0.1]:$p_route"
  msg s@example.org q3 "<m@mx.test> X-ROUTE=smtp:mx.route.test:$p_route"; } > "$tmpdir/in"
smtp "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is $? 0 "exit 0"
err=$(cat "$tmpdir/err")
like "$err" "to=<p@plain.test> relay=relay.test\[127\.0\.0\.1\]:$p_relay .* status=sent" \
    "a plain smtp route goes to relayhost"
like "$err" "to=<e@explicit.test> relay=127\.0\.0\.1\[127\.0\.0\.1\]:$p_route .* status=sent" \
    "an explicit [host]:port nexthop wins over relayhost"
like "$err" "to=<m@mx.test> relay=mx\.route\.test\[127\.0\.0\.1\]:$p_route .* status=sent" \
    "so does an explicit host:port nexthop (its MX, here smtp_hosts)"
is "$(count_files "$tmpdir/relay") $(count_files "$tmpdir/route")" "1 2" \
    "one message reached the relay, two the routes' server"
is "$(cat "$tmpdir/out")" "" "nothing is left"

# The queue names the destinations as sluice-smtp delivers them.
sp=$SLUICE_SPOOL
mkdir -p "$sp"/{tmp,incoming,deferred,bad,dead,quarantine}
printf 'MAIL FROM:<s@example.org>\nRCPT TO:<e@explicit.test> X-ROUTE=smtp:[127.0.0.1]:%s\nRCPT TO:<p@plain.test> X-ROUTE=smtp\nDATA\nSubject: q\n\nx\n.\n' \
    "$p_route" | sluice-enqueue 2>/dev/null
out=$(mailq 2>&1)
like "$out" "-> explicit\.test via \[127\.0\.0\.1\]:$p_route" "mailq: the explicit nexthop"
like "$out" "-> plain\.test via \[relay\.test\]:$p_relay" "mailq: relayhost for the plain route"
done_testing
