#!/bin/bash
# Submission (RFC 6409), SLUICE_SMTPD_MODE=submission: msmtp submits on the
# port-587 setup (STARTTLS, then AUTH); MAIL needs AUTH first (530); the
# Date: and Message-ID: a message lacks are completed, those it has kept;
# the same over implicit TLS (port 465).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

command -v msmtp >/dev/null || skip_all "msmtp is not installed (.ci/deps)"
smtpd_cert
smtpd_conf conf smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth_failure_delay 0
conf=$tmpdir/conf
printf 'dave %s\n' "$(smtpd_password dave 'pass word')" > "$conf/smtpd_passwords"
chmod 600 "$conf/smtpd_passwords"
sluice-mkcdb -o "$conf/smtpd_passwords.cdb" "$conf/smtpd_passwords"
chmod 600 "$conf/smtpd_passwords.cdb"
smtpd_start port "$conf" "$tmpdir/echo" SLUICE_SMTPD_MODE=submission
echo=$tmpdir/echo

# --- msmtp on 587: STARTTLS, AUTH, the message -----------------------------------
cat > "$tmpdir/msmtprc" <<EOF
account sub
host 127.0.0.1
port $port
tls on
tls_starttls on
tls_trust_file $SMTPD_CERT
tls_host_override mx.example.test
auth on
user dave
password pass word
from dave@example.org
set_date_header off
set_msgid_header off
logfile $tmpdir/msmtp.log
account default : sub
EOF
chmod 600 "$tmpdir/msmtprc"
printf 'From: dave@example.org\nTo: friend@other.example\nSubject: by msmtp\n\nhello\n' |
    msmtp -C "$tmpdir/msmtprc" friend@other.example 2>"$tmpdir/msmtp.err"
ok $? "msmtp submits with STARTTLS and AUTH, to another domain"
[ -s "$tmpdir/msmtp.err" ] && diag "$(cat "$tmpdir/msmtp.err")"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$(sed -n 1,2p <<<"$msg")" $'PROTO=ESMTPSA .*LOGIN=dave\nMAIL FROM:<dave@example.org> AUTH=dave$' \
    "the stream has the login and AUTH=dave"
like "$msg" $'\nSubject: by msmtp\nDate: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} \\+0000\nMessage-ID: <[0-9a-f]{21}@mx\\.example\\.test>\n\nhello' \
    "the missing Date: and Message-ID: are added at the end of the header"
qid=$(grep -oE 'IDENT=[0-9a-f]+' <<<"$msg" | cut -d= -f2)
like "$msg" "Message-ID: <$qid@" "the Message-ID is made of the queue id"

# --- AUTH first; fields a message has are kept ------------------------------------
rm -f "$echo"/*.msg
py_checks "$port" "$echo" <<'EOF'
import ssl
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
c = Raw()
c.send(b"EHLO x\r\n")
r = c.reply()
check("no AUTH is offered before TLS", not any("AUTH" in l for l in r), r)
r = c.cmd("MAIL FROM:<dave@example.org>")
check("MAIL without AUTH is 530 5.7.0", r.startswith("530 5.7.0"), r)
c.cmd("STARTTLS")
c.tls(ctx)
c.cmd("EHLO x")
r = c.cmd("MAIL FROM:<dave@example.org>")
check("under TLS too, until AUTH", r.startswith("530 5.7.0"), r)
c.close()

s = smtplib.SMTP("127.0.0.1", PORT, timeout=30)
s._host = "mx.example.test"
s.starttls(context=ctx)
s.login("dave", "pass word")
body = (b"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <mine@example.org>\r\n"
        b"Subject: has both\r\n\r\nx\r\n")
r = s.sendmail("dave@example.org", ["test@example.test"], body)
check("smtplib submits after login()", r == {}, r)
body = b"Subject: no header end\r\nX-A: 1"
r = s.sendmail("dave@example.org", ["test@example.test"], body)
s.quit()
check("both reached the queue program", wait_files(2))
ms = [read_echo(f) for f in echo_files()]
m = [x for x in ms if "has both" in x][0]
check("a message with Date: and Message-ID: keeps them, and gets no others",
      m.count("\nDate:") == 1 and m.count("\nMessage-ID:") == 1 and
      "<mine@example.org>" in m, m)
m = [x for x in ms if "no header end" in x][0]
check("a message that is all header gets them at its end",
      re.search(r"\nX-A: 1\nDate: .*\nMessage-ID: <[0-9a-f]+@mx\.example\.test>\n\.\n?$", m), m)
EOF

# --- the same on the SMTPS port ----------------------------------------------------
rm -f "$echo"/*.msg
SMTPD_TLS_WRAP=1 smtpd_start sport "$conf" "$tmpdir/echo" SLUICE_SMTPD_MODE=submission
sed -e "s/^port .*/port $sport/" -e 's/^tls_starttls on/tls_starttls off/' \
    "$tmpdir/msmtprc" > "$tmpdir/msmtprc465"
chmod 600 "$tmpdir/msmtprc465"
printf 'Subject: over 465\n\nhi\n' | msmtp -C "$tmpdir/msmtprc465" test@example.test 2>"$tmpdir/msmtp.err"
ok $? "msmtp submits over implicit TLS"
like "$(cat "$echo"/*.msg 2>/dev/null)" $'\nSubject: over 465\nDate: .*\nMessage-ID: <' \
    "and the header is completed there too"
out=$(swaks -s 127.0.0.1 -p "$sport" --tlsc --from a@example.org --to test@example.test 2>&1)
like "$out" '<~\* +530 5\.7\.0 Authentication required' "without AUTH, MAIL is 530 there too"

# --- a plain port is not submission ----------------------------------------------
smtpd_conf mx smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY"
smtpd_start mport "$tmpdir/mx" "$tmpdir/mecho"
printf 'Subject: inbound\n\nhi\n' | swaks -s 127.0.0.1 -p "$mport" --tls --from a@example.org \
    --to test@example.test --data - >/dev/null 2>&1
unlike "$(cat "$tmpdir/mecho"/*.msg 2>/dev/null)" 'Message-ID: <[0-9a-f]+@mx' \
    "without submission, nothing is added to the header"
done_testing
