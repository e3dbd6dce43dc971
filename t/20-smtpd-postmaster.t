#!/bin/bash
# RCPT TO:<postmaster> without a domain (RFC 5321 4.5.1) is this host's
# postmaster: sluice-smtpd accepts it from any client, relay or not, and
# writes it into the stream as the postmaster setting's address; with the
# configuration as shipped (conf/) and the default chain, the message
# reaches the postmaster's mailbox and nothing is left for remote delivery.
# A postmaster setting in a foreign domain is where <postmaster> goes, even
# from a client that may not relay.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf postmaster 'PostMaster@Example.TEST'
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"
smtpd_conf remote postmaster 'hostmaster@elsewhere.example'
smtpd_start rport "$tmpdir/remote" "$tmpdir/recho"

checks=$(cat <<'EOF'
WANT = os.environ["WANT"]
c = Raw()
c.cmd("EHLO client.example.org")
c.cmd("MAIL FROM:<alice@example.org>")
r = c.cmd("RCPT TO:<x@elsewhere.example>")
check("the client may not relay", r.startswith("554 5.7.1 "), r)
for pm in ("postmaster", "POSTMASTER", "PostMaster"):
    r = c.cmd("RCPT TO:<%s>" % pm)
    check("<%s> is accepted from it" % pm, r.startswith("250 2.1.5 "), r)
c.cmd("DATA")
c.send(b"Subject: pm\r\n\r\nhi\r\n.\r\n")
r = c.reply()[-1]
check("the message is queued", r.startswith("250 2.0.0 "), r)
c.cmd("QUIT")
wait_files(1)
got = [l for l in read_echo(echo_files()[0]).split("\n") if l.startswith("RCPT")]
check("the stream names the postmaster setting once, in normal form: " + WANT,
      got == ["RCPT TO:<%s>" % WANT], got)
EOF
)
WANT=postmaster@example.test py_checks "$port" "$tmpdir/echo" <<<"$checks"
WANT=hostmaster@elsewhere.example py_checks "$rport" "$tmpdir/recho" <<<"$checks"

# As shipped: conf/ with this instance's folders, as make run sets it up,
# sluice-smtpd on a pipe for a client at 192.0.2.7, the real queue.
var=$tmpdir/var
mkdir -p "$var/conf" "$var/spool" "$var/mail"
for f in config domains users aliases access; do cp "$top/conf/$f" "$var/conf/$f"; done
printf 'spool %s\nmailroot %s\n' "$var/spool" "$var/mail" >> "$var/conf/config"
for f in config domains users aliases access; do
    sluice-mkcdb -o "$var/conf/$f.cdb" "$var/conf/$f" || bail "sluice-mkcdb $f"
done
export SLUICE_CONF=$var/conf SLUICE_SPOOL=$var/spool SLUICE_LIBEXEC=$top/libexec
unset SLUICE_QUEUE RELAYCLIENT
out=$(printf '%s\r\n' 'EHLO client.example.org' 'MAIL FROM:<x@example.org>' \
    'RCPT TO:<someone@elsewhere.example>' 'RCPT TO:<Postmaster>' DATA 'Subject: to pm' '' hi . QUIT |
    TCPREMOTEIP=192.0.2.7 sluice-smtpd 2>"$tmpdir/smtpd.err")
like "$out" $'554 5\\.7\\.1[^\n]*\r\n250 2\\.1\\.5' "as shipped: no relaying, but <Postmaster> is accepted"
like "$out" '250 2\.0\.0 Ok: queued' "as shipped: the message is queued" || diag "$(cat "$tmpdir/smtpd.err")"
sluice-runq -1 </dev/null >"$tmpdir/runq.log" 2>&1
n=$(find "$var/mail/postmaster/new" -type f 2>/dev/null | wc -l)
is "$n" 1 "as shipped: the default chain delivers it to the postmaster's mailbox" ||
    diag "$(cat "$tmpdir/runq.log")"
is "$(find "$var/spool/incoming" "$var/spool/deferred" -type f | wc -l)" 0 \
    "as shipped: nothing is left in the queue for remote delivery"
unlike "$(cat "$tmpdir/runq.log")" 'sluice-smtp[:[]' "sluice-smtp never ran"
done_testing
