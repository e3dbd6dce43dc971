#!/bin/bash
# sluice-disclaimer puts its text at the end of the text/plain part and before
# </body> in the text/html part a reader sees: a single-part message,
# multipart/alternative, the first part of multipart/mixed (a new part when
# there is none), nested; in 7bit (as quoted-printable when the text is not
# ASCII), quoted-printable, base64 and 8bit, converted to the part's charset.
# Signed and encrypted messages pass unchanged.  Python's email package reads
# every output.  The text depends on the source: the sender's address when
# authenticated, the client network, else the settings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/content.sh"

content_conf d disclaimer_text disclaimer.txt disclaimer_html disclaimer.html

for f in "$data"/*.in; do
    b=$(basename "$f" .in)
    SLUICE_CONF=$tmpdir/d sluice-disclaimer < "$f" > "$tmpdir/$b.out" 2>> "$tmpdir/d.log"
    st=$?
    diff -u "$data/$b.disclaimer.ref" "$tmpdir/$b.out" > "$tmpdir/$b.diff"
    ok $(( st + $? )) "$b: output as expected (t/data/content/$b.disclaimer.ref)"
    [ -s "$tmpdir/$b.diff" ] && diag "$(head -20 "$tmpdir/$b.diff")"
done

# What Python's email package reads: parts, names, and whether every text
# part a reader sees has the disclaimer.
expect() {
    local b=$1 want=$2 read
    read=$(msgcheck "$tmpdir/$b.out")
    is "$read" "$want" "$b: Python reads $want"
}
for b in plain-7bit plain-qp plain-b64 uuencoded; do expect $b "parts=1 names= text=yes"; done
expect alternative "parts=3 names= text=yes"
expect mixed "parts=4 names=run.vbs,dot.png text=yes"
expect names "parts=6 names=€-invoice.pdf.VbS,résumé.exe,trailing.vbs.,vbs.txt text=yes"
# The forwarded message inside keeps its own text as it was.
expect nested "parts=9 names=setup.EXE,keep.zip text=some"
expect attachment-only "parts=3 names=report.pdf text=yes"
for b in signed pkcs7 single-attachment; do
    cmp -s "$data/$b.in" "$tmpdir/$b.out"
    ok $? "$b: passes unchanged"
done
like "$(grep 'disclaimer=none reason=signed_or_encrypted' "$tmpdir/d.log" | wc -l)" '^2$' \
    "signed and encrypted mail is logged as left alone"
"$PY" - "$tmpdir/plain-qp.out" "$tmpdir/plain-b64.out" <<'PYEOF'
import email, email.policy, sys
def text(f):
    b = open(f, "rb").read().split(b"\nDATA\n", 1)[1].rsplit(b"\n.\n", 1)[0]
    return email.message_from_bytes(b, policy=email.policy.default).get_content()
qp, b64 = text(sys.argv[1]), text(sys.argv[2])
assert "Café crème" in qp and "confidential. -- Diese" in qp, qp
assert "Hello, wörld!" in b64 and "confidential. \u2014 Diese" in b64, b64
PYEOF
ok $? "latin-1 text gets the text in latin-1 (— as --), utf-8 in utf-8, the old text intact"

# Only a text disclaimer: HTML parts get it escaped.
content_conf t disclaimer_text disclaimer.txt
SLUICE_CONF=$tmpdir/t sluice-disclaimer < "$data/alternative.in" > "$tmpdir/t.out" 2>/dev/null
like "$(cat "$tmpdir/t.out")" '<p>This message is confidential\. &#8212; Diese' \
    "with no HTML text, the HTML part gets the text, escaped"
is "$(msgcheck "$tmpdir/t.out")" "parts=3 names= text=yes" "and Python reads both parts with it"

# By source.
content_conf src disclaimer_text disclaimer.txt
printf 'Branch office.\n' > "$tmpdir/src/branch.txt"
printf 'Example Org legal text.\n' > "$tmpdir/src/org.txt"
content_table src disclaimers <<'EOF2'
10.1.0.0/16       text=branch.txt
10.0.0.0/8        text=disclaimer.txt
@example.org      text=org.txt
192.0.2.0/24      none
EOF2
msg() {     # msg XFORWARD-ATTRS MAIL-PARAMS FROM
    printf 'XFORWARD %s\nMAIL FROM:<%s>%s\nRCPT TO:<bob@example.test>\nDATA\nSubject: s\n\nhi\n.\n' "$1" "$3" "$2"
}
{
    msg "ADDR=10.1.2.3 PROTO=ESMTP" "" alice@example.test
    msg "ADDR=10.9.9.9 PROTO=ESMTP" "" alice@example.test
    msg "ADDR=10.1.2.3 PROTO=ESMTP" " AUTH=alice@example.org" alice@example.org
    msg "ADDR=192.0.2.7 PROTO=ESMTP" "" alice@example.test
    msg "PROTO=LOCAL SOURCE=LOCAL" "" carol@example.org
    msg "ADDR=203.0.113.5 PROTO=ESMTP" "" mallory@example.org
} > "$tmpdir/src.in"
SLUICE_CONF=$tmpdir/src sluice-disclaimer < "$tmpdir/src.in" > "$tmpdir/src.out" 2>/dev/null
"$PY" - "$tmpdir/src.out" > "$tmpdir/src.got" <<'PYEOF'
import sys
for t in open(sys.argv[1]).read().split("\nDATA\n")[1:]:
    body = t.split("\n.\n")[0]
    print("branch" if "Branch office" in body else "org" if "Example Org" in body else
          "default" if "confidential" in body else "none")
PYEOF
is "$(tr '\n' ' ' < "$tmpdir/src.got")" "branch default org none org default " \
    "by source: the most specific network, the authenticated or local sender's domain, none, else the default"
done_testing
