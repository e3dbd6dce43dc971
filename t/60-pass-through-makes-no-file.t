#!/bin/bash
# A stage with nothing to do for a run makes no body file: sluice-attach
# (no attach_block), sluice-scan (scan_method none), sluice-disclaimer (no
# text), sluice-bsmtp-encode (no tunnel) and sluice-smtp (no recipient
# routed to it: after sluice-local, most runs) pass a run of messages through
# unchanged with $TMPDIR missing, and strace sees none of them create a
# file in a $TMPDIR that exists.  (Each file made is an inode allocated and
# released per chain run; on ext4 without a journal each allocation walks
# past the inodes released in the last minute: doc/performance.md.)  A
# stage that has to spool a message with $TMPDIR missing still exits 111,
# naming the folder, and writes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/content.sh"

content_conf p scan_method none
content_conf b attach_block '*.vbs' attach_action bounce
cat "$data"/plain-7bit.in "$data"/mixed.in "$data"/nested.in > "$tmpdir/in"
mkdir -p "$tmpdir/tmp"
export SLUICE_CONF=$tmpdir/p

have_strace=0
command -v strace >/dev/null && have_strace=1

for st in sluice-attach sluice-scan sluice-disclaimer sluice-bsmtp-encode; do
    # The reference: the same stage with a $TMPDIR it may use.
    TMPDIR=$tmpdir/tmp "$st" < "$tmpdir/in" > "$tmpdir/$st.ref" 2> "$tmpdir/$st.referr"
    ok $? "$st: passes the three messages through (exit 0)" ||
        diag "$(cat "$tmpdir/$st.referr")"
    TMPDIR=$tmpdir/missing "$st" < "$tmpdir/in" > "$tmpdir/$st.out" 2> "$tmpdir/$st.err"
    ok $? "$st: with \$TMPDIR missing, still exit 0: it made no body file" ||
        diag "$(cat "$tmpdir/$st.err")"
    cmp -s "$tmpdir/$st.ref" "$tmpdir/$st.out"
    ok $? "$st: and its output is the same, octet for octet"
    if [ "$have_strace" = 1 ]; then
        TMPDIR=$tmpdir/tmp strace -f -qq -e trace=openat,open -o "$tmpdir/$st.trace" \
            "$st" < "$tmpdir/in" > /dev/null 2>&1
        # The trace is one: it shows the stage opening its settings.
        grep -q 'config\.cdb' "$tmpdir/$st.trace"
        ok $? "$st: strace traced its opens" || diag "$(head -5 "$tmpdir/$st.trace")"
        made=$(grep -c "O_TMPFILE\|$tmpdir/tmp/" "$tmpdir/$st.trace")
        is "$made" 0 "$st: strace: no file opened or made in \$TMPDIR"
    fi
done
[ "$have_strace" = 1 ] || diag "strace is missing: the traced checks were not run"

# sluice-smtp refuses root: run as nobody, with a spool nobody may use.
mkdir -p "$tmpdir/smtp/spool"
printf 'hostname mx.example.test\nspool %s\npostmaster postmaster@example.test\n' \
    "$tmpdir/smtp/spool" > "$tmpdir/smtp/config"
sluice-mkcdb -o "$tmpdir/smtp/config.cdb" "$tmpdir/smtp/config" || bail "sluice-mkcdb failed"
chmod -R a+rwX "$tmpdir/smtp"
chmod a+rx "$tmpdir"
setpriv --reuid=nobody --regid=nogroup --clear-groups env SLUICE_CONF="$tmpdir/smtp" \
    TMPDIR="$tmpdir/missing" sluice-smtp < "$tmpdir/in" > "$tmpdir/smtp.out" \
    2> "$tmpdir/smtp.err"
ok $? "sluice-smtp: no recipient for it, \$TMPDIR missing: exit 0, no body spool made" ||
    diag "$(cat "$tmpdir/smtp.err")"
is "$(grep -c '^MAIL FROM' "$tmpdir/smtp.out")" 3 "sluice-smtp: the three messages pass through"
grep -c '^MAIL FROM' "$tmpdir/sluice-attach.out" | grep -qx 3
ok $? "the output holds the three messages"

# A message the stage must spool: the body file is made then, and failing
# to make it is a temporary failure naming the folder, with no output.
SLUICE_CONF=$tmpdir/b TMPDIR=$tmpdir/missing sluice-attach < "$data/mixed.in" \
    > "$tmpdir/b.out" 2> "$tmpdir/b.err"
st=$?
like "$st $(cat "$tmpdir/b.err")" "^111 .*unable to create a body file in $tmpdir/missing" \
    "a message to spool with \$TMPDIR missing: exit 111 naming the folder"
is "$(wc -c < "$tmpdir/b.out")" 0 "and nothing is written"
SLUICE_CONF=$tmpdir/b TMPDIR=$tmpdir/tmp sluice-attach < "$data/mixed.in" > "$tmpdir/b2.out"
ok $? "with \$TMPDIR there, the same message is spooled and bounced (exit 0)"
like "$(head -1 "$tmpdir/b2.out")" '^MAIL FROM:<> ' "and its output is the bounce"

done_testing
