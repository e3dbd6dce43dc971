#!/bin/bash
# RFC 3464 notices (lib/dsn.c), made by sluice-local for an unknown user:
# each field checked, RET=HDRS against FULL, NOTIFY honoured.
. "$(dirname "$0")/lib.sh"

. "$top/t/dsn.sh"

bounce() {	# bounce MAIL-PARAMS RCPT-PARAMS [FROM] — notice for nobody@example.test
    { echo "XFORWARD IDENT=06b000000000000000002"
      echo "MAIL FROM:<${3-s@example.org}>$1"
      echo "RCPT TO:<nobody@example.test>$2"
      printf 'DATA\nSubject: the original\nMessage-ID: <orig@example.org>\n\nBODY-LINE-1\n..dotted\n.\n'
    } | sluice-local 2>/dev/null > "$tmpdir/out"
    # The notice's body with dot-stuffing removed.
    sed -n '/^DATA$/,$p' "$tmpdir/out" | sed '1d;$d;s/^\.\././' > "$tmpdir/body"
}
field() { grep -m1 "^$1:" "$tmpdir/body"; }

bounce " RET=HDRS ENVID=QQ314159+2B1" " ORCPT=rfc822;Nobody+2Bx@example.test"
is "$(head -3 "$tmpdir/out")" "MAIL FROM:<> X-NOTICE=bounce X-NOTICE-FOR=06b000000000000000002,1
RCPT TO:<s@example.org>
DATA" "envelope: null sender, X-NOTICE=bounce, for 1 recipient of the queued message, to the original sender"
like "$(grep -i '^Content-Type: multipart/report' "$tmpdir/body")" 'multipart/report; report-type=delivery-status;' "Content-Type multipart/report; report-type=delivery-status"
b=$(sed -n 's/^[[:space:]]*boundary="\(.*\)"$/\1/p' "$tmpdir/body")
is "$(grep -c -- "^--$b\$" "$tmpdir/body")" 3 "three parts"
is "$(grep -c -- "^--$b--\$" "$tmpdir/body")" 1 "a closing boundary"
like "$(cat "$tmpdir/body")" $'\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.test\n' "message/delivery-status starts with Reporting-MTA: dns; hostname"
is "$(field Original-Envelope-Id)" "Original-Envelope-Id: QQ314159+1" "Original-Envelope-Id is the ENVID, xtext decoded"
like "$(field Arrival-Date)" '^Arrival-Date: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$' "Arrival-Date is an RFC 5322 date"
is "$(field Original-Recipient)" "Original-Recipient: rfc822;Nobody+x@example.test" "Original-Recipient from ORCPT, decoded"
is "$(field Final-Recipient)" "Final-Recipient: rfc822; nobody@example.test" "Final-Recipient: rfc822; address"
is "$(field Action)" "Action: failed" "Action: failed"
is "$(field Status)" "Status: 5.1.1" "Status: 5.1.1"
like "$(field Diagnostic-Code)" '^Diagnostic-Code: X-Sluice; no such user here: nobody@example.test$' "Diagnostic-Code with a type and the reason"
like "$(field Last-Attempt-Date)" '^Last-Attempt-Date: ' "Last-Attempt-Date"
like "$(cat "$tmpdir/body")" $'\nContent-Type: text/rfc822-headers\n\nSubject: the original\nMessage-ID: <orig@example.org>\n\n--' "RET=HDRS: text/rfc822-headers with the header only"
unlike "$(cat "$tmpdir/body")" 'BODY-LINE-1' "RET=HDRS: no body"
like "$(field Auto-Submitted)" 'auto-replied' "Auto-Submitted: auto-replied (RFC 3834)"

bounce " RET=FULL" ""
like "$(cat "$tmpdir/body")" $'\nContent-Type: message/rfc822\n\nSubject: the original\nMessage-ID: <orig@example.org>\n\nBODY-LINE-1\n.dotted\n' "RET=FULL: message/rfc822 with the whole message"
unlike "$(cat "$tmpdir/body")" 'Original-Recipient' "no ORCPT, no Original-Recipient"
unlike "$(cat "$tmpdir/body")" 'Original-Envelope-Id' "no ENVID, no Original-Envelope-Id"
bounce "" ""
like "$(cat "$tmpdir/body")" 'Content-Type: message/rfc822' "no RET: failures return the whole message"

bounce "" " NOTIFY=NEVER"
is "$(cat "$tmpdir/out")" "" "NOTIFY=NEVER: no notice"
bounce "" " NOTIFY=SUCCESS"
is "$(cat "$tmpdir/out")" "" "NOTIFY=SUCCESS: no notice of failure"
bounce "" " NOTIFY=DELAY"
is "$(cat "$tmpdir/out")" "" "NOTIFY=DELAY: no notice of failure"
bounce "" " NOTIFY=SUCCESS,FAILURE"
like "$(head -1 "$tmpdir/out")" 'X-NOTICE=bounce' "NOTIFY=SUCCESS,FAILURE: a failure notice"

# The null sender: a failure goes to the postmaster (double bounce) ...
bounce "" "" ""
is "$(sed -n 2p "$tmpdir/out")" "RCPT TO:<postmaster@example.test>" "a bounce that fails goes to the postmaster"
# ... and the failure of a double bounce goes nowhere: it stays, for dead/.
echo "postmaster@example.test $tmpdir/afile/x/" >> "$SLUICE_CONF/users"; touch "$tmpdir/afile"
sluice-mkcdb "$SLUICE_CONF/users"
{ echo "MAIL FROM:<> X-NOTICE=bounce"; echo "RCPT TO:<postmaster@example.test>"
  printf 'DATA\nSubject: x\n\nx\n.\n'; } | sluice-local 2>/dev/null > "$tmpdir/out"
like "$(grep '^RCPT' "$tmpdir/out")" 'X-DEFER=4' "a double bounce that cannot be delivered now is kept (temporary)"
done_testing
