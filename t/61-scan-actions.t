#!/bin/bash
# What sluice-scan does with infected, suspicious and unscannable mail.
# Before the queue (sluice-smtpd with SLUICE_QUEUE='sluice-scan --
# sluice-enqueue', a real clamd): a virus is refused with 554 5.7.1 and
# nothing is queued, clean mail is queued untouched, a postmaster notice is
# queued alone, an unreachable clamd answers 451 4.3.0.  In the chain: reject
# and bounce make a headers-only bounce, discard and quarantine remove the
# message (quarantine/ holds it whole, and sluice-enqueue takes it back),
# notices go to the postmaster and the sender, mail past the MIME limits is
# suspicious with its own action, and a scanner error defers, passes tagged
# or counts as suspicious as configured.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"
. "$(dirname "$0")/smtpd.sh"
. "$(dirname "$0")/content.sh"

clamd_start
mkdir -p "$tmpdir/spool"/{tmp,incoming,deferred,bad,dead,quarantine}
mail base64 > "$tmpdir/virus.in"
mail clean > "$tmpdir/clean.in"
eicar=$("$tools/clamd.sh" eicar)

# send PORT KIND: one message over SMTP; prints "CODE TEXT" of the DATA reply.
send() { mail "$2" | bq_send "$1"; }

# ---- before the queue
smtpd_conf bq scan_clamd "$CLAMD_SOCK" spool "$tmpdir/spool"
bq_start port bq sluice-scan
like "$(send "$port" base64)" '^554 5\.7\.1 message refused: infected content \(Eicar-Test-Signature' \
    "before the queue: a virus is refused with 554 5.7.1"
is "$(bq_queued)" 0 "before the queue: nothing of it was queued"
is "$(send "$port" clean)" "250 queued" "before the queue: clean mail is accepted"
f=$(ls "$tmpdir/spool/incoming/"* 2>/dev/null | head -1)
is "$(bq_queued) $(grep -c '^X-Sluice-Scan' "$f")" "1 0" "it is queued once, with no tag"
grep -q "$(sed -n '/^Content-Disposition/{n;n;p}' "$tmpdir/clean.in" | head -1)" "$f"
ok $? "its attachment is queued as it came"
rm -f "$tmpdir/spool/incoming/"*

smtpd_conf bqn scan_clamd "$CLAMD_SOCK" spool "$tmpdir/spool" scan_notify_postmaster yes
bq_start port2 bqn sluice-scan
like "$(send "$port2" base64)" '^554 5\.7\.1' "before the queue, with a postmaster notice: still 554"
f=$(ls "$tmpdir/spool/incoming/"* 2>/dev/null | head -1)
like "$(bq_queued) $(grep -m1 '^RCPT' "$f")" '^1 RCPT TO:<postmaster@mx.example.test>' \
    "only the notice to the postmaster is queued"
unlike "$(cat "$f")" "EICAR" "the notice does not carry the virus"
rm -f "$tmpdir/spool/incoming/"*

smtpd_conf bqd scan_clamd "$tmpdir/nowhere.sock" spool "$tmpdir/spool"
bq_start port3 bqd sluice-scan
like "$(send "$port3" clean)" '^451 4\.3\.0 virus scan failed' \
    "before the queue, clamd unreachable: 451 4.3.0"
is "$(bq_queued)" 0 "and nothing is queued unscanned"

# ---- in the chain
for a in bounce reject; do
    content_conf "c$a" scan_clamd "$CLAMD_SOCK" scan_infected_action "$a"
    scan "c$a" < "$tmpdir/virus.in" > "$tmpdir/$a.out"
    like "$? $(grep -c '^MAIL FROM' "$tmpdir/$a.out") $(head -1 "$tmpdir/$a.out")" \
        '^0 1 MAIL FROM:<> .*X-NOTICE=bounce' "$a in the chain: the message becomes a bounce"
    like "$(grep -m1 '^RCPT' "$tmpdir/$a.out")" 'RCPT TO:<sender@example.test>' "$a: to the sender"
    like "$(grep '^Status:' "$tmpdir/$a.out")" 'Status: 5\.7\.1' "$a: status 5.7.1"
    grep -q 'text/rfc822-headers' "$tmpdir/$a.out" && ! grep -q -e "$(mail base64 | sed -n '/^WDVP/p' | head -1)" \
        -e 'filename="eicar.com"' "$tmpdir/$a.out"
    ok $? "$a: the bounce returns the headers only, never the attachment"
done

content_conf cdiscard scan_clamd "$CLAMD_SOCK" scan_infected_action discard
scan cdiscard < "$tmpdir/virus.in" > "$tmpdir/discard.out"
is "$? $(stat -c %s "$tmpdir/discard.out")" "0 0" "discard: exit 0, nothing passed"
like "$(tail -1 "$tmpdir/scan.log")" 'verdict=infected .* action=discard' "discard: logged"

