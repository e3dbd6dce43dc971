#!/bin/bash
# sluice-spam against a real spamd (t/tools/spamd.sh, the packaged rules):
# GTUBE is spam (score about 1000: its rule scores 1000, others add or take a few) and a plain note is ham, over TCP and over
# a Unix socket; each action on spam: tag (forged X-Spam-* fields removed),
# subject (prefixed once, also when the message comes round again),
# discard, bounce (headers only), forward (the envelope kept in header
# fields, marked so that it is not checked again), archive into a Maildir
# and an mbox, and reject before the queue through sluice-smtpd; actions
# per destination channel split a transaction into one per action with
# the same IDENT; a message over spam_max_size is passed unscanned; a
# stopped spamd defers (111), or passes unscanned when so configured.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"
. "$(dirname "$0")/content.sh"

port=$(free_port)
SPAMD_PID=$("$tools/spamd.sh" start "$tmpdir/spamd" "$port") || bail "spamd did not start"
_t_pids+=("$SPAMD_PID")
gtube=$("$tools/spamd.sh" gtube)
spool=$tmpdir/spool
mkdir -p "$spool"/{tmp,incoming,deferred}

# conf NAME [SETTING VALUE]...: a configuration folder using this spamd.
conf() {
    case " $* " in
    *" spam_spamd "*) content_conf "$@" ;;
    *) content_conf "$@" spam_spamd "127.0.0.1:$port" ;;
    esac
}
spam() { SLUICE_CONF=$tmpdir/$1 sluice-spam "${@:2}" 2>> "$tmpdir/spam.log"; }
lastlog() { tail -${1:-1} "$tmpdir/spam.log"; }
# msg TEXT [RCPT-LINES]: a stream transaction whose body line is TEXT.
msg() {
    printf 'XFORWARD IDENT=06b1350a0000300001234\nMAIL FROM:<sender@example.test>\n'
    printf '%s\n' "${2:-RCPT TO:<rcpt@example.test>}"
    printf 'DATA\nSubject: hello there\nFrom: Sender <sender@example.test>\nTo: rcpt@example.test\n'
    printf 'Date: Fri, 4 Dec 2026 12:00:00 +0000\nMessage-ID: <t69.%s@example.test>\n' "$RANDOM"
    printf 'X-Spam-Flag: YES\nX-Spam-Status: No, forged\n\nFrom the team:\n%s\n.\n' "$1"
}
msg "$gtube" > "$tmpdir/gtube.in"
msg "Lunch at noon tomorrow? Let me know." > "$tmpdir/ham.in"
body() { sed '1,/^DATA$/d' "$1"; }

conf tag
spam tag < "$tmpdir/gtube.in" > "$tmpdir/tag.out"
is "$?" 0 "GTUBE: exit 0"
like "$(body "$tmpdir/tag.out" | head -4 | tr '\n' '|')" \
    '^X-Spam-Flag: YES\|X-Spam-Score: (9[0-9][0-9]|1[0-9][0-9][0-9])\.[0-9]\|X-Spam-Level: \*{50}\|X-Spam-Status: Yes, score=(9[0-9][0-9]|1[0-9][0-9][0-9])\.[0-9] required=5\.0 tests=' \
    "GTUBE is tagged spam with a score about 1000, the fields first"
like "$(body "$tmpdir/tag.out" | sed -n '/^X-Spam-Status/,/^[^ \t]/p' | tr -d '\n\t')" 'tests=.*GTUBE' \
    "X-Spam-Status names the rules (GTUBE), folded"
is "$(grep -c -e '^X-Spam-Flag' -e 'forged' "$tmpdir/tag.out")" 1 "the sender's own X-Spam-* fields are removed"
diff <(body "$tmpdir/gtube.in" | grep -v '^X-Spam-') <(body "$tmpdir/tag.out" | sed '/^X-Spam-/d;/^\t/d') >/dev/null
ok $? "the rest of the message is as it came"
like "$(lastlog 2 | head -1)" 'qid=06b1350a0000300001234 verdict=spam score=(9[0-9][0-9]|1[0-9][0-9][0-9])\.[0-9] required=5\.0 tests=.*GTUBE' "logged"

sed 's/^DATA$/&\n orphan: a header that starts with a continuation line/' "$tmpdir/gtube.in" |
    spam tag > "$tmpdir/orphan.out"
is "$(sed -n '/^DATA$/{n;p;n;p}' "$tmpdir/orphan.out" | cut -c1-14 | tr '\n' '|')" " orphan: a hea|X-Spam-Flag: Y|" \
    "the fields never become the continuation of a header's leading white-space line"

spam tag < "$tmpdir/ham.in" > "$tmpdir/ham.out"
like "$(body "$tmpdir/ham.out" | head -3 | tr '\n' '|')" '^X-Spam-Score: -?[0-9]+\.[0-9]\|(X-Spam-Level: \**\|)?X-Spam-Status: No, score=' \
    "a clean message is tagged ham"
is "$(grep -c '^X-Spam-Flag' "$tmpdir/ham.out")" 0 "without X-Spam-Flag"

