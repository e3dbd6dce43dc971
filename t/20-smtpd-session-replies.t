#!/bin/bash
# sluice-smtpd under a real tcpserver, in sessions scripted with Python's
# smtplib and a raw socket: enhanced status codes on every reply, the order
# of 500/501/503, RSET/NOOP/HELP/VRFY/QUIT, recipient checks (unknown user,
# relay denied, relay allowed by RELAYCLIENT and by the access table), DSN,
# 8BITMIME and SMTPUTF8 passed on, the recipient limit, the size limit with
# the session still usable, and the idle timeout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"

# --- replies, their codes and their order ------------------------------------
py_checks "$port" "$tmpdir/echo" <<'EOF'
c = Raw()
replies = []
def say(cmd):
    r = c.cmd(cmd)
    replies.append((cmd, r))
    return r
check("the greeting is 220 with the host name", c.banner[-1].startswith("220 mx.example.test "), c.banner)
check("an unknown command is 500 5.5.2", say("FOO bar").startswith("500 5.5.2 "), replies[-1])
check("MAIL before HELO/EHLO is 503 5.5.1", say("MAIL FROM:<a@example.org>").startswith("503 5.5.1 "), replies[-1])
check("a MAIL syntax error is 501 before the sequence is checked", say("MAIL FROM:a@example.org").startswith("501 5.5.4 "), replies[-1])
check("MAIL TO: is a syntax error, 501", say("MAIL TO:<a@example.org>").startswith("501 "), replies[-1])
check("HELO without a name is 501", say("HELO").startswith("501 5.5.4 "), replies[-1])
say("QUIT")
# A new session: the server hangs up after 20 protocol errors.
c = Raw()
ehlo = c.cmd("EHLO client.example.org")
check("EHLO is answered 250", ehlo.startswith("250 "), ehlo)
check("RCPT before MAIL is 503 5.5.1", say("RCPT TO:<test@example.test>").startswith("503 5.5.1 "), replies[-1])
check("DATA before MAIL is 503 5.5.1", say("DATA").startswith("503 5.5.1 "), replies[-1])
check("MAIL with an unknown parameter is 555 5.5.4", say("MAIL FROM:<a@example.org> FOO=bar").startswith("555 5.5.4 "), replies[-1])
check("MAIL with a private X- parameter is refused 555", say("MAIL FROM:<a@example.org> X-NOTICE=bounce").startswith("555 "), replies[-1])
check("MAIL with AUTH= (not offered) is refused 555", say("MAIL FROM:<a@example.org> AUTH=<>").startswith("555 "), replies[-1])
check("MAIL with a bad SIZE is 501 5.5.4", say("MAIL FROM:<a@example.org> SIZE=12x").startswith("501 5.5.4 "), replies[-1])
check("MAIL with a bad address is 501 5.1.7", say("MAIL FROM:<a..b@example.org>").startswith("501 5.1.7 "), replies[-1])
check("an 8-bit sender without SMTPUTF8 is 553 5.6.7", say("MAIL FROM:<j\xc3\xb6rg@example.org>").startswith("553 5.6.7 "), replies[-1])
check("MAIL is accepted with 250 2.1.0", say("MAIL FROM:<a@example.org>").startswith("250 2.1.0 "), replies[-1])
check("a nested MAIL is 503 5.5.1", say("MAIL FROM:<b@example.org>").startswith("503 5.5.1 "), replies[-1])
check("DATA before any accepted RCPT is 503 5.5.1", say("DATA").startswith("503 5.5.1 "), replies[-1])
check("RCPT without brackets is 501 5.5.4", say("RCPT TO:test@example.test").startswith("501 5.5.4 "), replies[-1])
check("an unqualified recipient is 501 5.1.3", say("RCPT TO:<test>").startswith("501 5.1.3 "), replies[-1])
check("an unknown local user is 550 5.1.1", say("RCPT TO:<nobody@example.test>").startswith("550 5.1.1 "), replies[-1])
check("a foreign domain is 554 5.7.1 relay access denied", say("RCPT TO:<x@elsewhere.example>").startswith("554 5.7.1 "), replies[-1])
check("an unknown RCPT parameter is 555", say("RCPT TO:<test@example.test> FOO").startswith("555 "), replies[-1])
check("a known user is 250 2.1.5", say("RCPT TO:<test@example.test>").startswith("250 2.1.5 "), replies[-1])
check("a known user with a +detail is 250 2.1.5", say("RCPT TO:<test+lists@example.test>").startswith("250 2.1.5 "), replies[-1])
check("an unknown user with a +detail is 550 5.1.1", say("RCPT TO:<nobody+x@example.test>").startswith("550 5.1.1 "), replies[-1])
check("<postmaster> without a domain is accepted", say("RCPT TO:<postmaster>").startswith("250 "), replies[-1])
check("postmaster at a local domain is accepted without a users entry", say("RCPT TO:<PostMaster@example.test>").startswith("250 "), replies[-1])
check("a catch-all @domain entry in users matches", say("RCPT TO:<anyone@catchall.sub.example.test>").startswith("250 "), replies[-1])
check("NOOP is 250 2.0.0", say("NOOP").startswith("250 2.0.0 "), replies[-1])
check("NOOP with an argument is 250", say("NOOP hello").startswith("250 "), replies[-1])
check("HELP is 214 2.0.0", say("HELP").startswith("214 2.0.0 "), replies[-1])
check("VRFY is 252 2.5.0 by default", say("VRFY bob").startswith("252 2.5.0 "), replies[-1])
check("VRFY without an argument is 501", say("VRFY").startswith("501 "), replies[-1])
check("EXPN is 502 5.5.1", say("EXPN list").startswith("502 5.5.1 "), replies[-1])
check("RSET with an argument is 501", say("RSET now").startswith("501 "), replies[-1])
check("RSET is 250 2.0.0", say("RSET").startswith("250 2.0.0 "), replies[-1])
check("RSET forgets the transaction: RCPT is 503 again", say("RCPT TO:<test@example.test>").startswith("503 "), replies[-1])
check("QUIT with an argument is 501", say("QUIT now").startswith("501 "), replies[-1])
check("QUIT is 221 2.0.0", say("QUIT").startswith("221 2.0.0 "), replies[-1])
check("the server closes the connection after QUIT", c.closed())
bad = [r for r in replies if not has_enhanced(r[1])]
check("every reply but the greeting and EHLO carries an enhanced status code", not bad, bad)
check("nothing was queued by this session", echo_files() == [], echo_files())

