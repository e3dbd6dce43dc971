#!/bin/bash
# RFC 6533 notices for internationalized mail (lib/dsn.c), made by
# sluice-local for an unknown user: with SMTPUTF8 or a UTF-8 address the
# report is message/global-delivery-status with utf-8 address types, the
# original message/global or message/global-headers when its header block
# is UTF-8, and the notice goes with SMTPUTF8 and BODY=8BITMIME.  ASCII
# mail keeps the RFC 3464 types.
. "$(dirname "$0")/lib.sh"

. "$top/t/dsn.sh"

u=$'\xc3\xbc' e=$'\xc3\xa9'	# ü é in UTF-8
# bounce FROM MAIL-PARAMS RCPT RCPT-PARAMS SUBJECT — the notice in $tmpdir/out,
# its body (dot-stuffing removed) in $tmpdir/body.
bounce() {
    { echo "MAIL FROM:<$1>$2"
      echo "RCPT TO:<$3>$4"
      printf 'DATA\nSubject: %s\nMessage-ID: <orig@example.org>\n\nBODY-LINE-1\n.\n' "$5"
    } | sluice-local 2>/dev/null > "$tmpdir/out"
    sed -n '/^DATA$/,$p' "$tmpdir/out" | sed '1d;$d;s/^\.\././' > "$tmpdir/body"
}
field() { grep -a -m1 "^$1:" "$tmpdir/body"; }
types() { grep -a '^Content-Type:' "$tmpdir/body" | sed 's/;.*//' | tr '\n' ' '; }

# SMTPUTF8, a UTF-8 recipient with a 7-bit utf-8 ORCPT, UTF-8 headers.
bounce "s${e}@example.org" " SMTPUTF8 RET=HDRS" "j${u}rgen@example.test" \
    ' ORCPT=utf-8;J\x{FC}rgen@example.test' "gr${u}${e}e"
is "$(head -1 "$tmpdir/out")" "MAIL FROM:<> BODY=8BITMIME SMTPUTF8 X-NOTICE=bounce" \
    "the notice goes with BODY=8BITMIME and SMTPUTF8"
is "$(sed -n 2p "$tmpdir/out")" "RCPT TO:<s${e}@example.org>" "to the UTF-8 sender"
is "$(types)" "Content-Type: multipart/report Content-Type: text/plain Content-Type: message/global-delivery-status Content-Type: message/global-headers " \
    "RET=HDRS: parts text/plain, message/global-delivery-status, message/global-headers"
like "$(grep -a -A1 '^Content-Type: message/global-delivery-status$' "$tmpdir/body")" \
    $'\nContent-Transfer-Encoding: 8bit$' "the global report part is labelled 8bit"
like "$(field Content-Type | head -1)" 'report-type=delivery-status' "multipart/report keeps report-type=delivery-status"
like "$(grep -a '^Content-Type: text/plain' "$tmpdir/body")" 'charset=utf-8' "the text part is charset=utf-8"
is "$(field Final-Recipient)" "Final-Recipient: utf-8; j${u}rgen@example.test" "Final-Recipient: utf-8; the UTF-8 address"
is "$(field Original-Recipient)" "Original-Recipient: utf-8;J${u}rgen@example.test" \
    'Original-Recipient: utf-8 ORCPT with \x{FC} decoded to UTF-8'
is "$(field X-Original-Sender)" "X-Original-Sender: utf-8; s${e}@example.org" "the UTF-8 sender has type utf-8"
like "$(field Diagnostic-Code)" "no such user here: j${u}rgen@example.test\$" "Diagnostic-Code keeps the UTF-8 address"
like "$(cat "$tmpdir/body")" $'\nContent-Type: message/global-headers\nContent-Transfer-Encoding: 8bit\n\nSubject: gr\xc3\xbc\xc3\xa9e\nMessage-ID: <orig@example.org>\n\n--' \
    "message/global-headers holds the UTF-8 header block only"

# SMTPUTF8 with an ORCPT in UTF-8 itself (utf-8-addr-unitext), whole original.
bounce "s@example.org" " SMTPUTF8 RET=FULL" "j${u}rgen@example.test" \
    " ORCPT=utf-8;J${u}rgen@example.test" "gr${u}${e}e"
is "$(field Original-Recipient)" "Original-Recipient: utf-8;J${u}rgen@example.test" "a UTF-8 ORCPT is kept as such"
is "$(field X-Original-Sender)" "X-Original-Sender: rfc822; s@example.org" "an ASCII sender keeps type rfc822"
like "$(cat "$tmpdir/body")" $'\nContent-Type: message/global\nContent-Transfer-Encoding: 8bit\n\nSubject: gr\xc3\xbc\xc3\xa9e\n' \
    "RET=FULL with UTF-8 headers: message/global, 8bit"
like "$(cat "$tmpdir/body")" $'\n\nBODY-LINE-1\n\n--' "with the body"

# SMTPUTF8, but the header block is ASCII: the original stays message/rfc822.
bounce "s@example.org" " SMTPUTF8 RET=FULL" "j${u}rgen@example.test" "" "plain"
is "$(types)" "Content-Type: multipart/report Content-Type: text/plain Content-Type: message/global-delivery-status Content-Type: message/rfc822 " \
    "an ASCII header block: message/rfc822 inside a global report"

# No SMTPUTF8, but the ORCPT names a UTF-8 address: a global report too.
bounce "s@example.org" "" "nobody@example.test" ' ORCPT=utf-8;J\x{FC}rgen@example.test' "plain"
like "$(head -1 "$tmpdir/out")" ' SMTPUTF8 ' "a UTF-8 ORCPT alone makes an SMTPUTF8 notice"
is "$(field Final-Recipient)" "Final-Recipient: rfc822; nobody@example.test" "an ASCII final recipient keeps type rfc822"
is "$(field Original-Recipient)" "Original-Recipient: utf-8;J${u}rgen@example.test" "its ORCPT is given in UTF-8"

# ASCII mail: the RFC 3464 notice, unchanged.
bounce "s@example.org" " RET=HDRS" "nobody@example.test" " ORCPT=utf-8;bob@example.test" "plain"
is "$(head -1 "$tmpdir/out")" "MAIL FROM:<> X-NOTICE=bounce" "ASCII mail: a 7-bit notice without SMTPUTF8"
is "$(types)" "Content-Type: multipart/report Content-Type: text/plain Content-Type: message/delivery-status Content-Type: text/rfc822-headers " \
    "ASCII mail: message/delivery-status and text/rfc822-headers"
like "$(grep -a '^Content-Type: text/plain' "$tmpdir/body")" 'charset=us-ascii' "ASCII mail: charset=us-ascii"
is "$(grep -a -c '^Content-Transfer-Encoding' "$tmpdir/body")" 0 "ASCII mail: no Content-Transfer-Encoding"
is "$(field Final-Recipient)" "Final-Recipient: rfc822; nobody@example.test" "ASCII mail: Final-Recipient: rfc822"
is "$(field Original-Recipient)" "Original-Recipient: utf-8;bob@example.test" "ASCII mail: an ASCII utf-8 ORCPT as before"
bounce "s@example.org" "" "nobody@example.test" "" "plain"
is "$(types)" "Content-Type: multipart/report Content-Type: text/plain Content-Type: message/delivery-status Content-Type: message/rfc822 " \
    "ASCII mail, whole original: message/rfc822"
is "$(LC_ALL=C grep -a -c $'[^\t -~]' "$tmpdir/out")" 0 "ASCII mail: no 8-bit octet in the notice"
done_testing
