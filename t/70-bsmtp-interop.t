#!/bin/bash
# The tunnel works with other mail software: a real BSMTP reader (exim -bS,
# t/tools/exim.sh) queues the envelopes of the encoder's inner batch in the
# plain form (form=plain; it refuses the sluice form's ESMTP parameters, which
# is why the plain form exists); fetchmail's bsmtp output, fetched from a real
# Dovecot, is accepted by sluice-bsmtp-decode -b; and a tunnel message passes
# through a real Postfix into a Maildir unchanged: its body is the same
# octets, its fields are all there, and the decoder accepts it, MAC included.
. "$(dirname "$0")/lib.sh"
. "$top/t/dovecot.sh"
[ "$(id -u)" = 0 ] || bail "needs root for Exim, Dovecot and Postfix"
command -v fetchmail >/dev/null || bail "fetchmail is missing (.ci/deps)"
exim=$("$tools/exim.sh" setup) || bail "t/tools/exim.sh setup failed"

conf=$tmpdir/conf
mkdir -p "$conf"
export SLUICE_CONF=$conf SLUICE_SPOOL=$tmpdir/spool TUNNEL_SECRET=s3cret
table config "hostname hub.test" "spool $tmpdir/spool"
table bsmtp_tunnels "plain@hub.test form=plain" "tunnel@hub.test secret=s3cret"
table bsmtp_senders "postmaster@hub.test secret=s3cret"
table domains remote.test

stream() {  # stream MAILBOX: one transaction for two tunnel recipients
    printf '%s\n' 'MAIL FROM:<alice@sender.test> BODY=8BITMIME ENVID=E1' \
        "RCPT TO:<bob@remote.test> NOTIFY=FAILURE ORCPT=rfc822;bob@remote.test X-ROUTE=bsmtp:$1" \
        "RCPT TO:<carol@remote.test> X-ROUTE=bsmtp:$1" 'DATA' 'Subject: interop' '' \
        '..dotted' $'caf\xc3\xa9' '.'
}

# Exim reads the plain form's inner batch.
stream plain@hub.test | sluice-bsmtp-encode > "$tmpdir/plain.out" 2>/dev/null
"$PY" "$tools/tunnels.py" "$tmpdir/plain.out" "$tmpdir/p" > /dev/null
rc=0
"$exim" "$tmpdir/exim" -bS < "$tmpdir/p/1.batch" > "$tmpdir/exim.out" 2>&1 || rc=$?
is "$rc" 0 "exim -bS reads the whole inner batch of the plain form"
[ $rc = 0 ] || diag "$(cat "$tmpdir/exim.out")"
is "$("$tools/exim.sh" envelopes "$tmpdir/exim")" "from=<alice@sender.test> to=<bob@remote.test>,<carol@remote.test>" \
    "Exim queued the tunnelled envelope"
grep -q '^\.dotted' "$tmpdir"/exim/spool/input/*-D && LC_ALL=C grep -q $'^caf\xc3\xa9' "$tmpdir"/exim/spool/input/*-D
ok $? "with the body's dots unstuffed once and its 8-bit octets intact"
stream tunnel@hub.test | sluice-bsmtp-encode > "$tmpdir/sluice.out" 2>/dev/null
"$PY" "$tools/tunnels.py" "$tmpdir/sluice.out" "$tmpdir/s" > /dev/null
rc=0
"$exim" "$tmpdir/exim2" -bS < "$tmpdir/s/1.batch" > /dev/null 2>&1 || rc=$?
[ $rc != 0 ]; ok $? "exim -bS refuses the sluice form, whose ESMTP parameters it does not know"

# fetchmail's bsmtp output, from a real POP3 server, into the decoder.
dovecot_start tunnel:tunnelpw
printf 'From: a@sender.test\nTo: bob@remote.test\nSubject: via fetchmail\n\n.leading dot\nbody\n' \
    > "$(dv_box tunnel)/new/1.test"
dv_own
printf 'poll 127.0.0.1 port %s protocol pop3 user "tunnel" password "tunnelpw" sslproto "" bsmtp %s\n' \
    "$dv_port" "$tmpdir/fetchmail.bsmtp" > "$tmpdir/fetchmailrc"
chmod 600 "$tmpdir/fetchmailrc"
HOME=$tmpdir fetchmail -f "$tmpdir/fetchmailrc" -i "$tmpdir/fetchmail.ids" --nosyslog \
    > "$tmpdir/fetchmail.log" 2>&1
[ -s "$tmpdir/fetchmail.bsmtp" ]; ok $? "fetchmail wrote a BSMTP batch"
rc=0
sluice-bsmtp-decode -b -o < "$tmpdir/fetchmail.bsmtp" > "$tmpdir/fm.stream" 2>"$tmpdir/fm.err" || rc=$?
is "$rc" 0 "sluice-bsmtp-decode -b accepts fetchmail's batch"
[ $rc = 0 ] || diag "$(cat "$tmpdir/fm.err" "$tmpdir/fetchmail.bsmtp")"
grep -q '^MAIL FROM:<a@sender.test>' "$tmpdir/fm.stream" && grep -q '^\.\.leading dot$' "$tmpdir/fm.stream" &&
    grep -q '^Subject: via fetchmail$' "$tmpdir/fm.stream"
ok $? "and writes its transaction as a stream"

# Through Postfix unchanged.
pf=$tmpdir/pf pfmail=$tmpdir/pfmail pport=$(free_port)
mkdir -p "$pfmail"
"$tools/postfix.sh" start "$pf" "$pport" "$pfmail" tunnel > "$tmpdir/pf-start.log" 2>&1 ||
    bail "postfix did not start: $(cat "$tmpdir/pf-start.log")"
at_exit "'$tools/postfix.sh' stop '$pf'"
"$PY" - "$pport" "$tmpdir/s/1.msg" <<'PY' || bail "sending to Postfix failed"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.sendmail("postmaster@hub.test", ["tunnel@example.test"], open(sys.argv[2], "rb").read())
s.quit()
PY
wait_for "ls '$pfmail'/tunnel/new/* 2>/dev/null | grep -q ." 30
got=$(ls "$pfmail"/tunnel/new/* 2>/dev/null | head -1)
[ -n "$got" ]; ok $? "Postfix delivered the tunnel message"
"$PY" - "$tmpdir/s/1.msg" "$got" <<'PY'
import sys
sent = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
got = open(sys.argv[2], "rb").read()
sh, _, sb = sent.partition(b"\n\n")
gh, _, gb = got.partition(b"\n\n")
missing = [l for l in sh.split(b"\n") if l not in gh.split(b"\n")]
sys.exit(0 if sb == gb and not missing else 1)
PY
ok $? "its body is the same octets and every field of its header is there unchanged"
rc=0
SLUICE_QUEUE=cat sluice-bsmtp-decode < "$got" > "$tmpdir/pf.stream" 2>"$tmpdir/pf.err" || rc=$?
is "$rc" 0 "the decoder accepts it as Postfix delivered it, MAC and all"
[ $rc = 0 ] || diag "$(cat "$tmpdir/pf.err")"
is "$(grep -c '^RCPT TO:' "$tmpdir/pf.stream")" 2 "with both recipients"
done_testing
