#!/bin/bash
# sluice-smtpd against malformed and hostile sessions over raw sockets: the
# SMTP smuggling family of bare CR/LF data endings, over-long command and
# text lines, pipelined garbage and the error limit, pipelined transactions,
# and a connection dropped in DATA.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"

# --- SMTP smuggling: only CRLF.CRLF ends DATA ---------------------------------
py_checks "$port" "$tmpdir/echo" <<'EOF'
endings = {"LF.LF": b"\n.\n", "CR.CR": b"\r.\r", "LF.CRLF": b"\n.\r\n",
           "CRLF.LF": b"\r\n.\n", "CRLF.CR": b"\r\n.\r", "CR.CRLF": b"\r.\r\n",
           "LF.CR": b"\n.\r"}
for name, end in endings.items():
    c = Raw()
    r = c.to_data()
    check(name + ": DATA is 354", r.startswith("354 "), r)
    c.send(b"Subject: innocent\r\n\r\nbefore" + end +
           b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n")
    got = c.replies()
    check(name + ": one reply for the whole data, then QUIT: the smuggled commands were never run",
          len(got) == 2 and got[1].startswith("221 "), got)
    check(name + ": the message is refused with 550 5.6.0 (bare CR or LF)",
          got and got[0].startswith("550 5.6.0 "), got)
    check(name + ": nothing was queued", echo_files() == [], echo_files())
# The refused transaction reached the echo backend only as a truncated stream.
smuggled = [f for f in echo_files("trunc") if "smuggled" in read_echo(f)]
check("no stream handed over ever contained the smuggled part", smuggled == [], smuggled)

# Dot-stuffing is undone and redone; a lone "." only ends data after CRLF.
c = Raw()
c.to_data()
c.send(b"Subject: dots\r\n\r\n..\r\n...x\r\n.y\r\n\r\n.\r\n")
r = c.reply()[-1]
check("a message with dot-stuffed lines is queued", r.startswith("250 "), r)
f = echo_files()
t = read_echo(f[0]) if f else ""
check("the client's stuffing is undone, the stream's own redone, and the stream ends with a dot",
      t.endswith("Subject: dots\n\n..\n...x\ny\n\n.\n"), t[-60:])
for x in f:
    os.unlink(os.path.join(ECHO, x))
c.cmd("QUIT")
EOF

# --- line limits -----------------------------------------------------------------
py_checks "$port" "$tmpdir/echo" <<'EOF'
c = Raw()
c.cmd("EHLO client.example.org")
r = c.cmd("NOOP " + "x" * 5000)
check("a command line over 2048 octets is 500 5.5.2", r.startswith("500 5.5.2 "), r)
r = c.cmd("NOOP")
check("and its rest is discarded, not read as a command", r.startswith("250 "), r)
r = c.cmd("MAIL FROM:<alice@example.org> SIZE=100 RET=FULL ENVID=" + "E" * 100)
check("MAIL with DSN parameters may exceed 512 octets' worth of extensions", r.startswith("250 "), r)
r = c.cmd("RCPT TO:<test@example.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" + "o" * 480 + "@example.test")
check("RCPT with a 500-octet ORCPT is accepted (line > 512 octets)", r.startswith("250 "), r)
r = c.cmd("DATA")
c.send(b"Subject: long line\r\n\r\n" + b"y" * 1500 + b"\r\nafter\r\n.\r\n")
r = c.reply()[-1]
check("a text line over 1000 octets refuses the message with 554 5.6.0", r.startswith("554 5.6.0 "), r)
check("nothing was queued", echo_files() == [], echo_files())
c.to_data(ehlo=None)
c.send(b"Subject: limit\r\n\r\n" + b"z" * 998 + b"\r\n.\r\n")
r = c.reply()[-1]
check("a text line of exactly 1000 octets with CRLF is accepted", r.startswith("250 "), r)
f = echo_files()
check("and queued whole", f and ("\n" + "z" * 998 + "\n.\n") in read_echo(f[0]), f)
for x in f:
    os.unlink(os.path.join(ECHO, x))
r = c.cmd("NO\x00OP")
check("a NUL in a command is 500 5.5.2", r.startswith("500 5.5.2 "), r)
c.send(b"NOOP\n")
r = c.reply()[-1]
check("a command ended by a bare LF is still understood", r.startswith("250 "), r)
c.cmd("QUIT")
EOF

# --- pipelining ---------------------------------------------------------------
py_checks "$port" "$tmpdir/echo" <<'EOF'
c = Raw()
c.send(b"EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<test@example.test>\r\n"
       b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
got = [c.reply()[-1][:5] for _ in range(6)]
check("a pipelined group gets its replies in order",
      got == ["250 S", "250 2", "250 2", "550 5", "250 2", "354 E"], got)
# Body, end of data and the next transaction in one write (RFC 2920).
c.send(b"Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<b@example.org>\r\nRCPT TO:<test@example.test>\r\nDATA\r\n")
got = [c.reply()[-1][:3] for _ in range(4)]
check("the commands pipelined after the end of data are all answered", got == ["250", "250", "250", "354"], got)
c.send(b"Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
got = [c.reply()[-1][:3] for _ in range(2)]
check("the second message is queued and QUIT answered", got == ["250", "221"], got)
f = echo_files()
check("both pipelined transactions reached the queue program", len(f) == 2, f)
for x in f:
    os.unlink(os.path.join(ECHO, x))

# Garbage, pipelined: each line gets its own 500; the session survives it.
c = Raw()
c.send(b"".join(b"GARBAGE %d\r\n" % i for i in range(5)) + b"\x16\x03\x01\x02\r\nNOOP\r\n")
got = [c.reply()[-1][:3] for _ in range(7)]
check("pipelined garbage is answered 500 line by line", got == ["500"] * 6 + ["250"], got)
c.close()
c = Raw()
c.send(b"".join(b"GET /%d HTTP/1.0\r\n" % i for i in range(25)))
got = c.replies(9)
check("after 20 errors the server says 421 4.7.0 and hangs up",
      got == ["500 5.5.2"] * 20 + ["421 4.7.0"], got)
EOF

# --- a connection dropped in DATA -------------------------------------------------
py_checks "$port" "$tmpdir/echo" <<'EOF'
for f in echo_files("trunc"):
    os.unlink(os.path.join(ECHO, f))
c = Raw()
c.to_data("a@example.org")
# More than the 64 KB write buffer: the body streams through as it arrives.
c.send(b"Subject: dropped\r\n\r\n" + b"partial line\r\n" * 15000 + b"no end")
c.s.shutdown(socket.SHUT_RDWR)
c.close()
check("the queue program saw a truncated stream (and exits 111)", wait_files(1, "trunc"), os.listdir(ECHO))
t = read_echo(echo_files("trunc")[0]) if echo_files("trunc") else ""
check("it was this message, streamed before the end of data", "Subject: dropped" in t and 65536 <= len(t) < 15000 * 13, (len(t), t[:200]))
check("it did not end with the final dot", not t.endswith("\n.\n"), t[-40:])
check("nothing was queued", echo_files() == [], echo_files())
EOF

done_testing
