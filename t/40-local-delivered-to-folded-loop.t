#!/bin/bash
# A Delivered-To: field naming the recipient is a mail loop to sluice-alias
# and to sluice-local alike, however it is written: on one line, folded over
# two (RFC 5322 2.2.3), or in angle brackets; both read the header with
# lib/header.  A Delivered-To: for another address, or one in the body, is
# no loop.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
mr=$tmpdir/mail
printf 'hostname mx.example.test\nmailroot %s\npostmaster postmaster@example.test\n' "$mr" > "$SLUICE_CONF/config"
echo example.test > "$SLUICE_CONF/domains"
echo "alice@example.test alice/" > "$SLUICE_CONF/users"
echo "list@example.test bob@elsewhere.test" > "$SLUICE_CONF/aliases"
for t in config domains users aliases; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done

# msg RCPT HEADER-TEXT — a message to RCPT whose header starts with the text.
msg() {
    printf 'MAIL FROM:<s@example.org>\nRCPT TO:<%s>\nDATA\n%s\nSubject: loop?\n\nbody\n.\n' "$1" "$2"
}
folded=$'Delivered-To:\n alice@example.test'
tabbed=$'Delivered-To:\n\tlist@example.test'

# check PROG RCPT HEADER NAME — PROG bounces RCPT with 5.4.6.
loops() {
    msg "$2" "$3" | "$1" > "$tmpdir/out" 2> "$tmpdir/err"
    like "$(cat "$tmpdir/out")" $'Action: failed\nStatus: 5\\.4\\.6' "$4"
}
delivered() { ls "$mr/alice/new" 2>/dev/null | wc -l; }

loops sluice-local alice@example.test "$folded" "sluice-local: a folded Delivered-To: is a loop"
is "$(delivered)" 0 "sluice-local: nothing is delivered on it"
loops sluice-local alice@example.test "Delivered-To: <Alice@example.test>" "sluice-local: one in angle brackets, in another case, is a loop"
loops sluice-local alice@example.test "Delivered-To: alice@example.test" "sluice-local: one on a line is a loop"
loops sluice-alias list@example.test "$tabbed" "sluice-alias: a folded Delivered-To: is a loop"
loops sluice-alias list@example.test "Delivered-To: <list@example.test>" "sluice-alias: one in angle brackets is a loop"
is "$(delivered)" 0 "nothing was delivered"

msg alice@example.test $'Delivered-To:\n other@example.test' | sluice-local > "$tmpdir/out"
is "$(delivered)" 1 "sluice-local: a folded Delivered-To: for another address is no loop"
printf 'MAIL FROM:<s@example.org>\nRCPT TO:<alice@example.test>\nDATA\nSubject: x\n\nDelivered-To:\n alice@example.test\n.\n' |
    sluice-local > "$tmpdir/out"
is "$(delivered)" 2 "sluice-local: a Delivered-To: in the body is no loop"
msg list@example.test $'Delivered-To:\n other@example.test' | sluice-alias > "$tmpdir/out"
like "$(grep '^RCPT' "$tmpdir/out")" '^RCPT TO:<bob@elsewhere.test>' "sluice-alias: a folded Delivered-To: for another address is no loop"
done_testing
