#!/bin/bash
# ENVID and ORCPT are xtext; decoded, "+C3+A9" is an 8-bit octet.
# lib/dsn wrote the decoded values as they were into the report's
# Original-Envelope-Id: and Original-Recipient: fields, so a notice sent
# without BODY=8BITMIME or SMTPUTF8 carried 8-bit octets (RFC 3464 fields
# are US-ASCII; RFC 3461 4.2/4.4).  They must be printable ASCII.
. "$(dirname "$0")/lib.sh"

plan 4
. "$top/t/alias.sh"

printf 'MAIL FROM:<alice@sender.test> ENVID=caf+C3+A9\nRCPT TO:<ghost@example.test> ORCPT=rfc822;gh+C3+A9st@example.test\nDATA\nSubject: x\n\nbody\n.\n' |
    sluice-alias > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 0 "sluice-alias bounces the unknown recipient"
like "$(grep -a '^MAIL FROM:<>' "$tmpdir/out")" '^MAIL FROM:<> X-NOTICE=bounce$' "the notice is sent as 7-bit"
is "$(LC_ALL=C grep -a -c $'[^\t -~]' "$tmpdir/out")" 0 "no octet outside printable ASCII (and tab) in the notice"
like "$(grep -a '^Original-Envelope-Id:' "$tmpdir/out")" '^Original-Envelope-Id: caf' "the envelope id is still reported"
