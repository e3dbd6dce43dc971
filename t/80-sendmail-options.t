#!/bin/bash
# sendmail(1) and mailq(1): options, header completion, -t, limits, exit
# statuses, the hand-off to sluice-enqueue, -bs, -q and the queue listing.
. "$(dirname "$0")/lib.sh"
plan 72

conf=$tmpdir/conf
spool=$tmpdir/spool
mkdir -p "$conf" "$tmpdir/mail" "$spool"/{tmp,incoming,deferred,bad,dead}
cp "$top"/conf/domains "$top"/conf/users "$top"/conf/access "$conf/"
printf 'qualify_domain example.test\nhostname mx.example.test\nmessage_size_limit 4k\nspool %s\nmailroot %s\n' \
    "$spool" "$tmpdir/mail" > "$conf/config"
for f in "$conf"/*; do sluice-mkcdb "$f" || bail "cannot compile $f"; done
export SLUICE_CONF=$conf SLUICE_LIBEXEC=$top/libexec
unset SLUICE_SPOOL NAME

out=$tmpdir/out
err=$tmpdir/err
# sm ARGS... — sendmail with the echo backend: the stream in $out.
sm() { SLUICE_QUEUE=cat sendmail "$@" > "$out" 2> "$err"; }
body() { sed -n '/^DATA$/,$p' "$out" | sed '1d;$d'; }

# ---- the envelope ----
printf 'Subject: one\n\nhello\n' | sm -f alice bob 'Carol <carol@example.org>, dave@example.net (Dave)'
ok $? "a message is handed on"
is "$(grep -E '^(MAIL|RCPT)' "$out")" "MAIL FROM:<alice@example.test>
RCPT TO:<bob@example.test>
RCPT TO:<carol@example.org>
RCPT TO:<dave@example.net>" "sender and recipients are qualified; address lists are parsed"
like "$(head -1 "$out")" '^XFORWARD PROTO=LOCAL IDENT=[0-9a-f]{21} SOURCE=LOCAL$' "XFORWARD carries a fresh queue id"
qid=$(sed -n '1s/.*IDENT=\([0-9a-f]*\).*/\1/p' "$out")

# ---- header completion ----
like "$(body | head -2 | tr '\n' '|')" "^Received: by mx.example.test \(sluice sendmail, from userid $(id -u)\)\|	id $qid; " "Received: comes first, with the user id and queue id"
is "$(body | grep -c '^From: alice@example.test$')" 1 "From: is added from the sender"
like "$(body | grep '^Date: ')" '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$' "Date: is added in RFC 5322 form"
is "$(body | grep '^Message-ID: ')" "Message-ID: <$qid@mx.example.test>" "Message-ID: is added"
is "$(body | sed -n '/^$/,$p')" "
hello" "the body follows an empty line, unchanged"

printf 'From: Me <me@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nhi\n' | sm bob
is "$(body | grep -cE '^(From|Date|Message-ID):')" 3 "fields present are not added again"
printf 'Subject: x\n\n' | sm -F 'Joe "J" User' -f joe@example.org bob
is "$(body | grep '^From:')" 'From: "Joe \"J\" User" <joe@example.org>' "-F is the display name, quoted"
printf 'Subject: x\n\n' | NAME='Env Name' sm -f '<>' bob
is "$(grep '^MAIL' "$out") / $(body | grep '^From:')" 'MAIL FROM:<> / From: "Env Name" <MAILER-DAEMON@example.test>' "-f '<>' is the null sender; NAME is the default full name"
printf 'From x@y Mon Jan  1 00:00:00 2024\nSubject: mbox\n\nbody\n' | sm bob
is "$(body | grep -c '^From x@y')" 0 "a leading mbox From_ line is dropped"
printf 'Subject: x\nthis is body\n' | sm bob
is "$(body | sed -n '/^$/,$p')" "
this is body" "a non-header line ends the header, after an inserted empty line"

# ---- -t ----
printf 'To: "Doe, J" <j@example.org>, k\nCc: team: l@example.org, m@example.org;\nBcc: secret@example.org,\n  hidden\nSubject: t\n\nx\n' | sm -t -f a extra
is "$(grep '^RCPT' "$out" | tr '\n' ' ')" "RCPT TO:<extra@example.test> RCPT TO:<j@example.org> RCPT TO:<k@example.test> RCPT TO:<l@example.org> RCPT TO:<m@example.org> RCPT TO:<secret@example.org> RCPT TO:<hidden@example.test> " \
    "-t takes To/Cc/Bcc (groups, quoted names, folded lines) and adds the command line"
