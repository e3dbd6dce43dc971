#!/bin/bash
# A client cannot hold sluice-smtpd for ever, nor lock others out: a
# session ends with 421 4.4.2 at smtpd_session_time_limit and DATA at
# smtpd_data_time_limit however steadily the client trickles bytes (its
# message is not accepted); refused recipients (5xx to RCPT) count toward
# the error limit of 20; and a client address has at most
# smtpd_client_connection_limit sessions at once (421 4.7.0 for one more),
# counted with lock files in the spool, while another address is served
# and a slot freed is taken again.  Relay clients are not counted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf smtpd_timeout 5s smtpd_session_time_limit 4s smtpd_client_connection_limit 3
smtpd_start port "$tmpdir/conf" "$tmpdir/echo"
smtpd_conf dconf smtpd_timeout 5s smtpd_data_time_limit 3s
smtpd_start dport "$tmpdir/dconf" "$tmpdir/decho"

checks=$(cat <<'EOF'
def trickle(c, data, delay):
    """Send one octet every delay seconds; the reply, or why there is none."""
    c.s.settimeout(0.01)
    try:
        for b in data:
            c.send(bytes([b]))
            time.sleep(delay)
            try:
                d = c.s.recv(4096)
                if not d:
                    return "closed"
                c.buf += d
                if b"\r\n" in c.buf:
                    break
            except socket.timeout:
                pass
    except OSError as e:
        return "error %s" % e
    c.s.settimeout(30)
    try:
        return c.reply()[-1]
    except (EOFError, OSError) as e:
        return "closed: %s" % e
LIMIT = os.environ["LIMIT"]
c = Raw()
c.cmd("EHLO client.example.org")
c.cmd("MAIL FROM:<alice@example.org>")
c.cmd("RCPT TO:<test@example.test>")
c.cmd("DATA")
t0 = time.time()
r = trickle(c, b"Subject: slow\r\n\r\none octet a second\r\n.\r\n", 0.5)
took = time.time() - t0
check(LIMIT + ": a client trickling one octet each half second gets 421 4.4.2", r.startswith("421 4.4.2 "), r)
check(LIMIT + ": at the limit, not at the end of its message (%.1f s)" % took, took < 8, took)
check(LIMIT + ": the connection is closed", c.closed(10))
time.sleep(0.5)
check(LIMIT + ": its message was not accepted", echo_files() == [], echo_files())
EOF
)
LIMIT="session time limit" py_checks "$port" "$tmpdir/echo" <<<"$checks"
LIMIT="DATA time limit" py_checks "$dport" "$tmpdir/decho" <<<"$checks"
like "$(cat "$tmpdir/tcpserver-$port.log")" 'event=time_limit in=data' "the time limit is logged"

# A session that trickles commands is cut at the session limit too.
py_checks "$port" "$tmpdir/echo" <<'EOF'
c = Raw()
t0 = time.time()
got = []
try:
    for i in range(20):
        got.append(c.cmd("NOOP"))
        time.sleep(1)
except (EOFError, OSError) as e:
    got.append("closed")
took = time.time() - t0
check("a NOOP every second is cut off at the session limit with 421 4.4.2",
      any(g.startswith("421 4.4.2 ") for g in got) and took < 8, (took, got[-3:]))
EOF

# Address guessing: the 20th refused recipient ends the session.
py_checks "$dport" "$tmpdir/decho" <<'EOF'
c = Raw()
c.cmd("EHLO client.example.org")
c.cmd("MAIL FROM:<alice@example.org>")
got = []
try:
    for i in range(40):
        got.append(c.cmd("RCPT TO:<guess%d@example.test>" % i))
except (EOFError, OSError):
    pass
check("19 guesses are answered 550", all(g.startswith("550 5.1.1 ") for g in got[:19]), got[:19])
check("the 20th is answered 550, then comes 421 4.7.0 and the end",
      len(got) == 21 and got[19].startswith("550 ") and got[20].startswith("421 4.7.0 ")
      and c.closed(5), got[18:])
c = Raw()
c.cmd("EHLO client.example.org")
c.cmd("MAIL FROM:<alice@example.org>")
got = []
try:
    for i in range(40):
        got.append(c.cmd("RCPT TO:<x%d@elsewhere.example>" % i))
except (EOFError, OSError):
    pass
check("relay attempts (554) count the same way",
      len(got) == 21 and got[20].startswith("421 4.7.0 "), got[18:])
EOF

# Concurrent sessions per client address (limit 3).
CONF=$tmpdir/conf py_checks "$port" "$tmpdir/echo" <<'EOF'
def conn(src="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10, source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.s, c.buf = s, b""
    c.banner = c.reply()
    return c
held = [conn() for i in range(3)]
check("three sessions from 127.0.0.1 are served", all(c.banner[-1].startswith("220 ") for c in held),
      [c.banner for c in held])
extra = conn()
check("a fourth from 127.0.0.1 gets 421 4.7.0", extra.banner[-1].startswith("421 4.7.0 "), extra.banner)
check("and is closed", extra.closed(5))
other = conn("127.0.0.2")
check("127.0.0.2 is served meanwhile", other.banner[-1].startswith("220 "), other.banner)
other.cmd("QUIT")
held[0].cmd("QUIT")
held[0].closed(5)
time.sleep(0.2)
again = conn()
check("once one ends, 127.0.0.1 is served again", again.banner[-1].startswith("220 "), again.banner)
again.cmd("QUIT")
for c in held[1:]:
    c.close()
time.sleep(0.5)
files = os.listdir(os.path.join(os.environ["CONF"], "spool", "smtpd"))
check("the slot files go with their sessions", files == [], files)
EOF

# The slots are plain flock(2)ed files: three held by another process
# fill 192.0.2.9's slots; a relay client from there is not counted.
mkdir -p "$tmpdir/conf/spool/smtpd"
"$PY" -c 'import fcntl, sys, time
fs = [open("%s/192.0.2.9.%d" % (sys.argv[1], i), "w") for i in range(3)]
for f in fs: fcntl.flock(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(30)' "$tmpdir/conf/spool/smtpd" > "$tmpdir/held" &
holder=$!
at_exit "kill $holder"
wait_for "grep -q held '$tmpdir/held'" 10
out=$(printf 'QUIT\r\n' | SLUICE_CONF=$tmpdir/conf TCPREMOTEIP=192.0.2.9 sluice-smtpd 2>/dev/null)
like "$out" '^421 4\.7\.0 ' "slots held by another process count"
out=$(printf 'QUIT\r\n' | SLUICE_CONF=$tmpdir/conf TCPREMOTEIP=192.0.2.9 RELAYCLIENT= sluice-smtpd 2>/dev/null)
like "$out" '^220 ' "a relay client is not counted"
done_testing
