#!/bin/bash
# sluice-attach removes the parts that attach_block matches, by file name
# glob (case-insensitive, after RFC 2231 and RFC 2047 decoding, trailing dots
# ignored), by content type (type/* too), or both; a short text/plain part
# takes each one's place and the rest of the MIME structure stays as it was,
# which Python's email package confirms; a uuencoded file in a text part goes
# with its lines; a signed message loses the part too (its signature then
# fails), an encrypted one is opaque.  bounce makes a headers-only bounce,
# reject refuses before the queue, and the postmaster can be told.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/content.sh"

content_conf a attach_block '*.vbs, *.exe application/x-msdownload video/*'

# Golden files: each hand-written message against its expected output.
for f in "$data"/*.in; do
    b=$(basename "$f" .in)
    SLUICE_CONF=$tmpdir/a sluice-attach < "$f" > "$tmpdir/$b.out" 2>> "$tmpdir/a.log"
    st=$?
    diff -u "$data/$b.attach.ref" "$tmpdir/$b.out" > "$tmpdir/$b.diff"
    ok $(( st + $? )) "$b: output as expected (t/data/content/$b.attach.ref)"
    [ -s "$tmpdir/$b.diff" ] && diag "$(head -20 "$tmpdir/$b.diff")"
done

# Python reads each output into as many parts as the input, and the names left
# are those of the input less the blocked ones.
for f in "$data"/*.in; do
    b=$(basename "$f" .in)
    read -r pin nin _ < <(msgcheck "$f")
    read -r pout nout _ < <(msgcheck "$tmpdir/$b.out")
    is "$pout" "$pin" "$b: Python's email package reads the same number of parts"
    keep=$("$PY" -c 'import fnmatch, sys
names = [n for n in sys.argv[1][6:].split(",") if n]
print("names=" + ",".join(n for n in names if not any(fnmatch.fnmatch(n.lower().rstrip(". "), g)
      for g in ("*.vbs", "*.exe"))))' "$nin")
    [ "$b" = single-attachment ] && keep=names=
    is "$nout" "$keep" "$b: the blocked names are gone, the others kept"
done
like "$(grep -c 'action=remove' "$tmpdir/a.log")" '^6$' "six messages had parts removed (mixed, names, nested, signed, single-attachment, uuencoded)"
like "$(cat "$tmpdir/a.log")" "found=\"'\?\?\?-invoice.pdf.VbS' .*'r\?\?sum\?\?.exe' .*'trailing.vbs.' " \
    "RFC 2231 (continued, charset), RFC 2047 and trailing-dot names are matched"
grep -q 'ZA==' "$tmpdir/names.out"
ok $? "vbs.txt (not *.vbs) is kept with its content"

# Type and name together: only application/octet-stream parts named *.txt.
content_conf both attach_block 'application/octet-stream:*.TXT'
SLUICE_CONF=$tmpdir/both sluice-attach < "$data/names.in" > "$tmpdir/both.out" 2>/dev/null
is "$(msgcheck "$tmpdir/both.out")" "parts=6 names=€-invoice.pdf.VbS,résumé.exe,trailing.vbs. text=no" \
    "TYPE:NAME removes only the part that has both"
content_conf type attach_block 'image/*'
SLUICE_CONF=$tmpdir/type sluice-attach < "$data/mixed.in" > "$tmpdir/type.out" 2>/dev/null
is "$(msgcheck "$tmpdir/type.out")" "parts=4 names=run.vbs text=no" "type/* removes by type alone"

# No patterns: a copy.
content_conf none
SLUICE_CONF=$tmpdir/none sluice-attach < "$data/mixed.in" > "$tmpdir/none.out"
cmp -s "$data/mixed.in" "$tmpdir/none.out"
ok $? "with no attach_block the stream passes unchanged"

# bounce: the sender gets a headers-only bounce, nobody gets the message.
content_conf b attach_block '*.vbs' attach_action bounce
SLUICE_CONF=$tmpdir/b sluice-attach < "$data/mixed.in" > "$tmpdir/b.out" 2>/dev/null
like "$(grep -c '^MAIL' "$tmpdir/b.out") $(head -1 "$tmpdir/b.out")" '^1 MAIL FROM:<> .*X-NOTICE=bounce' \
    "bounce: the message becomes a bounce"
like "$(grep '^RCPT' "$tmpdir/b.out") $(grep '^Status:' "$tmpdir/b.out")" \
    'RCPT TO:<alice@example.test>.*Status: 5\.7\.1' "bounce: to the sender, status 5.7.1"
grep -q "parts not accepted here: 'run.vbs'" "$tmpdir/b.out" && ! grep -q 'TXNnQm94' "$tmpdir/b.out"
ok $? "bounce: it names the part and does not carry it back"

# The postmaster's notice comes with the cleaned message.
content_conf n attach_block '*.vbs' attach_notify_postmaster yes
SLUICE_CONF=$tmpdir/n sluice-attach < "$data/mixed.in" > "$tmpdir/n.out" 2>/dev/null
is "$(grep '^RCPT' "$tmpdir/n.out" | tr '\n' ' ')" \
    "RCPT TO:<postmaster@example.test> RCPT TO:<bob@example.test> " \
    "notify: a notice to the postmaster, then the message"
grep -q "^Found: *'run.vbs' (text/vbscript)" "$tmpdir/n.out" && grep -q '^Action: *removed' "$tmpdir/n.out"
ok $? "the notice says what was found and done"

# reject before the queue: exit 100 with 5.7.1, the queue program gets nothing.
content_conf r attach_block '*.vbs' attach_action reject
SLUICE_CONF=$tmpdir/r sluice-attach -- /usr/bin/tee "$tmpdir/r.q" < "$data/mixed.in" \
    > /dev/null 2> "$tmpdir/r.err"
st=$?
like "$st $(tail -1 "$tmpdir/r.err")" "^100 .*fatal: 5\.7\.1 message refused: it holds parts not accepted here: 'run.vbs'" \
    "reject before the queue: exit 100 with 5.7.1 and the part's name"
# (The queue program may be stopped before tee made its file: none is nothing.)
is "$(cat "$tmpdir/r.q" 2>/dev/null | wc -c)" 0 "nothing reached the queue program"
SLUICE_CONF=$tmpdir/r sluice-attach -- /usr/bin/tee "$tmpdir/r2.q" < "$data/alternative.in" > /dev/null 2>&1
ok $? "clean mail before the queue: exit 0"
cmp -s "$data/alternative.in" "$tmpdir/r2.q"
ok $? "and the queue program got it unchanged"
done_testing