content_conf cquar scan_clamd "$CLAMD_SOCK" scan_infected_action quarantine
scan cquar < "$tmpdir/virus.in" > "$tmpdir/quar.out"
is "$? $(stat -c %s "$tmpdir/quar.out")" "0 0" "quarantine: exit 0, nothing passed"
qf=$(sed -n 's/.*quarantined=//p' "$tmpdir/scan.log" | tail -1)
ok $([ -f "$tmpdir/spool/$qf" ]; echo $?) "quarantine: the log names the file ($qf)"
like "$(head -2 "$tmpdir/spool/$qf" | tr '\n' ' ')$(sed -n 4p "$tmpdir/spool/$qf")" \
    '^MAIL FROM:<sender@example.test> RCPT TO:<rcpt@example.test> X-Sluice-Scan: infected' \
    "quarantine: envelope kept, the verdict added first in the header"
diff <(sed '4d' "$tmpdir/spool/$qf") "$tmpdir/virus.in" > /dev/null
ok $? "quarantine: the message is there whole"
is "$(ls -A "$tmpdir/spool/tmp" | wc -l)" 0 "quarantine: nothing left in tmp/"
SLUICE_CONF=$tmpdir/cquar SLUICE_SPOOL=$tmpdir/spool sluice-enqueue < "$tmpdir/spool/$qf" 2>/dev/null
is "$? $(bq_queued)" "0 1" "a quarantined message is released by sluice-enqueue"
rm -f "$tmpdir/spool/incoming/"*

content_conf cnotify scan_clamd "$CLAMD_SOCK" scan_infected_action discard \
    scan_notify_postmaster yes scan_notify_sender yes
scan cnotify < "$tmpdir/virus.in" > "$tmpdir/notify.out"
is "$(grep '^RCPT' "$tmpdir/notify.out" | tr '\n' ' ')" \
    "RCPT TO:<postmaster@example.test> RCPT TO:<sender@example.test> " \
    "notices: one to the postmaster, one to the sender"
is "$(grep -c -e '^MAIL FROM:<>' -e '^Auto-Submitted: auto-generated' "$tmpdir/notify.out")" 4 \
    "notices come from <> and are marked Auto-Submitted"
like "$(grep '^Found:' "$tmpdir/notify.out" | head -1)" 'Eicar-Test-Signature' "notices say what was found"
unlike "$(cat "$tmpdir/notify.out")" "${eicar:0:20}|WDVPIVAl" "notices do not carry the virus"

# Past the MIME limits: suspicious, with its own action.
content_conf csusp scan_clamd "$CLAMD_SOCK" mime_max_parts 1 scan_suspicious_action discard \
    scan_infected_action tag
scan csusp < "$tmpdir/clean.in" > "$tmpdir/susp.out"
is "$(stat -c %s "$tmpdir/susp.out")" 0 "a message past mime_max_parts is suspicious: discarded"
like "$(tail -1 "$tmpdir/scan.log")" 'verdict=suspicious name="MIME structure past the limits \(parts\)"' \
    "the log says why"
content_conf csusptag scan_clamd "$CLAMD_SOCK" mime_max_depth 1
mail nested > "$tmpdir/nested.in"
scan csusptag < "$tmpdir/clean.in" > "$tmpdir/susptag.out"
is "$(grep -c '^X-Sluice-Scan' "$tmpdir/susptag.out")" 0 "within the limits: not suspicious"

# Scanner errors.
content_conf edefer scan_clamd "$tmpdir/nowhere.sock"
scan edefer < "$tmpdir/clean.in" > "$tmpdir/edefer.out"
is "$? $(stat -c %s "$tmpdir/edefer.out")" "111 0" "scanner unreachable: exit 111, nothing passed"
content_conf epass scan_clamd "$tmpdir/nowhere.sock" scan_error_action pass
scan epass < "$tmpdir/clean.in" > "$tmpdir/epass.out"
like "$(grep '^X-Sluice-Scan' "$tmpdir/epass.out")" '^X-Sluice-Scan: unscanned \(connect .*\) by mx' \
    "scan_error_action pass: passed, tagged unscanned"
content_conf esusp scan_clamd "$tmpdir/nowhere.sock" scan_error_action suspicious \
    scan_suspicious_action discard
scan esusp < "$tmpdir/clean.in" > "$tmpdir/esusp.out"
is "$? $(stat -c %s "$tmpdir/esusp.out")" "0 0" "scan_error_action suspicious: the suspicious action"

content_conf none scan_method none
scan none < "$tmpdir/virus.in" > "$tmpdir/none.out"
cmp -s "$tmpdir/virus.in" "$tmpdir/none.out"
ok $? "scan_method none copies the stream through"
# sluice-mkcdb refuses an unknown action; a table compiled another way
# is refused when the stage starts.
content_conf bad
echo 'scan_infected_action burn' >> "$tmpdir/bad/config"
sluice-mkcdb "$tmpdir/bad/config" 2>/dev/null
is "$?" 100 "sluice-mkcdb refuses an unknown action"
sluice-mkcdb -o "$tmpdir/bad/config.cdb" - < "$tmpdir/bad/config"
scan bad < "$tmpdir/clean.in" > /dev/null
is "$?" 111 "an unknown action is a temporary failure"
like "$(tail -1 "$tmpdir/scan.log")" 'fatal: .*/bad/config:4: setting scan_infected_action: bad value "burn"' "naming the setting"
done_testing
