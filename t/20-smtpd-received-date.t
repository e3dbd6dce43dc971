#!/bin/bash
# The Received: field sluice-smtpd writes parses as RFC 5322 3.6.7 has it:
# its tokens, then ";" and a date-time, with one recipient (and its "for"
# clause), with two and with many.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"

py_checks "$port" "$tmpdir/echo" <<'EOF'
import email, email.utils
for n in (1, 2, 50):
    before = set(echo_files())
    s = smtplib.SMTP("127.0.0.1", PORT)
    s.ehlo("client.example.org")
    rcpts = ["test+%d@example.test" % i for i in range(n)]
    s.sendmail("alice@example.org", rcpts, "Subject: r\r\n\r\nbody\r\n")
    s.quit()
    wait_files(len(before) + 1)
    f = [x for x in echo_files() if x not in before][0]
    stream = read_echo(f)
    msg = email.message_from_string(stream.split("\nDATA\n", 1)[1])
    value = " ".join(msg["Received"].split())
    tokens, sep, date = value.rpartition(";")
    check("%d recipient(s): the Received: field has a ';' before the date" % n, sep == ";", value)
    try:
        d = email.utils.parsedate_to_datetime(date.strip())
    except (TypeError, ValueError) as e:
        d = None
    check("%d recipient(s): what follows the last ';' is a date-time" % n,
          d is not None and abs(time.time() - d.timestamp()) < 600, date)
    check("%d recipient(s): no ';' among the tokens before it" % n, ";" not in tokens, value)
    check("%d recipient(s): 'for' only with one recipient" % n,
          ("for <test+0@example.test>" in tokens) == (n == 1), value)
EOF
done_testing
