#!/bin/bash
# The relay battery: a client that may not relay tries every old trick to
# make sluice-smtpd carry mail to another domain, in clear and under TLS;
# every one is refused at RCPT and nothing reaches the queue program.  The
# tricks: the percent hack, bang paths, source routes, a quoted local part
# with @, address literals, unqualified and trailing-dot domains, a plain
# foreign recipient, and AUTH without TLS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_cert
smtpd_conf conf smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth yes
conf=$tmpdir/conf
printf 'eve %s\n' "$(smtpd_password eve pw)" > "$conf/smtpd_passwords"
chmod 600 "$conf/smtpd_passwords"
sluice-mkcdb -o "$conf/smtpd_passwords.cdb" "$conf/smtpd_passwords"
chmod 600 "$conf/smtpd_passwords.cdb"
smtpd_start port "$conf" "$tmpdir/echo"

py_checks "$port" "$tmpdir/echo" <<'EOF'
import base64, ssl
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
tricks = [
    ("percent hack", "<victim%other.example@example.test>"),
    ("percent hack, two hops", "<victim%other.example%third.example@example.test>"),
    ("bang path", "<other.example!victim@example.test>"),
    ("bang path without a domain", "<other.example!victim>"),
    ("source route", "<@example.test:victim@other.example>"),
    ("source route of two hops", "<@example.test,@mx.example.test:victim@other.example>"),
    ("quoted local part with @", '<"victim@other.example"@example.test>'),
    ("quoted local part with @, unqualified", '<"victim@other.example">'),
    ("IPv4 address literal", "<victim@[192.0.2.1]>"),
    ("IPv4 address literal of this host", "<victim@[127.0.0.1]>"),
    ("IPv6 address literal", "<victim@[IPv6:2001:db8::1]>"),
    ("unqualified address", "<victim>"),
    ("trailing-dot domain", "<victim@other.example.>"),
    ("trailing-dot local domain", "<test@example.test.>"),
    ("foreign domain", "<victim@other.example>"),
    ("foreign subdomain of a local one's name", "<victim@example.test.other.example>"),
]

def attempt(c, rcpt):
    c.cmd("RSET")
    r1 = c.cmd("MAIL FROM:<spammer@example.org>")
    r2 = c.cmd("RCPT TO:" + rcpt)
    r3 = c.cmd("DATA")
    if r3.startswith("354"):
        c.cmd("Subject: relayed\r\n\r\nspam\r\n.")
    return r2, r3

def client(tls):
    c = Raw()
    c.cmd("EHLO spammer.example.org")
    if tls:
        c.cmd("STARTTLS")
        c.tls(ctx)
        c.cmd("EHLO spammer.example.org")
    return c

# A session each: refused recipients count toward the error limit.
for tls in (False, True):
    where = "under TLS" if tls else "in clear"
    for name, rcpt in tricks:
        c = client(tls)
        r2, r3 = attempt(c, rcpt)
        check("%s %s: RCPT refused with 5xx (%s)" % (name, where, r2[:9]),
              r2[:1] == "5", r2)
        check("%s %s: DATA refused" % (name, where), not r3.startswith("354"), r3)
        c.close()

# AUTH without TLS cannot open the relay, even with the right password.
c = Raw()
c.cmd("EHLO spammer.example.org")
r = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0eve\0pw").decode())
check("AUTH without TLS is 538", r.startswith("538 5.7.11"), r)
r2, r3 = attempt(c, "<victim@other.example>")
check("and the client still may not relay", r2.startswith("554 5.7.1"), r2)
r = c.cmd("AUTH LOGIN")
check("AUTH LOGIN without TLS is 538 too", r.startswith("538 5.7.11"), r)
c.close()
check("nothing reached the queue program", echo_files() == [], echo_files())
EOF
done_testing
