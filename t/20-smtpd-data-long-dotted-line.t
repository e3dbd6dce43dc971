#!/bin/bash
# sluice-smtpd finds the end of DATA whatever the line lengths: a 998-octet
# text line that begins with "." (999 octets and CRLF once dot-stuffed) is
# legal (RFC 5321 4.5.3.1.6 counts the line, not the stuffing) and the
# pipelined commands after the final "." are answered as commands; a line
# of 999, 1000, 1001 or 5000 octets makes the message refused after its
# real end, with the session in step; and the CRLF.CRLF end is found when
# it is split across TCP segments at any byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"

py_checks "$port" "$tmpdir/echo" <<'EOF'
def replies(c, n):
    got = []
    try:
        for i in range(n):
            got.append(c.reply()[-1])
    except (EOFError, OSError) as e:
        got.append("closed: %s" % e)
    return got

def session():
    c = Raw()
    c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.cmd("EHLO client.example.org")
    return c

TXN = (b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<test@example.test>\r\nDATA\r\n")

# A 998-octet line starting with ".", pipelined with a second transaction.
dotted = b"." + b"d" * 997
c = session()
c.send(TXN)
got = replies(c, 3)
check("DATA is 354", got[-1].startswith("354 "), got)
c.send(b"Subject: dotted\r\n\r\n." + dotted + b"\r\nafter\r\n.\r\n" + TXN +
       b"Subject: second\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
got = replies(c, 6)
check("the 998-octet dotted line is accepted: 250 after the first final dot",
      got[0].startswith("250 2.0.0 "), got)
check("the pipelined MAIL, RCPT and DATA are answered as commands",
      [g[:3] for g in got[1:4]] == ["250", "250", "354"], got)
check("the second message is queued and QUIT answered",
      got[4].startswith("250 2.0.0 ") and got[5].startswith("221 "), got)
wait_files(2)
msgs = [read_echo(f) for f in echo_files()]
first = [m for m in msgs if "Subject: dotted" in m]
check("two messages were queued", len(msgs) == 2, len(msgs))
check("the dotted line reaches the queue whole (998 octets, stuffed once in the stream)",
      first and ("\n." + dotted.decode() + "\n") in first[0] and "\nafter\n" in first[0],
      first[0][-1200:] if first else msgs)
check("the second transaction is not part of the first message",
      first and "MAIL FROM" not in first[0].split("\nDATA\n", 1)[1], first)

# Over-long lines: refused after the real end, the session in step.
for k in (999, 1000, 1001, 5000):
    for dot in (b"", b"."):
        name = "%s%d-octet line" % ("dotted " if dot else "", k)
        line = dot + b"x" * (k - len(dot))
        before = len(echo_files())
        c = session()
        c.send(TXN)
        replies(c, 3)
        c.send(b"Subject: long\r\n\r\n" + (b"." if dot else b"") + line +
               b"\r\nafter\r\n.\r\nNOOP\r\nQUIT\r\n")
        got = replies(c, 3)
        check(name + ": refused 554 5.6.0 at the real end",
              got[0].startswith("554 5.6.0 "), got)
        check(name + ": NOOP and QUIT after it are answered in step",
              got[1].startswith("250 ") and got[2].startswith("221 "), got)
        check(name + ": nothing was queued", len(echo_files()) == before, echo_files())

# Exactly 998 octets, not dotted, with CRLF split from its LF by the 1000th octet.
c = session()
c.send(TXN)
replies(c, 3)
c.send(b"Subject: full\r\n\r\n" + b"f" * 998 + b"\r\n.\r\nQUIT\r\n")
got = replies(c, 2)
check("a 998-octet line is accepted", got[0].startswith("250 2.0.0 ") and got[1].startswith("221 "), got)

# The end CRLF.CRLF split across two TCP segments at every byte, after a
# short line and after a dotted 998-octet line; and sent one byte a segment.
for body in (b"short", b"." + dotted):
    end = b"\r\n.\r\n"
    for i in range(1, len(end)):
        c = session()
        c.send(TXN)
        replies(c, 3)
        c.send(b"Subject: split\r\n\r\n" + body + end[:i])
        time.sleep(0.05)
        c.send(end[i:] + b"NOOP\r\n")
        got = replies(c, 2)
        check("end split after octet %d (%d-octet last line): queued, then NOOP" % (i, len(body)),
              got[0].startswith("250 2.0.0 ") and got[1].startswith("250 2.0.0 "), got)
        c.close()
c = session()
c.send(TXN)
replies(c, 3)
for b in b"Subject: bytes\r\n\r\n." + dotted + b"\r\n.\r\nNOOP\r\n":
    c.send(bytes([b]))
    time.sleep(0.0005)
got = replies(c, 2)
check("the message sent one octet a segment is queued, then NOOP",
      got[0].startswith("250 2.0.0 ") and got[1].startswith("250 2.0.0 "), got)
EOF
done_testing
