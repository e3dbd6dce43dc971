#!/bin/bash
# The aliases table takes the /etc/aliases form that every administrator
# has ("name: target, target", continuation lines, :include:, |command,
# /file), and newaliases (sendmail -bi, or sendmail called newaliases)
# compiles it.  A bare name is that local part in every local domain:
# "root: alice" makes mail to root@ a local domain go to alice there, at
# RCPT time in sluice-smtpd as in sluice-alias, where it bounced 5.1.1
# before; it does not touch root@ another domain.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp" "$tmpdir/bin"
mr=$tmpdir/mail
printf 'hostname mx.example.test\nmailroot %s\npostmaster postmaster@example.test\n' "$mr" > "$SLUICE_CONF/config"
printf 'example.test\nother.test\n' > "$SLUICE_CONF/domains"
printf 'alice@example.test alice/\nbob@example.test bob/\ncarol@example.test carol/\nalice@other.test oalice/\n' > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
echo "bob" > "$tmpdir/list"
cat > "$SLUICE_CONF/aliases" <<EOT
# /etc/aliases, as Debian writes it
mailer-daemon:	postmaster
postmaster:    root
root: alice
Staff:bob,
	carol
lists: :include:$tmpdir/list
prog: "|/bin/cat -u"
prog2: |/bin/true
arch: $tmpdir/archive.mbox
# the native form still works beside it
web@example.test  carol
EOT

# newaliases is sendmail under that name; -bi is the same.
ln -s "$top/bin/sendmail" "$tmpdir/bin/newaliases"
"$tmpdir/bin/newaliases"
is "$?" 0 "newaliases exits 0"
ok $([ -s "$SLUICE_CONF/aliases.cdb" ]; echo $?) "and compiles aliases.cdb"
q() { cdb -q "$SLUICE_CONF/aliases.cdb" "$1"; }
is "$(q root)" "alice" "'root: alice' is the key root, value alice"
is "$(q staff)" "bob, carol" "'Staff:bob,' with a continuation line, no space after the colon"
is "$(q lists)" ":include:$tmpdir/list" ":include: after the colon is the value's"
is "$(q prog2)" "|/bin/true" "an unquoted |command"
is "$(q web@example.test)" "carol" "the native form beside it"
rm "$SLUICE_CONF/aliases.cdb"
sendmail -bi
ok $([ -s "$SLUICE_CONF/aliases.cdb" ]; echo $?) "sendmail -bi compiles it too"

# alias RCPT... — the recipients sluice-alias makes of them, with routes.
alias() {
    { echo "MAIL FROM:<s@example.org>"
      for r; do echo "RCPT TO:<$r>"; done
      printf 'DATA\nSubject: x\n\nhi\n.\n'; } | sluice-alias 2> "$tmpdir/err" |
        sed -n 's/^RCPT TO:<\([^>]*\)>.*X-ROUTE=\([^ ]*\).*/\1 \2/p; t; s/^RCPT TO:<\([^>]*\)>.*/\1/p'
}
is "$(alias root@example.test)" "alice@example.test" "root@ a local domain goes to alice there"
is "$(alias root@other.test)" "alice@other.test" "in every local domain"
is "$(alias postmaster@example.test mailer-daemon@example.test)" "alice@example.test" "postmaster and mailer-daemon go through root to alice"
is "$(alias staff@example.test)" $'bob@example.test\ncarol@example.test' "a list over two lines"
is "$(alias lists@example.test)" "bob@example.test" ":include: reads its file"
is "$(alias prog@example.test prog2@example.test arch@example.test)" "prog@example.test pipe:/bin/cat+20-u
prog2@example.test pipe:/bin/true
arch@example.test file:$tmpdir/archive.mbox" "|command and /file become pipe: and file: routes"
is "$(alias root@remote.test)" "root@remote.test" "root@ a remote domain is left alone"

# End to end through sluice-local: mail to root is delivered, not bounced.
{ printf 'MAIL FROM:<s@example.org>\nRCPT TO:<root@example.test>\nDATA\nSubject: to root\n\nhi\n.\n'; } |
    sluice-alias 2>/dev/null | sluice-local > "$tmpdir/out" 2> "$tmpdir/err"
is "$(ls "$mr/alice/new" | wc -l)" 1 "mail to root@ lands in alice's Maildir"
is "$(cat "$tmpdir/out")" "" "and nothing bounces"

# sluice-smtpd takes RCPT TO:<root@...> of a local domain.
printf 'HELO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<root@example.test>\r\nRCPT TO:<nosuch@example.test>\r\nQUIT\r\n' |
    sluice-smtpd > "$tmpdir/smtp" 2>/dev/null
is "$(sed -n 4p "$tmpdir/smtp" | cut -c1-9)" "250 2.1.5" "sluice-smtpd accepts root@ a local domain"
is "$(sed -n 5p "$tmpdir/smtp" | cut -c1-9)" "550 5.1.1" "and still refuses an unknown user"
done_testing