conf unix spam_spamd "$tmpdir/spamd/spamd.sock"
spam unix < "$tmpdir/gtube.in" > "$tmpdir/unix.out"
like "$(grep '^X-Spam-Status' "$tmpdir/unix.out")" '^X-Spam-Status: Yes' "spamd over a Unix socket"

conf subject spam_action subject
spam subject < "$tmpdir/gtube.in" > "$tmpdir/subject.out"
is "$(grep '^Subject' "$tmpdir/subject.out")" "Subject: [SPAM] hello there" "subject: the Subject is prefixed"
spam subject < "$tmpdir/subject.out" > "$tmpdir/subject2.out"
is "$(grep '^Subject' "$tmpdir/subject2.out")" "Subject: [SPAM] hello there" "once only, when the message comes round again"
spam subject < "$tmpdir/ham.in" > "$tmpdir/subject-ham.out"
is "$(grep '^Subject' "$tmpdir/subject-ham.out")" "Subject: hello there" "ham keeps its Subject"

conf discard spam_action discard
spam discard < "$tmpdir/gtube.in" > "$tmpdir/discard.out"
is "$? $(stat -c %s "$tmpdir/discard.out")" "0 0" "discard: exit 0, nothing passed"
like "$(lastlog)" 'nrcpt=1 action=discard' "discard: logged"

conf bounce spam_action bounce
spam bounce < "$tmpdir/gtube.in" > "$tmpdir/bounce.out"
like "$(head -2 "$tmpdir/bounce.out" | tr '\n' ' ')" '^MAIL FROM:<> X-NOTICE=bounce X-NOTICE-FOR=[0-9a-f]{21},1 RCPT TO:<sender@example.test>' \
    "bounce: a notice to the sender"
like "$(grep '^Diagnostic-Code' "$tmpdir/bounce.out")" '5\.7\.1|message refused as spam \(score (9[0-9][0-9]|1[0-9][0-9][0-9])\.[0-9], required 5\.0\)' \
    "bounce: saying why"
grep -q 'text/rfc822-headers' "$tmpdir/bounce.out" && ! grep -q "$gtube" "$tmpdir/bounce.out"
ok $? "bounce: headers only, never the content"

conf forward spam_action forward:spamtrap@example.test
msg "$gtube" "$(printf 'RCPT TO:<a@example.test>\nRCPT TO:<b@example.test>')" > "$tmpdir/gtube2.in"
spam forward < "$tmpdir/gtube2.in" > "$tmpdir/forward.out"
is "$(sed -n 1,2p "$tmpdir/forward.out" | tr '\n' ' ')" \
    "MAIL FROM:<sender@example.test> X-SPAM=forwarded RCPT TO:<spamtrap@example.test> NOTIFY=NEVER " \
    "forward: one transaction to the address, new (no IDENT), marked, no notices to the sender"
like "$(body "$tmpdir/forward.out" | grep -A1 '^X-Spam-Envelope' | tr '\n' '|')" \
    '^X-Spam-Envelope-From: <sender@example.test>\|X-Spam-Envelope-To: <a@example.test>,\|	<b@example.test>\|$' \
    "forward: the envelope is kept in header fields"
spam forward < "$tmpdir/forward.out" > "$tmpdir/forward2.out"
cmp -s "$tmpdir/forward.out" "$tmpdir/forward2.out"
ok $? "a forwarded message is not checked again"

conf maildir spam_action "archive:$tmpdir/archive/"
spam maildir < "$tmpdir/gtube.in" > "$tmpdir/maildir.out"
f=$(ls "$tmpdir/archive/new/"* 2>/dev/null)
is "$? $(stat -c %s "$tmpdir/maildir.out") $(echo "$f" | wc -w)" "0 0 1" "archive into a Maildir: one file in new/, nothing passed"
like "$(head -1 "$f")" '^X-Spam-Flag: YES' "the archived copy is tagged"
is "$(ls -A "$tmpdir/archive/tmp" | wc -l)" 0 "nothing left in the Maildir's tmp/"
conf mbox spam_action "archive:$tmpdir/box/spam.mbox"
spam mbox < "$tmpdir/gtube.in" > /dev/null && spam mbox < "$tmpdir/gtube.in" > /dev/null
is "$(grep -c '^From sender@example.test ' "$tmpdir/box/spam.mbox")" 2 "archive into an mbox: two messages, each after a From_ line"
is "$(grep -c '^>From the team' "$tmpdir/box/spam.mbox")" 2 "body lines that read 'From ' are quoted"
is "$("$PY" -c 'import mailbox,sys; print(len(mailbox.mbox(sys.argv[1])))' "$tmpdir/box/spam.mbox")" 2 \
    "Python's mailbox module reads both"

