#!/bin/bash
# Postfix relays to sluice: a private Postfix (t/tools/postfix.sh) with
# relayhost = [127.0.0.1]:PORT hands mail for relay.test, a domain it does
# not hold, to a whole sluice (t/e2e.sh: tcpserver + sluice-smtpd +
# sluice-enqueue, sluice-runq into Maildirs).  Mail injected into Postfix
# with smtp-source and with Postfix's own sendmail arrives in sluice's
# Maildir exactly once, with both servers' Received: fields, and Postfix
# logs status=sent relay=127.0.0.1[127.0.0.1]:PORT.  A recipient sluice
# does not know is refused at RCPT (550 5.1.1), Postfix bounces it with
# sluice's reply, and nothing of it reaches sluice's queue.  (The other way,
# sluice to Postfix, is t/50-smtp-postfix.t.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e.sh"

plan 25

# ---- sluice: the MX of relay.test, with alice and bob and nobody else -----
e2e_setup
echo relay.test > "$conf/domains"
printf '%s\n' 'alice@relay.test alice/' 'bob@relay.test bob/' > "$conf/users"
for t in domains users; do
    sluice-mkcdb -o "$conf/$t.cdb" "$conf/$t" || bail "sluice-mkcdb $t failed"
done
e2e_smtpd sport
e2e_runq runq_pid

# ---- Postfix: example.test is its own (virtual), the rest goes to sluice ---
pf=$tmpdir/postfix
pfmail=$tmpdir/pfmail
mkdir -p "$pfmail"
pport=$(free_port) || bail "no free port"
POSTFIX_MAIN_CF="relayhost = [127.0.0.1]:$sport" \
    "$tools/postfix.sh" start "$pf" "$pport" "$pfmail" sender >"$tmpdir/pf-start.log" 2>&1 ||
    bail "private Postfix did not start: $(cat "$tmpdir/pf-start.log")"
at_exit "'$tools/postfix.sh' stop '$pf'"
is "$(postconf -c "$pf/etc" -h relayhost)" "[127.0.0.1]:$sport" "Postfix's relayhost is sluice"

pflog=$pf/maillog
# Postfix's delivery lines for a recipient: "to=<R>, relay=..., status=..."
pf_lines() { grep -F "to=<$1>," "$pflog" 2>/dev/null | grep -E 'status=(sent|bounced|deferred)'; }
# The files in a sluice Maildir (new/) whose Subject is S.
with_subject() { grep -lx "Subject: $2" "$mail/$1"/new/* 2>/dev/null; }
# The header of a message file (up to the first empty line).
header() { sed '/^$/q' "$1"; }

# ---- 1. smtp-source into Postfix: three messages for alice ----------------
smtp-source -m 3 -M client.example.org -f sender@example.test -t alice@relay.test \
    -S pf-smtp-source "127.0.0.1:$pport" >"$tmpdir/src1.log" 2>&1
ok $? "smtp-source hands three messages to Postfix"
wait_for '[ "$(pf_lines alice@relay.test | wc -l)" -ge 3 ]' 60
sent=$(pf_lines alice@relay.test)
is "$(grep -c "relay=127.0.0.1\[127.0.0.1\]:$sport, .*status=sent (250 2.0.0 Ok: queued as " <<<"$sent")" 3 \
    "Postfix logs status=sent relay=127.0.0.1[127.0.0.1]:$sport for each"
wait_for '[ "$(with_subject alice pf-smtp-source | wc -l)" -ge 3 ] && [ "$(e2e_queued)" = 0 ]' 60
files=$(with_subject alice pf-smtp-source)
is "$(wc -l <<<"$files")" 3 "three messages in sluice's Maildir alice/"
# Each carries its own Postfix queue id, and sluice's qid from Postfix's log.
pf_ids=$(for f in $files; do header "$f" | grep -A1 '^Received: from client.example.org' |
    sed -n 's/.*by postfix.example.test (Postfix) with SMTP id \([0-9A-Za-z]*\).*/\1/p'; done | sort -u)
is "$(wc -l <<<"$pf_ids")" 3 "each has Postfix's Received: (from client.example.org by postfix.example.test), with its own id"
sl_ids=$(grep -o "queued as [0-9a-f]*" <<<"$sent" | sed 's/queued as //' | sort)
is "$(for f in $files; do header "$f" | tr -d '\n' | grep -o 'by mx.example.test (sluice) with ESMTP id [0-9a-f]*' |
    sed 's/.* //'; done | sort)" "$sl_ids" \
    "each has sluice's Received: with the qid Postfix logged (queued as ...), each qid once"
first=$(head -n1 <<<"$files")
like "$(header "$first" | tr -d '\n')" \
    "^Return-Path: <sender@example.test>.*Received: from postfix\.example\.test \(unknown \[127\.0\.0\.1\]\)	by mx\.example\.test \(sluice\) with ESMTP id [0-9a-f]+	for <alice@relay\.test>;.*Received: from client\.example\.org \(unknown \[127\.0\.0\.1\]\)	by postfix\.example\.test \(Postfix\) with SMTP" \
    "sluice's Received: (from postfix.example.test) comes above Postfix's"
