#!/bin/bash
# AUTH PLAIN and LOGIN (RFC 4954) under TLS: checked by sluice-auth against
# a crypt(3) table only its owner can read, or by a checkpassword program;
# an authenticated client relays, and its name goes into AUTH=, XFORWARD
# LOGIN= and the Received: field; AUTH without TLS is 538; failures are
# delayed and counted, and the last one ends the session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_cert
smtpd_conf conf smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth yes \
    smtpd_auth_failure_delay 1 smtpd_auth_max_failures 3
conf=$tmpdir/conf
printf 'alice %s\nbob@example.test %s\n' "$(smtpd_password alice 'sec ret')" \
    "$(smtpd_password bob hunter2)" > "$conf/smtpd_passwords"
chmod 600 "$conf/smtpd_passwords"
sluice-mkcdb -o "$conf/smtpd_passwords.cdb" "$conf/smtpd_passwords"
chmod 600 "$conf/smtpd_passwords.cdb"
smtpd_start port "$conf" "$tmpdir/echo" SLUICE_LIBEXEC="$top/libexec"
echo=$tmpdir/echo
log=$tmpdir/tcpserver-$port.log

# --- sluice-auth alone: the checkpassword convention ----------------------------
auth() { printf '%s\0%s\0<1.2@x>\0' "$1" "$2" | SLUICE_CONF=$conf sluice-auth "${@:3}" 3<&0 </dev/null; }
auth alice 'sec ret'; is $? 0 "sluice-auth: the right password exits 0"
auth alice 'sec re'; is $? 1 "sluice-auth: a wrong one exits 1"
auth nobody 'sec ret'; is $? 1 "sluice-auth: an unknown user exits 1"
is "$(auth bob@example.test hunter2 /bin/echo next)" next "sluice-auth runs its arguments on success, as checkpassword does"

# --- swaks: PLAIN and LOGIN, then relaying ----------------------------------------
out=$(swaks -s 127.0.0.1 -p "$port" --tls --auth PLAIN --auth-user alice --auth-password 'sec ret' \
    --ehlo client.example.org --from alice@example.org --to friend@other.example 2>&1)