is "$(body | grep -ciE '^(Bcc:|  hidden)')" 0 "Bcc: and its continuation are removed"
is "$(body | grep -c '^To: ')" 1 "To: stays"
printf 'To: old@example.org\nResent-To: new@example.org\nResent-Bcc: nb@example.org\n\nx\n' | sm -t
is "$(grep '^RCPT' "$out" | tr '\n' ' ')" "RCPT TO:<new@example.org> RCPT TO:<nb@example.org> " "with Resent- fields, -t takes only those"
printf 'To: a@example.org, a@example.org\n\nx\n' | sm -t a@example.org
is "$(grep -c '^RCPT' "$out")" 1 "a recipient named twice gets one copy"
printf 'Bcc: s@example.org\n\nx\n' | sm bob
is "$(grep -c '^RCPT' "$out") $(body | grep -c '^Bcc')" "1 0" "without -t, Bcc: is removed and not a recipient"
printf 'Subject: none\n\n' | sm -t
is $? 64 "-t with no recipients anywhere: 64"
printf 'To: <a@b\n\n' | sm -t
is $? 65 "-t with a malformed address: 65"

# ---- input ----
printf 'Subject: d\n\nbefore\n.\nafter\n' | sm bob
is "$(body | tail -1)" "before" "a lone dot ends the input"
for o in -i -oi; do
    printf 'Subject: d\n\nbefore\n.\nafter\n' | sm $o bob
    is "$(body | tail -3 | tr '\n' ' ')" "before .. after " "$o: a lone dot is text (dot-stuffed in the stream)"
done
printf 'Subject: crlf\r\n\r\nline\r\n' | sm bob
is "$(grep -c $'\r' "$out")" 0 "CRLF input is read as lines"

long=$(head -c 998 /dev/zero | tr '\0' a)
printf 'Subject: l\n\n%s\n' "$long" | sm bob
is $? 0 "a line of 998 octets passes"
printf 'Subject: l\n\n%sb\n' "$long" | sm bob
is "$?" 65 "a line of 999 octets: 65"
like "$(cat "$err")" "longer than 998 octets" "...with a clear reason"
head -c 6000 /dev/zero | tr '\0' '\n' | sm bob
is "$?" 65 "over message_size_limit: 65"
like "$(cat "$err")" "message_size_limit" "...naming the setting"

# ---- options and statuses ----
printf 'x\n' | sm -N success,delay -R hdrs -V 'env id+1' -B 8BITMIME bob
is "$(grep -E '^(MAIL|RCPT)' "$out" | tr '\n' ' ')" "MAIL FROM:<$(id -un)@example.test> BODY=8BITMIME RET=HDRS ENVID=env+20id+2B1 RCPT TO:<bob@example.test> NOTIFY=SUCCESS,DELAY " \
    "-N, -R, -V and -B become DSN and BODY parameters; the default sender is the login name"
printf 'x\n' | sm -oem -odb -odi -oQ/tmp -L tag -G -U -X /dev/null -O a=b -n -m bob
is $? 0 "ignored Sendmail/Postfix options are accepted"
printf 'x\n' | sm -Z bob
is $? 64 "an unknown option: 64"
printf 'x\n' | sm
is $? 64 "no recipients: 64"
printf 'x\n' | sm -bd
is $? 64 "-bd is refused: 64"
printf '#!/bin/sh\ncat >/dev/null; exit %s\n' 100 > "$tmpdir/q100"
printf '#!/bin/sh\ncat >/dev/null; exit %s\n' 111 > "$tmpdir/q111"
chmod +x "$tmpdir/q100" "$tmpdir/q111"
printf 'x\n' | SLUICE_QUEUE=$tmpdir/q100 sendmail bob 2>/dev/null
is $? 69 "the queue program's 100 is 69 (EX_UNAVAILABLE)"
printf 'x\n' | SLUICE_QUEUE=$tmpdir/q111 sendmail bob 2>/dev/null
is $? 75 "its 111 is 75 (EX_TEMPFAIL)"