# Parameters need EHLO; after HELO they are refused.
c = Raw()
c.cmd("HELO client.example.org")
r = c.cmd("MAIL FROM:<a@example.org> SIZE=10")
check("MAIL parameters after HELO are 555 5.5.4", r.startswith("555 5.5.4 "), r)
r = c.cmd("MAIL FROM:<>")
check("the null sender <> is accepted", r.startswith("250 2.1.0 "), r)
c.cmd("QUIT")
EOF

# --- DSN, 8BITMIME, SMTPUTF8 with smtplib --------------------------------------
py_checks "$port" "$tmpdir/echo" <<'EOF'
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.example.org", timeout=30)
s.ehlo()
for kw in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "dsn", "smtputf8"):
    check("smtplib sees EHLO keyword " + kw, s.has_extn(kw), s.esmtp_features)
msg = b"Subject: dsn\r\n\r\nbody\r\n"
s.sendmail("alice@example.org", ["test@example.test"], msg,
           mail_options=["RET=HDRS", "ENVID=QQ314159"],
           rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;test@example.test"])
f = echo_files()
check("the DSN message was queued", len(f) == 1, f)
t = read_echo(f[0]) if f else ""
check("MAIL carries RET and ENVID (and smtplib's SIZE)",
      re.search(r"^MAIL FROM:<alice@example.org> SIZE=\d+ RET=HDRS ENVID=QQ314159$", t, re.M), t)
check("RCPT carries NOTIFY and ORCPT",
      "\nRCPT TO:<test@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;test@example.test\n" in t, t)
for x in f:
    os.unlink(os.path.join(ECHO, x))

body = "Subject: 8bit\r\n\r\nGr\xfc\xdfe aus K\xf6ln\r\n".encode("latin-1")
s.sendmail("alice@example.org", ["bob@example.test"], body, mail_options=["BODY=8BITMIME"])
f = echo_files()
t = open(os.path.join(ECHO, f[0]), "rb").read() if f else b""
check("BODY=8BITMIME is passed on", re.search(rb"^MAIL FROM:<alice@example.org> SIZE=\d+ BODY=8BITMIME$", t, re.M), t)
check("8-bit body octets arrive unchanged", b"\nGr\xfc\xdfe aus K\xf6ln\n.\n" in t, t)
for x in f:
    os.unlink(os.path.join(ECHO, x))
s.quit()

c = Raw()
c.cmd("EHLO client.example.org")
r = c.cmd("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8")
check("a UTF-8 sender with SMTPUTF8 is accepted", r.startswith("250 "), r)
r = c.cmd("RCPT TO:<test@example.test>")
c.cmd("DATA")
c.send(b"Subject: utf8\r\n\r\nhi\r\n.\r\n")
r = c.code()
check("the SMTPUTF8 message is queued", r == "250", r)
c.cmd("QUIT")
f = echo_files()
t = open(os.path.join(ECHO, f[0]), "rb").read().decode("utf-8") if f else ""
check("MAIL carries SMTPUTF8 and the UTF-8 address", "MAIL FROM:<j\xf6rg@example.org> SMTPUTF8\n" in t, t)
check("the protocol is UTF8SMTP in XFORWARD and Received:",
      "PROTO=UTF8SMTP" in t and "with UTF8SMTP id" in t, t)
for x in f:
    os.unlink(os.path.join(ECHO, x))
EOF

# --- limits and VRFY off: a strict configuration ------------------------------
smtpd_conf strict smtpd_vrfy no max_recipients 3 message_size_limit 10k smtpd_timeout 2s
smtpd_start sport "$tmpdir/strict" "$tmpdir/echo-strict"
py_checks "$sport" "$tmpdir/echo-strict" <<'EOF'
c = Raw()
c.cmd("EHLO client.example.org")
r = c.cmd("VRFY bob")
check("VRFY is 502 5.5.1 with smtpd_vrfy=no", r.startswith("502 5.5.1 "), r)
r = c.cmd("MAIL FROM:<a@example.org> SIZE=20000")
check("a SIZE over message_size_limit is 552 5.3.4 at MAIL", r.startswith("552 5.3.4 "), r)
c.cmd("MAIL FROM:<a@example.org>")
codes = [c.cmd("RCPT TO:<%s>" % a)[:9] for a in
         ("test@example.test", "bob@example.test", "alias@example.test", "postmaster@example.test")]
check("three recipients are accepted, the fourth is 452 4.5.3 (max_recipients=3)",
      codes == ["250 2.1.5"] * 3 + ["452 4.5.3"], codes)
c.cmd("DATA")
c.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 300 + b".\r\n")
r = c.reply()[-1]
check("a body over message_size_limit is 552 5.3.4 once its end is read", r.startswith("552 5.3.4 "), r)
check("nothing is queued from it", echo_files() == [], echo_files())
r = c.cmd("MAIL FROM:<a@example.org>")
check("the session is usable after the refusal: MAIL", r.startswith("250 "), r)
c.cmd("RCPT TO:<test@example.test>")
c.cmd("RCPT TO:<bob@example.test>")
c.cmd("DATA")
c.send(b"Subject: small\r\n\r\nsmall\r\n.\r\n")
r = c.reply()[-1]
check("and a small message is then queued", r.startswith("250 2.0.0 Ok: queued as "), r)
f = echo_files()
t = read_echo(f[0]) if f else ""
check("with both recipients", "RCPT TO:<test@example.test>\nRCPT TO:<bob@example.test>\nDATA\n" in t, t)