ok $? "swaks --tls --auth PLAIN relays to another domain"
like "$out" '<~ +235 2\.7\.0 Authentication successful' "PLAIN is answered 235 2.7.0"
msg=$(cat "$echo"/*.msg 2>/dev/null)
like "$(sed -n 1p <<<"$msg")" '^XFORWARD .*PROTO=ESMTPSA .*LOGIN=alice$' "XFORWARD says ESMTPSA and LOGIN=alice"
like "$(sed -n 2p <<<"$msg")" '^MAIL FROM:<alice@example\.org> AUTH=alice$' "MAIL carries AUTH=alice"
like "$msg" $'\n\t\\(Authenticated sender: alice\\)\n\tby mx\\.example\\.test \\(sluice\\) with ESMTPSA id ' \
    "the Received: field names the authenticated user"
rm -f "$echo"/*.msg
out=$(swaks -s 127.0.0.1 -p "$port" --tls --auth LOGIN --auth-user bob@example.test --auth-password hunter2 \
    --from bob@example.test --to friend@other.example 2>&1)
ok $? "swaks --tls --auth LOGIN relays too"
like "$(cat "$echo"/*.msg 2>/dev/null)" 'AUTH=bob@example\.test' "with AUTH=bob@example.test"

out=$(swaks -s 127.0.0.1 -p "$port" --tls --from a@example.org --to friend@other.example 2>&1)
like "$out" '<~\* +554 5\.7\.1 Relay access denied' "under TLS but without AUTH, relaying is refused"

# --- the rules, with smtplib and by hand --------------------------------------------
rm -f "$echo"/*.msg
py_checks "$port" "$echo" <<'EOF'
import base64, ssl
b64 = lambda s: base64.b64encode(s.encode()).decode()
ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])

c = Raw()
c.cmd("EHLO x")
r = c.cmd("AUTH PLAIN " + b64("\0alice\0sec ret"))
check("AUTH without TLS is 538 5.7.11, even with the right password", r.startswith("538 5.7.11"), r)
r = c.cmd("MAIL FROM:<a@example.org> AUTH=alice")
check("AUTH= is refused where AUTH is not offered", r.startswith("555"), r)
c.close()

def tls_client():
    c = Raw()
    c.cmd("EHLO x")
    c.cmd("STARTTLS")
    c.tls(ctx)
    c.cmd("EHLO x")
    return c

c = tls_client()
check("an unknown mechanism is 504", c.cmd("AUTH CRAM-MD5").startswith("504 5.5.4"))
check("'*' cancels (501)", c.cmd("AUTH LOGIN").startswith("334 ") and c.cmd("*").startswith("501 5.0.0"))
check("a response that is not base64 is 501", c.cmd("AUTH PLAIN !!!!").startswith("501 5.5.2"))
r = c.cmd("AUTH PLAIN " + b64("bob\0alice\0sec ret"))
check("PLAIN with an authorization identity not the user's is 535", r.startswith("535 5.7.8"), r)
r = c.cmd("AUTH PLAIN")
check("PLAIN without an initial response asks with '334 '", r == "334 ", r)
r = c.cmd(b64("\0alice\0sec ret"))
check("and accepts the response", r.startswith("235 2.7.0"), r)
check("a second AUTH is 503", c.cmd("AUTH PLAIN " + b64("\0alice\0sec ret")).startswith("503 5.5.1"))
r = c.cmd("MAIL FROM:<a@example.org> AUTH=<>")
check("an authenticated client's MAIL with AUTH=<> is accepted", r.startswith("250"), r)
c.cmd("RCPT TO:<x@other.example>")
c.cmd("DATA")
r = c.cmd("Subject: a\r\n\r\nhi\r\n.")
check("and relayed", r.startswith("250 2.0.0"), r)
c.close()
check("the stream says AUTH=alice, not what the client wrote", wait_files(1) and
      "\nMAIL FROM:<a@example.org> AUTH=alice\n" in read_echo(echo_files()[0]))

# Without AUTH, a client's AUTH= is dropped: we cannot vouch for it.
c = tls_client()
c.cmd("MAIL FROM:<a@example.org> AUTH=forged@example.org")
c.cmd("RCPT TO:<test@example.test>")
c.cmd("DATA")
r = c.cmd("Subject: b\r\n\r\nhi\r\n.")
check("an unauthenticated client's message is accepted for a local user", r.startswith("250"), r)
c.close()
m = [read_echo(f) for f in echo_files() if "Subject: b" in read_echo(f)]
check("its AUTH= and LOGIN are not in the stream", len(m) == 1 and "AUTH=" not in m[0] and
      "LOGIN=" not in m[0], m)

# Failures: delayed more each time, the third ends the session.
s = smtplib.SMTP("127.0.0.1", PORT, timeout=30)
s._host = "mx.example.test"
s.starttls(context=ctx)
s.ehlo()
times = []
for i in range(2):
    t0 = time.time()
    # smtplib's login() would try LOGIN after PLAIN: one mechanism a try.
    code, text = s.docmd("AUTH PLAIN " + b64("\0alice\0wrong"))
    times.append(time.time() - t0)
    check("a wrong password is 535 5.7.8 (try %d)" % (i + 1), code == 535, code)
check("failures are delayed: 1 s, then 2 s", times[0] >= 0.9 and times[1] >= 1.9, times)
code, text = s.docmd("AUTH PLAIN " + b64("\0alice\0wrong"))
check("the third failure is 421 4.7.0", code == 421 and text.startswith(b"4.7.0"), (code, text))
try:
    code = s.noop()[0]
except smtplib.SMTPServerDisconnected:
    code = None
check("and the session is over", code is None, code)
EOF
like "$(cat "$log")" 'event=auth_failed mech=PLAIN user=alice failures=3' "failures are logged and counted"
like "$(cat "$log")" 'event=reject reason=auth_without_tls' "AUTH without TLS is logged"
unlike "$(cat "$log")" 'sec ret|hunter2|wrong' "no password reaches the log"

# --- a checkpassword program ------------------------------------------------------
smtpd_conf cp smtpd_tls_cert "$SMTPD_CERT" smtpd_tls_key "$SMTPD_KEY" smtpd_auth yes \
    smtpd_auth_program "$tools/checkpassword.sh /bin/true" smtpd_auth_failure_delay 0
smtpd_start cport "$tmpdir/cp" "$tmpdir/cecho" CP_USER=carol CP_PASS=pw CP_LOG="$tmpdir/cp.log"
out=$(swaks -s 127.0.0.1 -p "$cport" --tls --auth PLAIN --auth-user carol --auth-password pw \
    --from carol@example.org --to friend@other.example 2>&1)
ok $? "a checkpassword program authenticates (exit 0) and the client relays"
like "$(cat "$tmpdir/cp.log")" '^carol <[0-9]+\.[0-9]+@mx\.example\.test>$' \
    "it got user NUL password NUL timestamp NUL on descriptor 3"
out=$(swaks -s 127.0.0.1 -p "$cport" --tls --auth PLAIN --auth-user carol --auth-password no \
    --from carol@example.org --to friend@other.example 2>&1)
like "$out" '<~\* +535 5\.7\.8' "its exit 1 is 535"
out=$(swaks -s 127.0.0.1 -p "$cport" --tls --auth PLAIN --auth-user tempfail --auth-password x \
    --from carol@example.org --to friend@other.example 2>&1)
like "$out" '<~\* +454 4\.7\.0' "its exit 111 is 454 4.7.0"

# --- a password table others can read is refused ------------------------------------
chmod 644 "$conf/smtpd_passwords.cdb"
out=$(swaks -s 127.0.0.1 -p "$port" --tls --auth PLAIN --auth-user alice --auth-password 'sec ret' \
    --from alice@example.org --to friend@other.example 2>&1)
like "$out" '<~\* +454 4\.7\.0' "a smtpd_passwords.cdb others can read: 454, no check"
like "$(cat "$log")" 'sluice-auth: fatal: .*smtpd_passwords\.cdb can be read or written by others' \
    "and sluice-auth says why"
chmod 600 "$conf/smtpd_passwords.cdb"; chmod 640 "$conf/smtpd_passwords"
auth alice 'sec ret' 2>/dev/null; is $? 111 "the same for its text beside it"
done_testing
