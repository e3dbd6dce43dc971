#!/bin/bash
# Malformed and hostile sessions end to end, with the real queue: tcpserver +
# sluice-smtpd + sluice-enqueue, then sluice-runq -1 with the default chain
# into Maildirs.  The SMTP smuggling endings, over-long command and text
# lines, a message over the size limit, pipelined garbage, the error limit and
# connections dropped in DATA are each answered as man/sluice-smtpd.8 says,
# and nothing of a broken transaction is queued or delivered, while a
# well-formed message sent in the same session after the error is.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"      # py_checks and its Raw client
. "$(dirname "$0")/e2e.sh"

# No tarpit: the sessions below make errors on purpose, 20 in one of them.
e2e_setup message_size_limit 100k smtpd_error_delay 0
e2e_smtpd port

# A prelude for every script below: what is in the queue, by marker.
helpers=$(cat <<'EOF'
SPOOL = os.environ["SLUICE_SPOOL"]
def queued(folder="incoming"):
    """The X-Marker of every file in the spool folder (and the file names)."""
    d = os.path.join(SPOOL, folder)
    out = []
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        t = open(os.path.join(d, f), "rb").read().decode("latin-1")
        m = re.findall(r"(?m)^X-Marker: (\S+)$", t)
        out.append((m, f, t))
    return out
def markers(folder="incoming"):
    return sorted(m for ms, f, t in queued(folder) for m in ms)
def good(c, marker, rcpt="test@example.test"):
    """A well-formed transaction on c, one command at a time; the replies."""
    got = [c.cmd("MAIL FROM:<s@example.org>")[:3], c.cmd("RCPT TO:<%s>" % rcpt)[:3], c.cmd("DATA")[:3]]
    c.send(("Subject: %s\r\nX-Marker: %s\r\n\r\nwell-formed %s\r\n.\r\n" % (marker, marker, marker)).encode())
    got.append(c.reply()[-1][:3])
    return got
EOF
)
# (not a pipe into py_checks: its ok calls must run in this shell, to count)
checks() {
    { printf '%s\n' "$helpers"; cat; } > "$tmpdir/checks.py"
    py_checks "$port" "$spool" < "$tmpdir/checks.py"
}

# --- SMTP smuggling: only CRLF.CRLF ends DATA -----------------------------------
checks <<'EOF'
endings = {"LF.LF": b"\n.\n", "CR.CR": b"\r.\r", "LF.CRLF": b"\n.\r\n", "CRLF.LF": b"\r\n.\n",
           "CRLF.CR": b"\r\n.\r", "CR.CRLF": b"\r.\r\n"}
for name, end in endings.items():
    before = markers()
    c = Raw()
    r = c.to_data()
    check(name + ": DATA is 354", r.startswith("354 "), r)
    c.send(b"Subject: innocent\r\nX-Marker: outer-" + name.encode() + b"\r\n\r\nbefore" + end +
           b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           b"X-Marker: smuggled-" + name.encode() + b"\r\n\r\nsmuggled\r\n.\r\n")
    r = c.reply()[-1]
    check(name + ": one reply for the whole data, 550 5.6.0 (bare CR or LF)", r.startswith("550 5.6.0 "), r)
    check(name + ": nothing of it is in the queue", markers() == before and queued("tmp") == [],
          (markers(), queued("tmp")))
    got = good(c, "after-" + name)
    check(name + ": a well-formed message afterwards in the same session is accepted",
          got == ["250", "250", "354", "250"], got)
    check(name + ": and it alone is queued", markers() == sorted(before + ["after-" + name]), markers())
    r = c.cmd("QUIT")
    check(name + ": QUIT is 221: the smuggled commands were never run", r.startswith("221 "), r)
    # Leave the accepted message; the runner delivers them all at the end.
check("no queued file contains the smuggled text",
      [f for ms, f, t in queued() if "smuggled" in t] == [], markers())
EOF

# --- over-long command and text lines, too big a message -----------------------
checks <<'EOF'
before = markers()
c = Raw()
c.cmd("EHLO client.example.org")
r = c.cmd("MAIL FROM:<s@example.org> " + "X" * 3000)
check("a MAIL line over 2048 octets is 500 5.5.2", r.startswith("500 5.5.2 "), r)
r = c.cmd("RCPT TO:<test@example.test>")
check("it started no transaction: RCPT is 503 5.5.1", r.startswith("503 5.5.1 "), r)
r = c.cmd("NOOP " + "y" * 100000)
check("a 100 KB command line is 500 5.5.2, and the session goes on", r.startswith("500 5.5.2 "), r)
got = good(c, "after-long-command")
check("a well-formed message after them is accepted", got == ["250", "250", "354", "250"], got)

c.to_data("s@example.org", ehlo=None)
c.send(b"X-Marker: bad-long-line\r\n\r\nshort\r\n" + b"z" * 1500 + b"\r\nafter\r\n.\r\n")
r = c.reply()[-1]
check("a text line over 1000 octets is 554 5.6.0 after the data", r.startswith("554 5.6.0 "), r)
c.to_data("s@example.org", ehlo=None)
c.send(b"X-Marker: bad-too-big\r\n\r\n" + (b"w" * 998 + b"\r\n") * 150 + b".\r\n")
r = c.reply()[-1]
check("a message over message_size_limit (100k) is 552 5.3.4 after the data", r.startswith("552 5.3.4 "), r)
got = good(c, "after-long-line")
check("a well-formed message after them is accepted", got == ["250", "250", "354", "250"], got)
c.cmd("QUIT")
check("only the two well-formed messages were queued",
      markers() == sorted(before + ["after-long-command", "after-long-line"]), markers())
