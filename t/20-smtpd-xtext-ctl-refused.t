#!/bin/bash
# ENVID and ORCPT are xtext; their decoded text goes into the lines of a
# delivery status notice (Original-Envelope-Id:, Original-Recipient:).  A
# decoded line end there would end the notice's body in the stream and let
# the sender write a transaction of its own (with X-ROUTE=pipe:, say).
# RFC 3461 4.2 and 4.4 allow no control characters: sluice-smtpd refuses
# them with 501, and the stream reader with exit 100.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
mkdir -p "$tmpdir/echo"

session() {
    printf '%s\r\n' "EHLO client.example.org" "$1" "$2" "QUIT" |
        env SLUICE_CONF="$tmpdir/conf" ECHO_DIR="$tmpdir/echo" \
        SLUICE_QUEUE="$top/t/queue-echo.sh" sluice-smtpd 2>/dev/null | tr -d '\r'
}

inject='+0A.+0AMAIL+20FROM:<>+0ARCPT+20TO:<root@example.test>+0ADATA'
out=$(session "MAIL FROM:<alice@example.org> ENVID=$inject" "NOOP")
like "$out" $'\n''501 5\.5\.4 [^'$'\n'']*'$'\n''250 2\.0\.0 Ok' \
    "smtpd: ENVID with an encoded line end is refused with 501"
out=$(session "MAIL FROM:<alice@example.org> ENVID=a+0Db" "NOOP")
like "$out" $'\n''501 5\.5\.4 ' "smtpd: ENVID with an encoded CR is refused"
out=$(session "MAIL FROM:<alice@example.org> ENVID=a+2Bb+20c" "NOOP")
like "$out" $'\n''250 2\.1\.0 Sender ok' "smtpd: ENVID with an encoded + and space is taken"
out=$(session "MAIL FROM:<alice@example.org>" "RCPT TO:<test@example.test> ORCPT=rfc822;a$inject")
like "$out" $'\n''501 5\.5\.4 ' "smtpd: ORCPT with an encoded line end is refused with 501"
out=$(session "MAIL FROM:<alice@example.org>" "RCPT TO:<test@example.test> ORCPT=rfc822;a+00b@example.test")
like "$out" $'\n''501 5\.5\.4 ' "smtpd: ORCPT with an encoded NUL is refused"
out=$(session "MAIL FROM:<alice@example.org>" "RCPT TO:<test@example.test> ORCPT=rfc822;a+2Bb@example.test")
like "$out" $'\n''250 2\.1\.5 ' "smtpd: ORCPT with an encoded + is taken"

printf 'MAIL FROM:<a@example.org> ENVID=%s\nRCPT TO:<b@example.net>\nDATA\nx\n.\n' "$inject" |
    "$top/t/streamcat" > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 100 "stream reader: ENVID with an encoded line end is exit 100"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net> ORCPT=rfc822;b%s\nDATA\nx\n.\n' "$inject" |
    "$top/t/streamcat" > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 100 "stream reader: ORCPT with an encoded line end is exit 100"

done_testing
