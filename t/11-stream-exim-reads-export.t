#!/bin/bash
# Interoperation: a real Exim (t/tools/exim.sh) reads what sluice's writer
# emits in the export form, with LF (streamcat -e) and with CRLF (-e -c), as
# a BSMTP batch (exim -bS), and queues the same envelopes; the bodies arrive
# with dot-stuffing removed and 8-bit octets intact.  Then, with ESMTP
# parameters, through Exim's interactive reader (-bs after EHLO).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || bail "needs root for t/tools/exim.sh"
exim=$("$tools/exim.sh" setup) || bail "t/tools/exim.sh setup failed"
sc=$top/t/streamcat

# A batch that carries what only sluice knows (XFORWARD, X- parameters): the
# export form must leave it out, since exim -bS knows no ESMTP at all.
"$PY" - "$tmpdir/batch" <<'PY'
import sys
b = b""
b += b"XFORWARD NAME=mx.example.org ADDR=192.0.2.7 PROTO=ESMTP IDENT=0691f3a2c0a1b2c0001234\n"
b += b"MAIL FROM:<alice@example.org> X-NOTICE=bounce\n"
b += b"RCPT TO:<bob@example.net> X-ROUTE=smtp\nRCPT TO:<carol@example.net>\nRCPT TO:<dave@example.com> X-DEFER=4.4.1+20refused\n"
b += b"DATA\nSubject: one\n\n..a dot-stuffed line\n...two dots\n..\nend\n.\n"
b += b"MAIL FROM:<>\nRCPT TO:<postmaster@example.net>\nDATA\nSubject: bounce\n\n8-bit: caf\xc3\xa9 \xe9\xff\n.\n"
b += b"XFORWARD IDENT=0691f3a2c0a1b2c0005678\n"
b += b"MAIL FROM:<\"john doe\"@example.org>\nRCPT TO:<erin@example.org>\nDATA\n.\n"
b += b"MAIL FROM:<frank@example.org>\nRCPT TO:<grace@example.org>\nRCPT TO:<heidi@example.org>\nDATA\nlast\n.\n"
open(sys.argv[1], "wb").write(b)
PY

# The envelopes as our reader sees them, in exim.sh's "envelopes" format.
want=$("$PY" - "$tmpdir/batch" <<'PY'
import re, sys
out, cur = [], None
for line in open(sys.argv[1], "rb").read().decode("latin-1").split("\n"):
    m = re.match(r"MAIL FROM:<(.*?)>( |$)", line)
    if m:
        cur = [m.group(1), []]
        out.append(cur)
    m = re.match(r"RCPT TO:<(.*?)>( |$)", line)
    if m:
        cur[1].append("<%s>" % m.group(1))
print("\n".join(sorted("from=<%s> to=%s" % (f, ",".join(t)) for f, t in out)))
PY
)

"$sc" -e < "$tmpdir/batch" > "$tmpdir/export.lf" || bail "streamcat -e failed"
"$sc" -e -c < "$tmpdir/batch" > "$tmpdir/export.crlf" || bail "streamcat -e -c failed"
# Both on a non-empty export: an empty one would pass them vacuously.
grep -q '^MAIL FROM:' "$tmpdir/export.lf" && ! grep -q -e XFORWARD -e ' X-' "$tmpdir/export.lf"
ok $? "the export form has no XFORWARD and no X- parameters"
grep -q $'^MAIL FROM:.*\r$' "$tmpdir/export.crlf" &&
    [ "$(grep -c $'\r$' "$tmpdir/export.crlf")" = "$(wc -l < "$tmpdir/export.crlf")" ]
ok $? "the -c form ends every line with CRLF"

for form in lf crlf; do
    d=$tmpdir/exim-$form
    rc=0
    "$exim" "$d" -bS < "$tmpdir/export.$form" > "$tmpdir/exim-$form.out" 2>&1 || rc=$?
    is "$rc" 0 "$form: exim -bS reads the whole batch"
    [ $rc = 0 ] || diag "$(cat "$tmpdir/exim-$form.out")"
    got=$("$tools/exim.sh" envelopes "$d")
    is "$got" "$want" "$form: exim queued the same senders and recipients"
    # Bodies: in the -D spool files, after the id line.
    bodies=$(for f in "$d"/spool/input/*-D; do tail -n +2 "$f"; echo "--"; done)
    like "$bodies" $'(^|\n)\.a dot-stuffed line\n\.\.two dots\n\.\nend\n' "$form: dot-stuffing is removed, once"
    LC_ALL=C grep -q $'8-bit: caf\xc3\xa9 \xe9\xff$' "$d"/spool/input/*-D
    ok $? "$form: 8-bit octets arrive unchanged"
done

# ESMTP parameters: exim -bs after EHLO takes the standard ones, which the
# export form keeps.
printf 'MAIL FROM:<a@example.org> SIZE=1834 BODY=8BITMIME RET=HDRS ENVID=QQ314159 X-NOTICE=delay\nRCPT TO:<b@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.net X-ROUTE=smtp\nDATA\nSubject: params\n\nbody\n.\n' > "$tmpdir/params"
{ printf 'EHLO client.example\r\n'; "$sc" -e -c < "$tmpdir/params"; printf 'QUIT\r\n'; } > "$tmpdir/session"
rc=0
"$exim" "$tmpdir/exim-bs" -bs < "$tmpdir/session" > "$tmpdir/bs.out" 2>&1 || rc=$?
replies=$(grep -E '^[0-9]{3} ' "$tmpdir/bs.out" | cut -c1-3 | paste -sd' ')
is "$replies" "220 250 250 250 354 250 221" "exim -bs accepts MAIL and RCPT with the parameters of the export form"
is "$("$tools/exim.sh" envelopes "$tmpdir/exim-bs")" "from=<a@example.org> to=<b@example.net>" "exim -bs queued the envelope"
grep -q 'QQ314159' "$tmpdir"/exim-bs/spool/input/*-H; ok $? "ENVID reached Exim's spool"

# The plain form (streamcat -p) drops every ESMTP parameter, so exim -bS, which
# refuses them all, reads a batch that carries them.
"$sc" -p < "$tmpdir/params" > "$tmpdir/plain" || bail "streamcat -p failed"
rc=0
"$exim" "$tmpdir/exim-plain" -bS < "$tmpdir/plain" > "$tmpdir/plain.out" 2>&1 || rc=$?
is "$rc" 0 "exim -bS reads the plain form of a batch with parameters"
is "$("$tools/exim.sh" envelopes "$tmpdir/exim-plain")" "from=<a@example.org> to=<b@example.net>" "exim -bS queued the plain form's envelope"

done_testing
