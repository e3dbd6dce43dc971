#!/bin/bash
# What sluice-checks does with the rules of its header and body tables
# (t/data/checks/): every unfolded header field (folded ones too, MIME part
# headers too) and every decoded line of a text part (base64, quoted-
# printable, ISO-8859-1 turned into UTF-8) is matched, the first rule
# that matches a line decides, and the actions are: TAG and REPLACE and
# IGNORE (golden file), DISCARD, REJECT (a bounce in the chain, with the
# rule's own status and text), HOLD (the spool's hold/ folder; released
# through sluice-enqueue, the message is not held again), WARN (the log).
# A bad rule is refused at start with FILE:LINE; no table is a plain copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/content.sh"

data=$top/t/data/checks
spool=$tmpdir/spool
mkdir -p "$spool"/{tmp,incoming,deferred}
# conf NAME [SETTING VALUE]...: a configuration folder with the tables of t/data/checks.
conf() {
    content_conf "$@"
    cp "$data/header_checks" "$data/body_checks" "$tmpdir/$1/"
}
checks() { SLUICE_CONF=$tmpdir/$1 sluice-checks "${@:2}" 2>> "$tmpdir/checks.log"; }
lastlog() { tail -${1:-1} "$tmpdir/checks.log"; }

conf c
checks c < "$data/tag.in" > "$tmpdir/tag.out"
is "$?" 0 "tag.in: exit 0"
diff -u "$data/tag.ref" "$tmpdir/tag.out" > "$tmpdir/tag.diff"
ok $? "tag.in: TAG fields first, the folded Subject replaced, IGNOREd fields gone from the message and from a part (golden file)" ||
    diag "$(cat "$tmpdir/tag.diff")"
like "$(cat "$tmpdir/checks.log")" 'body_checks:3 action=WARN where="body of part 2" line="Caf\?\? cr\?\?me offer"' \
    "an ISO-8859-1 base64 line is matched as UTF-8 text (the log shows octets past ASCII as ?)"
unlike "$(cat "$tmpdir/checks.log")" 'action=DISCARD' \
    "a base64 attachment that is not text is not matched"

checks c < "$data/leading-space.in" > "$tmpdir/leading.out"
diff -u "$data/leading-space.ref" "$tmpdir/leading.out" > "$tmpdir/leading.diff"
ok $? "the fields behind a header's leading white-space line are checked, and a TAG field does not become that line's continuation" ||
    diag "$(cat "$tmpdir/leading.diff")"

checks c < "$data/qp-discard.in" > "$tmpdir/qp.out"
is "$? $(stat -c %s "$tmpdir/qp.out")" "0 0" "a quoted-printable line with a soft break matches once decoded: discarded"
like "$(lastlog 2 | head -1)" 'body_checks:4 action=DISCARD where="body" line="Please wire the money today."' \
    "the log names the rule by file:line and the decoded line"

checks c < "$data/reject.in" > "$tmpdir/reject.out"
is "$? $(grep -c '^MAIL FROM' "$tmpdir/reject.out")" "0 1" "REJECT in the chain: the message becomes one bounce"
like "$(head -1 "$tmpdir/reject.out")" '^MAIL FROM:<> X-NOTICE=bounce' "a bounce from <>"
is "$(grep '^Status:' "$tmpdir/reject.out" | sort -u)" "Status: 5.7.0" "with the rule's own status, for every recipient"
like "$(grep '^Diagnostic-Code:' "$tmpdir/reject.out" | head -1)" 'no lotteries here$' "and its text"
grep -q 'text/rfc822-headers' "$tmpdir/reject.out" && ! grep -q 'Claim it now' "$tmpdir/reject.out"
ok $? "the bounce returns the header only"

checks c < "$data/exception.in" > "$tmpdir/exception.out"
cmp -s "$data/exception.in" "$tmpdir/exception.out"
ok $? "the first rule that matches decides: DUNNO before a REJECT passes the message untouched"

checks c < "$data/exe.in" > "$tmpdir/exe.out"
like "$(grep '^Diagnostic-Code:' "$tmpdir/exe.out")" 'X-Sluice; executables are not accepted$' \
    "a folded Content-Type of a MIME part is matched unfolded (5.7.1 by default)"