# ---- into the queue, and mailq ----
printf 'Subject: queued\nPriority: urgent\n\nhello\n' | sendmail -f alice bob@example.org
ok $? "sendmail hands a message to sluice-enqueue"
files=("$spool"/incoming/*)
is "${#files[@]}" 1 "one queue file in incoming/"
like "$(head -1 "${files[0]}")" "IDENT=$(basename "${files[0]}")" "the file is named by its queue id"

mkdir -p "$spool/deferred" "$spool/bad"
old=06b00000000000000001a
printf 'XFORWARD IDENT=%s\nMAIL FROM:<>\nRCPT TO:<x@example.net> X-DEFER=4.4.1+20connection+20refused\nRCPT TO:<y@example.net>\nDATA\nSubject: big\n\n%s\n.\n' \
    "$old" "$(head -c 3000 /dev/zero | tr '\0' z)" > "$spool/deferred/$old"
touch -d '+1 hour' "$spool/deferred/$old"
touch "$spool/bad/junk"
SLUICE_SPOOL=$spool mailq > "$out"
ok $? "mailq runs"
like "$(head -1 "$out")" '^-Queue ID-+ --Size-- ----Arrival Time---- -Sender/Recipient' "the column heading"
like "$(cat "$out")" "$old  +[0-9]+ [A-Z][a-z]{2} [A-Z][a-z]{2} .* MAILER-DAEMON" "a deferred entry, its size and the null sender"
like "$(cat "$out")" $'\n\\(4\\.4\\.1 connection refused\\)\n +x@example\\.net\n +y@example\\.net' "the last error, decoded, before its recipients"
like "$(cat "$out")" "next retry in (59m|1h)" "the next retry time"
like "$(cat "$out")" "$(basename "${files[0]}")\\* +[0-9]+ .* alice@example\\.test" "the incoming entry, marked *"
is "$(tail -2 "$out")" "-- 1 in bad/ (refused as malformed), 0 in dead/ (undeliverable bounces)
-- 4 Kbytes in 2 requests." "bad/ is counted; the summary line ends the listing"
is "$(SLUICE_SPOOL=$spool mailq | grep -oE '^[0-9a-f]{21}' | head -1)" "$old" "sorted by arrival time by default"
is "$(SLUICE_SPOOL=$spool mailq -S priority | grep -oE '^[0-9a-f]{21}' | head -1)" "$(basename "${files[0]}")" "-S priority puts the urgent message first"
is "$(SLUICE_SPOOL=$spool sendmail -bp -S size | grep -oE '^[0-9a-f]{21}' | head -1)" "$old" "sendmail -bp -S size: largest first"

# ---- -bs and -q ----
swaks --pipe "$top/bin/sendmail -bs" -f a@example.test -t bob@example.org \
    --header 'Subject: relayed' > "$tmpdir/bs.log" 2>&1
ok $? "-bs speaks SMTP on stdin/stdout" || diag "$(tail -5 "$tmpdir/bs.log")"
like "$(grep -A1 'RCPT TO:<bob@example.org>' "$tmpdir/bs.log" | tail -1)" '<-  250' "-bs trusts the local user to relay (RELAYCLIENT)"
swaks --pipe "$top/bin/sendmail -bs" -f a@example.test -t test@example.test \
    --header 'Subject: via-bs' > "$tmpdir/bs2.log" 2>&1
ok $? "-bs queues a local message"
sendmail -q > "$tmpdir/q.log" 2>&1
ok $? "-q runs the queue once and returns" || diag "$(cat "$tmpdir/q.log")"
wait_for "grep -l via-bs $tmpdir/mail/test/new/* 2>/dev/null | grep -q ." 20
ok $? "...delivering the message to the Maildir"

printf 'alias@example.test test@example.test\n' > "$conf/aliases"
PATH=/usr/bin:/bin "$top/bin/sendmail" -bi
is "$?/$(cdb -q "$conf/aliases.cdb" alias@example.test 2>/dev/null)" "0/test@example.test" "-bi compiles the aliases table with the sluice-mkcdb next to sendmail"

# An mbox From_ line followed by an indented line: that line does not fold
# into the Received: field sendmail adds on top.
out=$(printf 'From a@b Sat Nov 21 10:00:00 2026\n  indented\nSubject: x\n\nbody\n' |
    SLUICE_QUEUE=cat "$top/bin/sendmail" -f a@example.test b@example.test 2>/dev/null)
# The Received: field with its continuation lines (any that start with white space).
received=$(awk '/^Received:/ { r = 1; print; next } r && /^[ \t]/ { print; next } { r = 0 }' <<<"$out")
unlike "$received" 'indented' "a line after a From_ line is not a continuation of sendmail's Received:"
like "$out" $'\n  indented\n' "and it is kept"

# ---- resent messages: RFC 5322 3.6.6 ----
out=$tmpdir/out
hdr() { body | sed '/^$/q'; }
printf 'From: Orig <o@example.org>\nTo: old@example.org\nResent-To: new@example.org\n\nx\n' |
    sm -t -f joe@example.org -F Joe
qid=$(sed -n '1s/.*IDENT=\([0-9a-f]*\).*/\1/p' "$out")
is "$(hdr | grep '^Resent-From:')" 'Resent-From: "Joe" <joe@example.org>' "-t, a resent message: Resent-From: is added, the sender with the -F name"
like "$(hdr | grep '^Resent-Date: ')" '^Resent-Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$' "Resent-Date: is added in RFC 5322 form"
is "$(hdr | grep '^Resent-Message-ID: ')" "Resent-Message-ID: <$qid@mx.example.test>" "Resent-Message-ID: is added"
is "$(hdr | grep -E '^(From|Date|Message-ID):')" 'From: Orig <o@example.org>' "the original's From: stays as it is; no Date: or Message-ID: is added to it"
printf 'Resent-From: r@example.org\nResent-Date: Mon, 1 Jan 2024 00:00:00 +0000\nResent-Message-ID: <r@y>\nResent-Cc: new@example.org\n\nx\n' | sm -t
is "$(hdr | grep -ciE '^(Resent-)?(From|Date|Message-ID):')" 3 "Resent- fields present are not added again"
printf 'Resent-From: r@example.org\nSubject: x\n\nx\n' | sm bob
is "$(hdr | grep -cE '^Resent-(Date|Message-ID): ')/$(hdr | grep -cE '^(From|Date|Message-ID):')" "2/0" "without -t, a resent message is completed the same way"

# ---- the -F full name in the From: field ----
printf 'Subject: x\n\n' | sm -F 'A, B. (C) <d@e> "q" \' -f joe@example.org bob
is "$(hdr | grep '^From:')" 'From: "A, B. (C) <d@e> \"q\" \\" <joe@example.org>' "a name with specials is one quoted string"
printf 'Subject: x\n\n' | sm -F $'Evil\r\nBcc: x@example.org' -f joe@example.org bob
is "$(hdr | grep -c '^Bcc')/$(hdr | grep '^From:')" '0/From: "EvilBcc: x@example.org" <joe@example.org>' "control characters in the name are dropped: no field can be injected"
# display FIELD: the display name and address of the field, as RFC 2047 6.2
# decodes them (white space between adjacent encoded-words ignored; Python's
# address parser in email.policy.default keeps it, so decode_header is used).
display() {
    PYTHONIOENCODING=utf-8 /usr/bin/python3 -c 'import sys, re, email, email.header
m = email.message_from_binary_file(sys.stdin.buffer)
v = re.sub(r"\r?\n[ \t]", " ", m[sys.argv[1]])
r = re.fullmatch(r"(.*) <([^<>]*)>", v)
# Each encoded-word holds whole characters (RFC 2047 5): strict decoding fails otherwise.
import base64; [base64.b64decode(w).decode("utf-8") for w in re.findall(r"=\?UTF-8\?B\?([^?]*)\?=", v)]
print(str(email.header.make_header(email.header.decode_header(r.group(1)))) + "|" + r.group(2) if r else "no <address> in " + v)' "$1"
}
name='Jöhn Dœ, Jr. <x@y>'
printf 'Subject: x\n\n' | sm -F "$name" -f joe@example.org bob
is "$(hdr | display From)" "$name|joe@example.org" "a UTF-8 name is RFC 2047 encoded and decodes to itself"
is "$(hdr | grep '^From:')" 'From: =?UTF-8?B?SsO2aG4gRMWTLCBKci4gPHhAeT4=?= <joe@example.org>' "...as an encoded-word, not quoted"
name="$(printf 'é%.0s' $(seq 50)) $(printf '中%.0s' $(seq 30)) end"
printf 'Subject: x\n\n' | NAME=$name sm -f joe@example.org bob
is "$(hdr | display From)" "$name|joe@example.org" "a long UTF-8 name (NAME) is split into encoded-words of whole characters"
is "$(hdr | LC_ALL=C awk 'length($0) > 76' | wc -l)/$(hdr | LC_ALL=C tr -d '\000-\177' | wc -c)" "0/0" "...on lines of at most 76 columns, with no 8-bit octet in the header"
printf 'From: o@example.org\nResent-To: new@example.org\n\nx\n' | sm -t -F "$name" -f joe@example.org
is "$(hdr | display Resent-From)" "$name|joe@example.org" "Resent-From: gets the encoded name too"
printf 'Subject: x\n\n' | sm -F $'J\xe9r\xf4me' -f joe@example.org bob
is "$(hdr | grep '^From:')" 'From: joe@example.org' "a name with 8-bit octets that are not UTF-8 is left out"
