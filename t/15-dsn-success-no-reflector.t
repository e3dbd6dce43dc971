#!/bin/bash
# A success notice carries the original's header only, whatever RET says
# (RFC 3461 4.3 allows it): with RET=FULL and NOTIFY=SUCCESS to a local
# user, a forged sender used to get the whole body back, which made the
# server a reflector.  And no notice, nor the X-DEFER that delay notices and
# late bounces are made from, names a local path (a mailbox file or folder,
# a command line): "delivered to mailbox", "delivered to command"; the
# paths are in the log only.
. "$(dirname "$0")/lib.sh"

. "$top/t/dsn.sh"
mkdir -p "$tmpdir/files"
touch "$tmpdir/afile" "$tmpdir/files/target"
ln -s "$tmpdir/files/target" "$tmpdir/files/link.mbox"
cat >> "$SLUICE_CONF/users" <<EOT
bob@example.test bob.mbox
carol@example.test $tmpdir/afile/x/
EOT
sluice-mkcdb "$SLUICE_CONF/users" || bail "mkcdb users"
xt() { "$PY" -c 'import sys; print("".join(c if 33 <= ord(c) <= 126 and c not in "+=" else "+%02X" % ord(c) for c in sys.argv[1]))' "$1"; }

# local MAIL-PARAMS RCPT-LINE... — one message through sluice-local.
local_run() {
    local mp=$1 r
    shift
    { echo "XFORWARD IDENT=06b000000000000000003"
      echo "MAIL FROM:<victim@other.example>$mp"
      for r in "$@"; do echo "RCPT TO:$r"; done
      printf 'DATA\nSubject: the original\n\nREFLECTED-BODY-TEXT\n.\n'
    } | sluice-local > "$tmpdir/out" 2> "$tmpdir/log"
}
notices() { sed -n '/X-NOTICE=/,$p' "$tmpdir/out"; }

local_run " RET=FULL" "<alice@example.test> NOTIFY=SUCCESS"
like "$(head -1 "$tmpdir/out")" '^MAIL FROM:<> X-NOTICE=success' "NOTIFY=SUCCESS: a success notice"
like "$(cat "$tmpdir/out")" $'\nContent-Type: text/rfc822-headers\n\nSubject: the original\n' "RET=FULL: the success notice has the header, as text/rfc822-headers"
unlike "$(cat "$tmpdir/out")" 'REFLECTED-BODY-TEXT' "and not the body"
unlike "$(cat "$tmpdir/out")" 'message/rfc822' "nor a message/rfc822 part"
like "$(cat "$tmpdir/out")" 'Diagnostic-Code: [^;]*; *delivered to mailbox' "the notice says: delivered to mailbox"
unlike "$(cat "$tmpdir/out")" "$tmpdir" "and names no path"
like "$(cat "$tmpdir/log")" "status=sent dsn=2\\.0\\.0 delivered to maildir $tmpdir/mail/alice" "the log names the Maildir"

local_run " RET=FULL" "<bob@example.test> NOTIFY=SUCCESS" \
    "<pipe@remote.test> NOTIFY=SUCCESS X-ROUTE=$(xt "pipe:/bin/cat")" \
    "<link@remote.test> NOTIFY=SUCCESS,FAILURE X-ROUTE=$(xt "file:$tmpdir/files/link.mbox")"
out=$(cat "$tmpdir/out")
like "$out" 'Final-Recipient: rfc822; bob@example\.test[^-]*Diagnostic-Code: [^;]*; *delivered to mailbox' "an mbox: delivered to mailbox"
like "$out" 'Final-Recipient: rfc822; pipe@remote\.test[^-]*Diagnostic-Code: [^;]*; *delivered to command' "a command: delivered to command"
like "$out" 'Final-Recipient: rfc822; link@remote\.test[^-]*Status: 5\.2\.0[^-]*Diagnostic-Code: [^;]*; *mailbox is a symbolic link: refused' "a failure says what, not where"
unlike "$out" "$tmpdir|/bin/cat|bob\\.mbox" "no notice names a file, folder or command"
unlike "$(sed -n '/X-NOTICE=success/,/^\.$/p' "$tmpdir/out")" 'REFLECTED-BODY-TEXT' "the success notice has no body"
like "$(sed -n '/X-NOTICE=bounce/,/^\.$/p' "$tmpdir/out")" 'REFLECTED-BODY-TEXT' "the failure notice (RET=FULL) has it"
log=$(cat "$tmpdir/log")
like "$log" "delivered to mbox $tmpdir/mail/bob\\.mbox" "the log names the mbox"
like "$log" "delivered to command /bin/cat" "and the command"
like "$log" "mailbox $tmpdir/files/link\\.mbox is a symbolic link" "and the link"

# A temporary failure: X-DEFER, from which sluice-runq makes delay notices
# and the bounce at the end of the queue lifetime, names no path either.
local_run "" "<carol@example.test>" "<gone@remote.test> X-ROUTE=$(xt "pipe:$tmpdir/no-such-command arg")"
defer=$(grep -o 'X-DEFER=[^ ]*' "$tmpdir/out")
like "$defer" '^X-DEFER=4\.2\.0\+20unable\+20to\+20create:\+20Not\+20a\+20directory' "X-DEFER says what went wrong"
like "$defer" $'\nX-DEFER=4\.3\.0\+20command\+20exited\+20with\+20status\+2075\+20\(temporary\+20failure\):\+20unable\+20to\+20run\+20the\+20command:\+20No\+20such' "and what the command said"
unlike "$defer" "$(xt "$tmpdir")|no-such-command|afile" "but not where"
like "$(cat "$tmpdir/log")" "unable to create $tmpdir/afile/x/tmp/" "the log says where"
like "$(cat "$tmpdir/log")" "command $tmpdir/no-such-command exited" "and which command"
done_testing