is "$(grep '^Status:' "$tmpdir/exe.out")" "Status: 5.7.1" "REJECT without a status: 5.7.1"
conf nomime checks_mime_headers no
checks nomime < "$data/exe.in" > "$tmpdir/exe-nomime.out"
cmp -s "$data/exe.in" "$tmpdir/exe-nomime.out"
ok $? "checks_mime_headers no: the headers of MIME parts are not matched"

checks c < "$data/hold.in" > "$tmpdir/hold.out"
is "$? $(stat -c %s "$tmpdir/hold.out")" "0 0" "HOLD: exit 0, nothing passed on"
like "$(lastlog 4 | tr '\n' ' ')" 'action=WARN where="header" line="X-Warn: yes".*action=HOLD .*text="body review".*action=hold held=hold/06b1350a0000200001234' \
    "WARN logs, HOLD does not stop the checks, and the hold is logged with its file"
like "$(lastlog 2 | head -1)" 'action=WARN where="body" line="begin 644 hello.txt"' \
    "the lines of a uuencoded file in the text are text lines too"
f=$spool/hold/06b1350a0000200001234
like "$(sed -n 2p "$f")" '^MAIL FROM:<sender@example.test> X-CHECKS=held$' "hold/QID holds the transaction, marked held"
diff <(sed '2d' "$f") <(sed '2d' "$data/hold.in") > /dev/null
ok $? "the held message is there whole"
is "$(ls -A "$spool/tmp" | wc -l)" 0 "nothing left in tmp/"
SLUICE_CONF=$tmpdir/c SLUICE_SPOOL=$spool sluice-enqueue < "$f" 2>> "$tmpdir/checks.log"
q=$(ls "$spool/incoming/"* | head -1)
is "$? $(grep -c X-CHECKS=held "$q")" "0 1" "released with sluice-enqueue, it keeps its mark"
checks c < "$q" > "$tmpdir/released.out"
cmp -s "$q" "$tmpdir/released.out"
ok $? "a released message passes sluice-checks untouched: it is not held again"

checks c < "$data/clean.in" > "$tmpdir/clean.out"
cmp -s "$data/clean.in" "$tmpdir/clean.out"
ok $? "a message no rule matches passes byte for byte"

# Bad tables are refused at start, naming the file and line.
conf bad
printf '/ok/ WARN\n/(unclosed/ WARN\n' > "$tmpdir/bad/body_checks"
checks bad < "$data/clean.in" > "$tmpdir/bad.out"
is "$? $(stat -c %s "$tmpdir/bad.out")" "111 0" "a bad regular expression: exit 111 before any output"
like "$(lastlog)" "fatal: 4\.3\.5 body_checks refused: $tmpdir/bad/body_checks:2: bad regular expression /\(unclosed/" \
    "the reason names the file and the line"
printf '/x/ REPLACE Subject: y\n' > "$tmpdir/bad/body_checks"
checks bad < "$data/clean.in" > /dev/null
like "$? $(lastlog)" '^111 .*body_checks:1: REPLACE changes a header field' "REPLACE in a body table is refused"
printf '/x/ FROB\n' > "$tmpdir/bad/body_checks"
checks bad < "$data/clean.in" > /dev/null
like "$(lastlog)" 'body_checks:1: unknown action "FROB"' "an unknown action is refused"
printf '/x/q WARN\n' > "$tmpdir/bad/body_checks"
checks bad < "$data/clean.in" > /dev/null
like "$(lastlog)" "body_checks:1: unknown flag 'q'" "an unknown flag is refused"
conf missing header_checks "$tmpdir/nowhere"
checks missing < "$data/clean.in" > /dev/null
like "$? $(lastlog)" "^111 .*header_checks refused: unable to open $tmpdir/nowhere" \
    "a table the settings name must be there"

# No table: a copy.
mkdir -p "$tmpdir/none"
printf 'spool %s\n' "$spool" > "$tmpdir/none/config"
sluice-mkcdb -o "$tmpdir/none/config.cdb" "$tmpdir/none/config"
cat "$data"/*.in > "$tmpdir/all.in"
checks none < "$tmpdir/all.in" > "$tmpdir/none.out"
cmp -s "$tmpdir/all.in" "$tmpdir/none.out"
ok $? "with no table the stream is copied through"
done_testing
