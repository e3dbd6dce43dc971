#!/bin/bash
# sluice-smtpd answers a whole pipelined session the same wherever TCP
# splits it: duplicate RCPTs (250, kept once), <postmaster>, Received:
# fields counted for the hop limit (accepted under it, 554 5.4.6 at it), a
# 998-octet dotted line and the end of data, split into two segments at
# every octet outside the long line and at every seventh inside it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf max_received 3
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"

py_checks "$port" "$tmpdir/echo" <<'EOF'
head = (b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<test@example.test>\r\n"
        b"RCPT TO:<test@EXAMPLE.test>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n")
tail = b"\r\n\r\n." + b"z" * 998 + b"\r\n.\r\nQUIT\r\n"
cases = {"2 Received: fields": (b"Received: a\r\nreceived : b", "250"),
         "3 Received: fields": (b"Received: a\r\nReceived: b\r\nRECEIVED: c", "554")}
for name, (hdr, want) in cases.items():
    data = head + hdr + tail
    expect = ["250", "250", "250", "250", "250", "354", want, "221"]
    bad = []
    for i in range(1, len(data)):
        if len(head) + len(hdr) + 8 < i < len(data) - 12 and i % 7:
            continue
        c = Raw()
        c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(data[:i])
        time.sleep(0.002)
        c.send(data[i:])
        got = c.replies(3)
        c.close()
        if got != expect:
            bad.append((i, got))
    check(name + ": the same replies at every split", not bad, bad[:5])
EOF
done_testing