# smtplib puts SIZE= on MAIL when the server offers it.
s = smtplib.SMTP("127.0.0.1", PORT, timeout=30)
try:
    s.sendmail("a@example.org", ["test@example.test"], b"Subject: x\r\n\r\n" + b"y" * 20000 + b"\r\n")
    check("smtplib's oversized message is refused at MAIL", False, "accepted")
except smtplib.SMTPSenderRefused as e:
    check("smtplib's oversized message is refused at MAIL with 552 5.3.4",
          e.smtp_code == 552 and e.smtp_error.startswith(b"5.3.4"), e)
s.quit()

# The idle timeout: 2 s here.
c = Raw()
c.cmd("EHLO client.example.org")
t0 = time.time()
c.s.settimeout(30)
r = c.reply()[-1]
check("an idle client gets 421 4.4.2 (smtpd_timeout=2s)", r.startswith("421 4.4.2 "), r)
check("after about the timeout", 1.5 < time.time() - t0 < 25, time.time() - t0)
check("and the connection is closed", c.closed())
EOF

# --- relay control ---------------------------------------------------------------
# RELAYCLIENT from tcprules, as tcpserver -x sets it.
printf '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n' > "$tmpdir/rules.txt"
tcprules "$tmpdir/rules.cdb" "$tmpdir/rules.tmp" < "$tmpdir/rules.txt"
ok $? "tcprules compiles the rules"
smtpd_start rport "$tmpdir/conf" "$tmpdir/echo-relay" -- -x "$tmpdir/rules.cdb"

