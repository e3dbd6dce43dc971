#!/bin/bash
# Each recipient is kept once, compared in normal form (rcpt_key: the
# domain's case and needless quoting do not count, the local part's case
# and its +detail do): sluice-smtpd answers a duplicate RCPT 250 and keeps
# the first, logged as event=duplicate; sluice-envelope drops a recipient
# that qualifying made a duplicate; sluice-alias delivers once to a target
# that two aliases expand to (it also ignores the local part's case, as
# its tables do); and end to end, 1,000 RCPTs for one mailbox give one
# delivery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"

py_checks "$port" "$tmpdir/echo" <<'EOF'
c = Raw()
c.cmd("EHLO client.example.org")
c.cmd("MAIL FROM:<alice@example.org>")
same = ["test@example.test", "test@EXAMPLE.Test", '"test"@example.test', "test@example.test"]
distinct = ["test+a@example.test", "Test@example.test", "postmaster@example.test", "bob@example.test"]
rcpts = [same[i % len(same)] for i in range(1000)] + distinct + \
    ["PostMaster@example.test", "test+a@example.test", "postmaster@Example.test"]
c.send(b"".join(b"RCPT TO:<%s> NOTIFY=NEVER\r\n" % r.encode() if i == 1 else b"RCPT TO:<%s>\r\n" % r.encode()
                for i, r in enumerate(rcpts)))
got = [c.reply()[-1] for r in rcpts]
check("every one of the %d RCPTs is answered 250" % len(rcpts),
      all(g.startswith("250 2.1.5 ") for g in got), [g for g in got if not g.startswith("250")][:3])
r = c.cmd("DATA")
c.send(b"Subject: dup\r\n\r\nhi\r\n.\r\n")
r = c.reply()[-1]
check("the message is queued", r.startswith("250 2.0.0 "), r)
c.cmd("QUIT")
wait_files(1)
stream = read_echo(echo_files()[0])
got = [l for l in stream.split("\n") if l.startswith("RCPT TO:")]
check("the stream has each recipient once, the first with its parameters",
      got == ["RCPT TO:<test@example.test>", "RCPT TO:<test+a@example.test>",
              "RCPT TO:<Test@example.test>", "RCPT TO:<postmaster@example.test>",
              "RCPT TO:<bob@example.test>"], got)
EOF
like "$(cat "$tmpdir"/tcpserver-"$port".log)" 'event=duplicate to=<test@example\.test>' \
    "a duplicate is logged"

# sluice-envelope and sluice-alias, on plain streams.
s=$tmpdir/stage
mkdir -p "$s"
printf 'hostname mx.example.test\nqualify_domain example.test\n' > "$s/config"
echo example.test > "$s/domains"
printf 'bob@example.test bob/\n' > "$s/users"
printf '%s\n' 'list1@example.test bob@example.test, carol@example.org' \
    'list2@example.test "bob"@EXAMPLE.test, Carol@example.org' > "$s/aliases"
for t in config domains users aliases; do sluice-mkcdb -o "$s/$t.cdb" "$s/$t"; done
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<bob>\nRCPT TO:<bob@example.test>\nRCPT TO:<bob@Example.TEST>\nRCPT TO:<bob+x>\nDATA\nhi\n.\n' |
    SLUICE_CONF=$s sluice-envelope > "$s/env.out" 2> "$s/env.err"
is "$(grep '^RCPT' "$s/env.out")" $'RCPT TO:<bob@example.test>\nRCPT TO:<bob+x@example.test>' \
    "sluice-envelope keeps a recipient once after qualifying it"
like "$(cat "$s/env.err")" 'duplicate_recipients=2 removed' "sluice-envelope logs what it dropped"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<list1@example.test>\nRCPT TO:<list2@example.test>\nRCPT TO:<"bob"@example.test>\nDATA\nhi\n.\n' |
    SLUICE_CONF=$s sluice-alias > "$s/alias.out" 2> "$s/alias.err"
is "$(grep -c '^RCPT TO:<bob@example.test>' "$s/alias.out")" 1 \
    "sluice-alias: two aliases and a quoted address give bob one delivery"
is "$(grep '^RCPT' "$s/alias.out" | sed 's/> .*/>/')" $'RCPT TO:<bob@example.test>\nRCPT TO:<carol@example.org>' \
    "sluice-alias: two recipients in all (it compares without case, as its tables do)"
unlike "$(cat "$s/alias.out")" 'X-NOTICE=bounce' "sluice-alias bounces nothing"

# End to end, under the default chain: 1,000 RCPTs for alice, one delivery.
. "$(dirname "$0")/e2e.sh"
e2e_setup
e2e_smtpd eport
"$PY" - "$eport" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.example.org")
s.sendmail("x@example.org", ["alice@example.test", "alice@EXAMPLE.test", '"alice"@example.test'] * 333 +
           ["alice@example.test"], "Subject: many\r\n\r\nhi\r\n")
s.quit()
EOF
ok $? "1,000 RCPTs for alice are accepted"
e2e_runonce
n=$(find "$mail/alice/new" -type f | wc -l)
is "$n" 1 "alice gets the message once"
done_testing
