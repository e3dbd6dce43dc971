#!/bin/bash
# A notice about an 8-bit original (BODY=8BITMIME).  With RET=HDRS
# the notice carried the original's 8-bit header lines but was sent without
# BODY=8BITMIME; with the whole original, its message/rfc822 part had no
# Content-Transfer-Encoding, so 7bit was implied for 8-bit content
# (RFC 2045 6.1, 6.4; RFC 2046 5.2.1; RFC 6152).  A header block that is
# plain ASCII still makes a 7-bit notice, which any server takes.
. "$(dirname "$0")/lib.sh"

plan 8
. "$top/t/alias.sh"

# The notice in $tmpdir/out for an original with these MAIL parameters
# [and this Subject:].
bounce() {
    printf 'MAIL FROM:<alice@sender.test> %s\nRCPT TO:<ghost@example.test>\nDATA\nSubject: %b\n\nbody \351\n.\n' "$1" "${2:-caf\\0351}" |
        sluice-alias > "$tmpdir/out" 2> "$tmpdir/err"
}

bounce "BODY=8BITMIME RET=HDRS"
like "$(grep -a '^MAIL FROM:<>' "$tmpdir/out")" 'BODY=8BITMIME' "RET=HDRS: the notice with 8-bit headers is sent as 8BITMIME"

bounce "BODY=8BITMIME RET=FULL"
like "$(grep -a '^MAIL FROM:<>' "$tmpdir/out")" 'BODY=8BITMIME' "RET=FULL: the notice is sent as 8BITMIME"
is "$(grep -a -A1 '^Content-Type: message/rfc822$' "$tmpdir/out" | sed -n 2p)" \
    "Content-Transfer-Encoding: 8bit" "the message/rfc822 part says 8bit"
is "$(grep -a -c '^Content-Transfer-Encoding: 8bit$' "$tmpdir/out")" 2 \
    "so does the multipart/report around it"

bounce "RET=FULL"	# declared 7-bit: the envelope is what the notice follows
is "$(grep -a '^MAIL FROM:<>' "$tmpdir/out")" 'MAIL FROM:<> X-NOTICE=bounce' "a 7-bit original: a 7-bit notice"
is "$(grep -a -c '^Content-Transfer-Encoding' "$tmpdir/out")" 0 "and no Content-Transfer-Encoding"

bounce "BODY=8BITMIME RET=HDRS" "plain"
is "$(grep -a '^MAIL FROM:<>' "$tmpdir/out")" 'MAIL FROM:<> X-NOTICE=bounce' "RET=HDRS, ASCII header block: a 7-bit notice"
is "$(grep -a -c '^Content-Transfer-Encoding' "$tmpdir/out")" 0 "and no Content-Transfer-Encoding"