is "$(grep -c '^sluice-smtpd: qid=.* from=<sender@example.test> .* reply=250$' "$tmpdir/smtpd.log")" 3 \
    "sluice-smtpd accepted three transactions from Postfix"

# ---- 2. Postfix's own sendmail (-C DIR/etc) --------------------------------
printf 'From: sender@example.test\nTo: bob@relay.test\nSubject: pf-sendmail\nX-Marker: pf-sendmail-1\n\nposted with postfix sendmail\n' |
    /usr/sbin/sendmail -C "$pf/etc" -f sender@example.test bob@relay.test
ok $? "Postfix's sendmail -C $pf/etc takes a message for bob@relay.test"
wait_for '[ "$(pf_lines bob@relay.test | wc -l)" -ge 1 ]' 90
like "$(pf_lines bob@relay.test)" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sport, .*status=sent \(250 2\.0\.0 Ok: queued as " \
    "Postfix relays it to sluice: status=sent"
wait_for '[ -n "$(e2e_markers "$mail/bob")" ] && [ "$(e2e_queued)" = 0 ]' 60
is "$(e2e_markers "$mail/bob")" pf-sendmail-1 "it is in bob/, once"
bobf=$(with_subject bob pf-sendmail)
like "$(header "$bobf" | tr -d '\n')" \
    "Received: from postfix\.example\.test .*by mx\.example\.test \(sluice\) with ESMTP id .*Received: by postfix\.example\.test \(Postfix, from userid 0\)" \
    "with sluice's Received: above Postfix's (from userid 0)"

# ---- 3. a recipient sluice does not know -----------------------------------
smtp-source -m 1 -M client.example.org -f sender@example.test -t nobody@relay.test \
    -S pf-unknown "127.0.0.1:$pport" >"$tmpdir/src2.log" 2>&1
ok $? "Postfix takes a message for nobody@relay.test (it cannot know)"
wait_for '[ -n "$(pf_lines nobody@relay.test)" ]' 60
like "$(pf_lines nobody@relay.test)" \
    "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sport, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 Recipient address rejected: user unknown \(in reply to RCPT TO command\)\)" \
    "Postfix bounces it with sluice's reply: 550 5.1.1 at RCPT"
like "$(cat "$tmpdir/smtpd.log")" "event=reject to=<nobody@relay.test> reply=\"550 5\.1\.1\"" \
    "sluice-smtpd logs the refusal"
# The bounce goes back to the sender, a Postfix mailbox.
wait_for 'grep -ls "nobody@relay.test" "$pfmail"/sender/new/* | xargs -r grep -l "5.1.1"' 60
bounce=$(grep -ls "nobody@relay.test" "$pfmail"/sender/new/* 2>/dev/null | head -n1)
like "$(cat "$bounce" 2>/dev/null)" "Diagnostic-Code: smtp; 550 5\.1\.1 Recipient address rejected: user unknown" \
    "Postfix's bounce to the sender quotes sluice's reply"

# ---- 4. one good and one unknown recipient in one message ------------------
printf 'Subject: pf-mixed\nX-Marker: pf-mixed-1\n\ntwo recipients\n' |
    /usr/sbin/sendmail -C "$pf/etc" -f sender@example.test alice@relay.test ghost@relay.test
ok $? "Postfix's sendmail takes a message for alice and ghost"
wait_for '[ -n "$(pf_lines ghost@relay.test)" ] && [ "$(pf_lines alice@relay.test | wc -l)" -ge 4 ]' 90
like "$(pf_lines ghost@relay.test)" "status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 " \
    "ghost@ is bounced at RCPT"
wait_for '[ -n "$(with_subject alice pf-mixed)" ] && [ "$(e2e_queued)" = 0 ]' 60
is "$(e2e_markers "$mail/alice")" pf-mixed-1 "alice@ gets it, once"
mixed=$(with_subject alice pf-mixed)
like "$(header "$mixed")" "for <alice@relay\.test>;" "sluice's Received: names alice@ alone"

# ---- nothing of the refused recipients reached sluice's queue ---------------
# The runner has had time to deliver whatever was queued: every accepted
# transaction is delivered, so the queue is empty and nothing names them.
sleep 1
is "$(e2e_queued)" 0 "sluice's queue is empty"
is "$(grep -rlE 'pf-unknown|nobody@relay\.test|ghost@relay\.test' "$spool" "$mail" 2>/dev/null)" "" \
    "no file in sluice's spool or Maildirs names the refused recipients"
# (sluice-smtpd's own refusal lines, event=reject, carry no qid)
is "$(grep -E '<(nobody|ghost)@relay\.test>' "$tmpdir/smtpd.log" "$tmpdir/runq.log" | grep -v ' event=reject ')" "" \
    "no queue or delivery log line names them"
is "$(grep -c '^sluice-smtpd: qid=.* from=<sender@example.test> nrcpt=1 .* queue_status=0 reply=250$' "$tmpdir/smtpd.log")" 5 \
    "sluice-smtpd queued exactly five transactions, one recipient each (three, one, none, one)"
is "$(e2e_leftovers)" "" "nothing in bad/, dead/, quarantine/ or a Maildir's tmp/"