# The access table: a prefix of the client address grants relay, the exact
# address can refuse the connection.
smtpd_conf access-relay
echo '127.0 relay' > "$tmpdir/access-relay/access"
sluice-mkcdb -o "$tmpdir/access-relay/access.cdb" "$tmpdir/access-relay/access"
smtpd_start aport "$tmpdir/access-relay" "$tmpdir/echo-access"
smtpd_conf access-reject
printf '127.0.0.1 reject\n127 relay\n' > "$tmpdir/access-reject/access"
sluice-mkcdb -o "$tmpdir/access-reject/access.cdb" "$tmpdir/access-reject/access"
smtpd_start xport "$tmpdir/access-reject" "$tmpdir/echo-reject"

relay_script='
s = smtplib.SMTP("127.0.0.1", PORT, timeout=30)
s.ehlo("client.example.org")
code, text = s.docmd("MAIL FROM:<a@example.org>")
code, text = s.docmd("RCPT TO:<someone@elsewhere.example>")
check(WHY + ": a foreign recipient is accepted", code == 250, (code, text))
code, text = s.docmd("RCPT TO:<nobody@example.test>")
check(WHY + ": local recipients are still checked (550 5.1.1)", code == 550 and text.startswith(b"5.1.1"), (code, text))
s.rset()
s.sendmail("a@example.org", ["someone@elsewhere.example"], b"Subject: relay\r\n\r\nrelayed\r\n")
check(WHY + ": the relayed message is queued", len(echo_files()) == 1, echo_files())
s.quit()
'
py_checks "$rport" "$tmpdir/echo-relay" <<<"WHY = 'RELAYCLIENT from tcprules'$relay_script"
py_checks "$aport" "$tmpdir/echo-access" <<<"WHY = 'access table prefix 127.0 relay'$relay_script"

py_checks "$xport" "$tmpdir/echo-reject" <<'EOF'
c = Raw()
check("access reject: the greeting is 554 5.7.1 (the exact address wins over the prefix 127)", c.banner[-1].startswith("554 5.7.1 "), c.banner)
r = c.cmd("EHLO client.example.org")
check("access reject: every command but QUIT is refused with 503", r.startswith("503 "), r)
r = c.cmd("QUIT")
check("access reject: QUIT is 221", r.startswith("221 "), r)
EOF

done_testing