# Actions per channel: one transaction per action, the same IDENT.
conf channels spam_action "subject local=archive:$tmpdir/local-spam/ smtp=bounce pipe=tag"
msg "$gtube" "$(printf '%s\n' 'RCPT TO:<l1@example.test> X-ROUTE=local' 'RCPT TO:<s1@example.net> X-ROUTE=smtp' \
    'RCPT TO:<l2@example.test> X-ROUTE=local' 'RCPT TO:<p1@example.test> X-ROUTE=pipe:/bin/cat' \
    'RCPT TO:<s2@example.net> X-ROUTE=smtp:[relay.example.net]' 'RCPT TO:<n1@example.org>')" > "$tmpdir/split.in"
spam channels < "$tmpdir/split.in" > "$tmpdir/split.out"
is "$(ls "$tmpdir/local-spam/new" | wc -l) $(grep -c '^X-Spam-Envelope-To: <l1@example.test>,' "$tmpdir/local-spam/new/"*)" "1 1" \
    "the local recipients' copy is archived once, with both of them"
is "$(grep -c '^XFORWARD IDENT=06b1350a0000300001234' "$tmpdir/split.out")" 2 \
    "the passed groups keep the IDENT (pipe: tagged; no route: subject)"
is "$(awk '/^MAIL FROM:<sender/ { n++ } /^RCPT/ && n { print n, $2 }' "$tmpdir/split.out" | tr '\n' ' ')" \
    "1 TO:<p1@example.test> 2 TO:<n1@example.org> " "each recipient in the transaction of its action"
# In the order of the groups' first recipients: the bounce (its Subject, and
# the original's header it returns), the pipe group, the default group.
is "$(grep '^Subject' "$tmpdir/split.out" | tr '\n' '|')" \
    "Subject: Undelivered Mail Returned to Sender|Subject: hello there|Subject: hello there|Subject: [SPAM] hello there|" \
    "the pipe group is tagged only, the default group's Subject rewritten"
is "$(grep '^Final-Recipient' "$tmpdir/split.out" | tr '\n' ' ')" \
    "Final-Recipient: rfc822; s1@example.net Final-Recipient: rfc822; s2@example.net " "the smtp recipients bounce"
conf hamch spam_ham_action "tag smtp=pass"
spam hamch < <(msg "fine" "$(printf '%s\n' 'RCPT TO:<l1@example.test> X-ROUTE=local' 'RCPT TO:<s1@example.net> X-ROUTE=smtp')") > "$tmpdir/hamch.out"
is "$(grep -c '^MAIL FROM' "$tmpdir/hamch.out") $(grep -c '^X-Spam-Status: No, score=' "$tmpdir/hamch.out")" "2 1" \
    "ham actions per channel too: pass leaves the smtp copy without fields"

# Size cap and errors.
conf small spam_max_size 200
spam small < "$tmpdir/gtube.in" > "$tmpdir/small.out"
like "$(grep '^X-Spam-Status' "$tmpdir/small.out")" '^X-Spam-Status: unscanned \(larger than spam_max_size: [0-9]+ octets\)$' \
    "a message over spam_max_size is passed unscanned, and says so"
conf before spam_action reject
smtpd_conf bq spool "$spool" spam_spamd "127.0.0.1:$port" spam_action reject
bq_start sport bq sluice-spam
like "$(bq_send "$sport" < "$tmpdir/gtube.in")" '^554 5\.7\.1 message refused as spam \(score (9[0-9][0-9]|1[0-9][0-9][0-9])\.[0-9], required 5\.0\)$' \
    "before the queue, spam_action reject: 554 5.7.1 during SMTP"
is "$(bq_send "$sport" < "$tmpdir/ham.in") $(bq_queued)" "250 queued 1" "and ham is queued (only ham)"

stop_pid "$SPAMD_PID"
spam tag < "$tmpdir/gtube.in" > "$tmpdir/down.out"
is "$? $(stat -c %s "$tmpdir/down.out")" "111 0" "spamd stopped: exit 111, nothing passed"
like "$(lastlog)" 'fatal: 4\.3\.0 spam check failed: connect 127\.0\.0\.1:[0-9]+: Connection refused' "saying why"
conf downpass spam_error_action pass
spam downpass < "$tmpdir/gtube.in" > "$tmpdir/downpass.out"
like "$? $(grep '^X-Spam-Status' "$tmpdir/downpass.out")" '^0 X-Spam-Status: unscanned \(connect .*\)$' \
    "spam_error_action pass: passed, tagged unscanned"

conf off spam_spamd none
spam off < "$tmpdir/gtube2.in" > "$tmpdir/off.out"
cmp -s "$tmpdir/gtube2.in" "$tmpdir/off.out"
ok $? "spam_spamd none: the stream is copied through"
conf badact spam_action "burn smtp=tag"
spam badact < "$tmpdir/ham.in" > /dev/null
like "$? $(lastlog)" '^111 .*fatal: 4\.3\.5 setting spam_action: unknown action "burn"' "an unknown action is refused at start"
conf badch spam_action "tag mars=discard"
spam badch < "$tmpdir/ham.in" > /dev/null
like "$? $(lastlog)" '^111 .*setting spam_action: "mars=discard": expected' "an unknown channel is refused at start"
done_testing
