#!/bin/bash
# Daily limits per authenticated user (seed 002 "SMTP Options"):
# smtpd_auth_daily_messages and smtpd_auth_daily_bytes, or a user's own in
# table auth_limits; counted across sessions in spool/auth/USER; a user
# over a limit gets 450 4.7.1 at MAIL while others are served; a count of
# another day does not count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_cert
smtpd_conf conf smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth yes \
    smtpd_auth_daily_messages 2
conf=$tmpdir/conf
{ for u in alice bob carol dan; do printf '%s %s\n' "$u" "$(smtpd_password "$u" pw)"; done; } \
    > "$conf/smtpd_passwords"
printf 'bob 0 3k\ndan 0 3k\n' > "$conf/auth_limits"
chmod 600 "$conf/smtpd_passwords"
for t in smtpd_passwords auth_limits; do sluice-mkcdb -o "$conf/$t.cdb" "$conf/$t"; done
chmod 600 "$conf/smtpd_passwords.cdb"
smtpd_start port "$conf" "$tmpdir/echo"
spool=$tmpdir/conf/spool

send() {   # send USER [SWAKS-OPTIONS...] -> swaks's output
    local u=$1; shift
    swaks -s 127.0.0.1 -p "$port" --tls --auth PLAIN --auth-user "$u" --auth-password pw \
        --from "$u@example.org" --to friend@other.example "$@" 2>&1
}

like "$(send alice)" '<~ +250 2\.0\.0 Ok: queued' "alice's first message of the day"
like "$(send alice)" '<~ +250 2\.0\.0 Ok: queued' "her second, in another session"
out=$(send alice)
like "$out" '<~\* +450 4\.7\.1 Daily sending limit' "her third is 450 4.7.1 at MAIL"
like "$(cat "$spool/auth/alice")" "^$(date -u +%Y%m%d) 2 [0-9]+$" "spool/auth/alice counts 2 messages today"
like "$(send carol)" '<~ +250 2\.0\.0 Ok: queued' "another user is served meanwhile"

# bob's own limit: no message limit, 3 KiB a day.
big=$(head -c 3000 /dev/zero | tr '\0' x | fold -w 70)
like "$(send bob --body "$big")" '<~ +250 2\.0\.0 Ok: queued' "bob sends 3 KB (under table auth_limits: 0 3k)"
like "$(send bob --body small)" '<~\* +450 4\.7\.1' "then his octets are used up"
rm -f "$tmpdir/echo"/*.msg
py_checks "$port" "$tmpdir/echo" <<'EOF'
import ssl
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
s = smtplib.SMTP("127.0.0.1", PORT, timeout=30)
s._host = "mx.example.test"
s.starttls(context=ctx)
s.login("dan", "pw")
code, _ = s.mail("dan@example.org", ["SIZE=4000"])
check("a declared SIZE over the bytes left is 450 at MAIL", code == 450, code)
code, _ = s.mail("dan@example.org", ["SIZE=1000"])
check("one within them is accepted", code == 250, code)
s.rset()
s.quit()
EOF

# A count from another day is no count.
printf '20000101 99 99999999\n' > "$spool/auth/carol"
like "$(send carol)" '<~ +250 2\.0\.0 Ok: queued' "yesterday's count does not hold today"
like "$(cat "$spool/auth/carol")" "^$(date -u +%Y%m%d) 1 [0-9]+$" "and the count starts again at today's first"
like "$(cat "$tmpdir/tcpserver-$port.log")" 'event=reject reason=daily_limit user=alice messages=2' \
    "a refusal is logged"
done_testing
