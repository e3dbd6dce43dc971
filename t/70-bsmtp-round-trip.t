#!/bin/bash
# A BSMTP tunnel end to end keeps the envelope: mail for a forwarded domain
# goes through sluice-route and sluice-bsmtp-encode on the sending host, is
# delivered as one tunnel message into a mailbox of a real POP3 server
# (Dovecot), is fetched by sluice-pop3, decoded by sluice-bsmtp-decode, queued
# and delivered on the receiving host, and arrives with its original envelope:
# the Bcc recipient and the members of an alias are delivered though no header
# names them, the envelope sender is the original, and the DSN parameters
# (ENVID, NOTIFY, ORCPT) cross the tunnel.  The tunnel mailbox is empty after.
. "$(dirname "$0")/lib.sh"
. "$top/t/dovecot.sh"
[ "$(id -u)" = 0 ] || bail "needs root for Dovecot"

mkconf() {  # mkconf DIR TABLE LINES...
    local d=$1 t=$2
    shift 2
    printf '%s\n' "$@" > "$d/$t"
    sluice-mkcdb -o "$d/$t.cdb" "$d/$t" || bail "sluice-mkcdb $t failed"
}

dovecot_start tunnel:tunnelpw
secret=correct-horse-battery

# The sending host: remote.test is forwarded to the tunnel mailbox.
A=$tmpdir/a
mkdir -p "$A/conf" "$A/spool" "$A/mail"
mkconf "$A/conf" config "hostname hub.test" "spool $A/spool" "mailroot $A/mail" \
    "chain sluice-envelope | sluice-alias | sluice-route | sluice-bsmtp-encode | sluice-local"
mkconf "$A/conf" domains hub.test
mkconf "$A/conf" users "tunnel@hub.test $(dv_box tunnel)/"
mkconf "$A/conf" aliases "team@hub.test dave@remote.test, erin@remote.test"
mkconf "$A/conf" routes "remote.test bsmtp:tunnel@hub.test"
mkconf "$A/conf" bsmtp_tunnels "tunnel@hub.test secret=$secret"

# The receiving host.
B=$tmpdir/b
mkdir -p "$B/conf" "$B/spool" "$B/mail"
mkconf "$B/conf" config "hostname remote.test" "spool $B/spool" "mailroot $B/mail"
mkconf "$B/conf" domains remote.test
mkconf "$B/conf" users "bob@remote.test bob/" "carol@remote.test carol/" \
    "dave@remote.test dave/" "erin@remote.test erin/"
mkconf "$B/conf" bsmtp_senders "postmaster@hub.test secret=$secret"
mkconf "$B/conf" pop3_profiles "hub host=127.0.0.1 port=$dv_port tls=none user=tunnel pass=tunnelpw"

siteA() { SLUICE_CONF=$A/conf SLUICE_SPOOL=$A/spool SLUICE_LIBEXEC=$top/libexec "$@"; }
siteB() { SLUICE_CONF=$B/conf SLUICE_SPOOL=$B/spool SLUICE_LIBEXEC=$top/libexec "$@"; }

# carol is a Bcc: only the envelope names her; team@ is an alias.
printf '%s\r\n' 'MAIL FROM:<alice@sender.test> RET=HDRS ENVID=env+2Dtunnel-1' \
    'RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@remote.test' \
    'RCPT TO:<carol@remote.test>' 'RCPT TO:<team@hub.test>' 'DATA' \
    'From: alice@sender.test' 'To: bob@remote.test' 'Subject: through the tunnel' \
    'X-Marker: round-trip' '' '..a line with a dot' 'caf'$'\xc3\xa9' '.' > "$tmpdir/in"
siteA sluice-enqueue < "$tmpdir/in" 2>>"$tmpdir/a.log" || bail "enqueue on A failed"
siteA sluice-runq -1 2>>"$tmpdir/a.log"
siteA sluice-runq -1 -f 2>>"$tmpdir/a.log"
is "$(find "$A/spool/incoming" "$A/spool/deferred" -type f 2>/dev/null | wc -l)" 0 \
    "the sending host's queue is empty"
is "$(dv_count tunnel)" 1 "one tunnel message is in the POP3 mailbox"
grep -q 'sluice-bsmtp-encode: .*to=<carol@remote.test> status=sent' "$tmpdir/a.log"
ok $? "the encoder logs the Bcc recipient as sent into the tunnel"

dv_own
rc=0
siteB sluice-pop3 2>>"$tmpdir/b.log" || rc=$?
is "$rc" 0 "sluice-pop3 fetches the mailbox"
[ $rc = 0 ] || diag "$(cat "$tmpdir/b.log")"
is "$(dv_count tunnel)" 0 "the tunnel message is deleted on the server"
q=$(find "$B/spool/incoming" -type f | head -1)
[ -n "$q" ] && grep -q '^MAIL FROM:<alice@sender.test> BODY=8BITMIME RET=HDRS ENVID=env+2Dtunnel-1$' "$q"
ok $? "the queued message has the original sender, BODY, RET and ENVID"
grep -q '^RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@remote.test$' "$q"
ok $? "and bob's NOTIFY and ORCPT"
is "$(grep -c '^RCPT TO:' "$q")" 4 "and all four recipients (Bcc and alias members included)"

siteB sluice-runq -1 2>>"$tmpdir/b.log"
for u in bob carol dave erin; do
    f=$(find "$B/mail/$u/new" -type f 2>/dev/null)
    is "$(echo "$f" | grep -c .)" 1 "$u got the message once"
    [ -n "$f" ] || continue
    grep -q '^X-Marker: round-trip' "$f" && grep -q '^\.a line with a dot' "$f" &&
        LC_ALL=C grep -q $'^caf\xc3\xa9' "$f"
    ok $? "$u's copy has the original body, dots and 8-bit octets intact"
    grep -q '^Return-Path: <alice@sender.test>' "$f"
    ok $? "$u's copy has the original envelope sender"
done
grep -q '^Received: from hub.test (BSMTP tunnel <postmaster@hub.test>)' "$(find "$B/mail/bob/new" -type f)"
ok $? "the receiving host adds a Received: field naming the tunnel"
is "$(find "$B/spool/bsmtp/refused" -type f 2>/dev/null | wc -l)" 0 "nothing was refused"
done_testing