check("no tmp/ file is left", queued("tmp") == [], queued("tmp"))
EOF

# --- pipelined garbage, a pipelined refused transaction, the error limit ------------
checks <<'EOF'
before = markers()
c = Raw()
c.send(b"EHLO client.example.org\r\nGARBAGE 1\r\nMAIL FROM:<s@example.org>\r\n\x16\x03\x01\x02\r\n"
       b"RCPT TO:<test@example.test>\r\nXYZZY\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
got = [c.reply()[-1][:9] for _ in range(8)]
check("pipelined garbage among a transaction's commands is 500 5.5.2, the rest answered in order",
      [g[:3] for g in got] == ["250", "500", "250", "500", "250", "500", "250", "354"] and
      got[1] == got[3] == got[5] == "500 5.5.2", got)
c.send(b"Subject: piped\r\nX-Marker: piped-after-garbage\r\n\r\nfor two\r\n.\r\n"
       b"MAIL FROM:<s@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n"
       b"X-Marker: bad-blind-data\r\n\r\nno\r\n.\r\nQUIT\r\n")
got = c.replies(9)
check("the garbage did not break the transaction: 250, then the pipelined MAIL 250, "
      "the RCPT to relay 554 5.7.1, DATA with no recipient 503 5.5.1",
      got[:4] == ["250 2.0.0", "250 2.1.0", "554 5.7.1", "503 5.5.1"], got)
check("the lines sent blind after the refused DATA are commands: 500s, then 221",
      got[4:] == ["500 5.5.2"] * 4 + ["221 2.0.0"], got)
check("the message after the garbage is queued once, with both recipients",
      markers() == sorted(before + ["piped-after-garbage"]) and
      [t for ms, f, t in queued() if ms == ["piped-after-garbage"]][0].count("RCPT TO:") == 2, markers())
c = Raw()
c.send(b"EHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<test@example.test>\r\n" +
       b"".join(b"GET /%d HTTP/1.0\r\n" % i for i in range(25)) +
       b"DATA\r\nX-Marker: bad-after-421\r\n\r\nx\r\n.\r\n")
got = c.replies(9)
check("after 20 errors: 421 4.7.0 and the connection closes, DATA never read",
      got[3:] == ["500 5.5.2"] * 20 + ["421 4.7.0"], got)
check("nothing more is queued", markers() == sorted(before + ["piped-after-garbage"]), markers())
EOF

# --- connections dropped in DATA ------------------------------------------------
# Each one: the queue file gets a stream without its final dot (or nothing),
# and nothing may be committed.  Wait for sluice-smtpd to log the lost connection
# (it has then waited for the queue program), then look at the spool.
before=$(ls "$spool/incoming" | wc -l)
lost=$(grep -c 'event=lost_connection in=data' "$tmpdir/smtpd.log")
checks <<'EOF'
drops = [
    ("right after DATA", b""),
    ("in the header", b"X-Marker: bad-drop-header\r\nSubject: dro"),
    ("after 200 KB of body", b"X-Marker: bad-drop-big\r\n\r\n" + b"partial line\r\n" * 15000),
    ("after CRLF. without its CRLF", b"X-Marker: bad-drop-dot\r\n\r\nalmost\r\n."),
    ("after a smuggled LF.LF", b"X-Marker: bad-drop-lf\r\n\r\nalmost\n.\n"),
]
for name, data in drops:
    c = Raw()
    c.to_data("s@example.org")
    c.send(data)
    c.s.shutdown(socket.SHUT_WR)
    check("dropped " + name + ": no reply, the connection closes", c.closed() and c.buf == b"", c.buf)
    c.close()
EOF
wait_for "[ \$(grep -c 'event=lost_connection in=data' '$tmpdir/smtpd.log') -ge $((lost + 5)) ]" 20
ok $? "sluice-smtpd logs each lost connection in DATA"
wait_for "[ -z \"\$(cat /proc/$e2e_tcpserver/task/$e2e_tcpserver/children 2>/dev/null)\" ]" 20
ok $? "every session has ended"
# The 200 KB body went past sluice-smtpd's write buffer into its queue file
# (it writes the queue itself, sluice-smtpd(8), "The queue"), which went with
# the connection.
is "$(grep -rl 'bad-drop-big' "$spool/tmp" "$spool/incoming" 2>/dev/null)" "" \
    "the queue file of the body cut after 200 KB is removed"
is "$(ls "$spool/incoming" | wc -l)" "$before" "nothing of a dropped transaction is queued"
is "$(find "$spool/tmp" -type f | wc -l)" 0 "and nothing is left in tmp/"

# --- deliver, and look ---------------------------------------------------------
e2e_runonce
is "$?" 0 "sluice-runq -1 runs the default chain"
is "$(e2e_queued)" 0 "the queue is empty"
exp="after-CR.CR after-CR.CRLF after-CRLF.CR after-CRLF.LF after-LF.CRLF after-LF.LF after-long-command after-long-line piped-after-garbage"
is "$(e2e_markers "$mail/box" | sort | tr '\n' ' ')" "$exp " \
    "the well-formed messages are delivered, once each, and nothing else"
is "$(e2e_markers "$mail/bob" | tr '\n' ' ')" "piped-after-garbage " \
    "bob gets only the pipelined message he was a recipient of, not a smuggled one"
is "$(grep -rlE 'smuggled|^X-Marker: (bad|outer)-' "$mail" | head -3)" "" \
    "no smuggled, refused or dropped text reached a mailbox"
is "$(e2e_leftovers | head -3)" "" "nothing in bad/, dead/, quarantine/ or a Maildir's tmp/"
done_testing
