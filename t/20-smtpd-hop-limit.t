#!/bin/bash
# A message that arrives with max_received (default 50) Received: fields
# or more (ours would make one more than the loop limit of sluice-alias) is
# refused at the end of DATA with 554 5.4.6, so that no loop bounce is
# made for mail just received; one with fewer is queued.  Only fields of
# the header block count, in any case and with WSP before the colon, and
# the session stays in step after the refusal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"
smtpd_conf conf5 max_received 5
smtpd_start port5 "$tmpdir/conf5" "$tmpdir/echo5"

checks=$(cat <<'EOF'
LIMIT = int(os.environ["LIMIT"])
def send(hops, body=b"", name="x"):
    c = Raw()
    c.cmd("EHLO client.example.org")
    c.cmd("MAIL FROM:<alice@example.org>")
    c.cmd("RCPT TO:<test@example.test>")
    c.cmd("DATA")
    fields = b"".join(b"%s: from h%d by relay%d.example.org (sluice); Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                      % (b"Received" if i % 3 else b"rECEIVED \t", i, i) for i in range(hops))
    c.send(fields + b"Subject: " + name.encode() + b"\r\n\r\n" + body + b"hello\r\n.\r\nNOOP\r\n")
    r = c.reply()[-1]
    n = c.reply()[-1]
    c.cmd("QUIT")
    return r, n
before = len(echo_files())
r, n = send(LIMIT - 1)
check("%d forged Received: fields (limit %d) are queued" % (LIMIT - 1, LIMIT), r.startswith("250 2.0.0 "), r)
r, n = send(LIMIT)
check("%d Received: fields are refused with 554 5.4.6" % LIMIT, r.startswith("554 5.4.6 "), r)
check("the session is in step after the refusal", n.startswith("250 "), n)
r, n = send(LIMIT + 10)
check("%d Received: fields are refused with 554 5.4.6" % (LIMIT + 10), r.startswith("554 5.4.6 "), r)
r, n = send(2, b"".join(b"Received: in the body %d\r\n" % i for i in range(LIMIT + 5)))
check("Received: lines in the body do not count", r.startswith("250 2.0.0 "), r)
check("exactly the two accepted messages were queued", len(echo_files()) == before + 2, echo_files())
EOF
)
LIMIT=50 py_checks "$port" "$tmpdir/echo" <<<"$checks"
LIMIT=5 py_checks "$port5" "$tmpdir/echo5" <<<"$checks"

# The whole chain: 60 forged "by HOST (sluice)" fields make no bounce.
e2e=$tmpdir/e2e
. "$(dirname "$0")/e2e.sh"
e2e_setup
e2e_smtpd eport
{ for i in $(seq 60); do printf 'Received: from a by mx.example.test (sluice) with ESMTP id %d\r\n' $i; done
  printf 'Subject: loop\r\n\r\nhi\r\n'; } > "$tmpdir/loop.eml"
out=$(swaks -s 127.0.0.1 -p "$eport" -f victim@example.org -t alice@example.test \
    --data "@$tmpdir/loop.eml" 2>&1)
like "$out" '<\*\* 554 5\.4\.6 ' "the chain's listener refuses 60 forged Received: fields with 554 5.4.6"
is "$(e2e_queued)" 0 "nothing was queued, so no bounce can be made"
done_testing
