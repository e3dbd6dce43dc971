#!/bin/bash
# sluice-smtpd answers from the queue program's exit status: 0 → 250,
# 100 → 554, 111 / other / killed → 451, an enhanced status code at the start
# of the reason passed on when its class fits; a queue program that cannot
# start → 451 before 354.  Also the two socketless ways to run it: a plain
# pipe (swaks --pipe) and inetd (the peer from getpeername on fd 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf

# send PORT — one message by smtplib; prints the DATA reply "CODE TEXT".
send() {
    "$PY" - "$1" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example.org")
s.mail("a@example.org")
s.rcpt("test@example.test")
code, text = s.data(b"Subject: exit\r\n\r\nbody\r\n")
print(code, text.decode())
s.quit()
EOF
}

i=0
while IFS='|' read -r exit reason expect name; do
    i=$((i + 1))
    smtpd_start p "$tmpdir/conf" "$tmpdir/echo$i" ECHO_EXIT="$exit" ECHO_REASON="$reason"
    got=$(send "$p" 2>&1)
    like "$got" "$expect" "$name"
done <<'EOF'
0||^250 2\.0\.0 Ok: queued as [0-9a-f]{21}$|exit 0 is 250 2.0.0 with the queue id
100||^554 5\.3\.0 |exit 100 is 554 5.3.0
100|5.7.1 Message content rejected|^554 5\.7\.1 Message content rejected$|exit 100 passes on the reason's 5.7.1 code and text
111||^451 4\.3\.0 |exit 111 is 451 4.3.0
111|4.2.2 Mailbox full|^451 4\.2\.2 Mailbox full$|exit 111 passes on the reason's 4.2.2 code and text
111|5.7.1 wrong class|^451 4\.3\.0 |a 5.x.x reason with exit 111 is not passed on: 451 4.3.0
100|no code here|^554 5\.3\.0 Message refused$|a reason without a code is not shown to the client
1||^451 4\.3\.0 |any other exit status is temporary: 451 4.3.0
kill||^451 4\.3\.0 |a queue program killed by a signal is 451 4.3.0
EOF

# The queue id in the reply is the one handed over in XFORWARD IDENT.
qid=$(grep -l . "$tmpdir"/echo1/*.msg 2>/dev/null | head -1 | xargs sed -n '1s/.*IDENT=\([0-9a-f]*\).*/\1/p')
like "$qid" '^[0-9a-f]{21}$' "the stream carries XFORWARD IDENT"
like "$(cat "$tmpdir"/tcpserver-*.log)" "qid=$qid client=127\\.0\\.0\\.1 from=<a@example\\.org> nrcpt=1 " \
    "sluice-smtpd logs the transaction with the same qid"
like "$(cat "$tmpdir"/tcpserver-*.log)" "queue-echo: fatal: 5\\.7\\.1 Message content rejected" \
    "the queue program's stderr is copied to the log"

# A queue program that cannot be started: 451 instead of 354.
smtpd_start p "$tmpdir/conf" "$tmpdir/echo-missing" SLUICE_QUEUE=/nonexistent/sluice-enqueue
got=$("$PY" - "$p" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example.org")
s.mail("a@example.org")
s.rcpt("test@example.test")
print(*s.docmd("DATA"))
s.quit()
EOF
)
like "$got" "^451 b'4\\.3\\.0 " "a queue program that cannot start is 451 4.3.0 at DATA, with no 354"

# One that is there but cannot be run (exec fails: not a program): it is
# started after the 354, so the message is read and refused at its end,
# and the session goes on.
printf 'not a program\n' > "$tmpdir/not-a-program"
chmod 755 "$tmpdir/not-a-program"
smtpd_start p "$tmpdir/conf" "$tmpdir/echo-noexec" SLUICE_QUEUE="$tmpdir/not-a-program"
got=$("$PY" - "$p" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example.org")
for i in (1, 2):
    s.mail("a@example.org")
    s.rcpt("test@example.test")
    print(*s.docmd("DATA"))
    s.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    print(*s.getreply())
print(*s.docmd("NOOP"))
s.quit()
EOF
)
is "$(echo "$got" | cut -c1-3 | tr '\n' ' ')" "354 451 354 451 250 " \
    "a queue program that cannot be run: 354, then 451 after the message, twice; the session goes on"
like "$(echo "$got" | sed -n 2p)" "^451 b'4\\.3\\.0 Could not start the queue program'" "(451 4.3.0, why)"
like "$(cat "$tmpdir"/tcpserver-*.log)" "unable to start the queue program: Exec format error" \
    "the log says why"
like "$(cat "$tmpdir"/tcpserver-*.log)" "nrcpt=1 size=[0-9]+ proto=ESMTP queue_status=none reply=451" \
    "and logs the refused transaction"

# --- no socket: a plain pipe --------------------------------------------------
mkdir -p "$tmpdir/echo-pipe"
out=$(SLUICE_CONF="$tmpdir/conf" ECHO_DIR="$tmpdir/echo-pipe" SLUICE_QUEUE="$top/t/queue-echo.sh" \
    swaks --pipe "$top/libexec/sluice-smtpd" --to test@example.test --from a@example.org 2>&1)
like "$out" '<- +250 2\.0\.0 Ok: queued as' "on a pipe (swaks --pipe) a message is queued"
like "$(cat "$tmpdir"/echo-pipe/*.msg 2>/dev/null)" $'^XFORWARD ADDR=127\\.0\\.0\\.1 PROTO=ESMTP HELO=[^ ]+ IDENT=[0-9a-f]{21}\n' \
    "a session on a pipe counts as 127.0.0.1, with no port"
out=$(printf 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' |
    SLUICE_CONF="$tmpdir/conf" sluice-smtpd 2>/dev/null)
like "$out" $'554 5\\.7\\.1 Relay access denied\r\n221 ' "a session on a pipe may not relay without RELAYCLIENT"

# --- inetd: the peer comes from getpeername on fd 0 ------------------------------
mkdir -p "$tmpdir/echo-inetd"
got=$(env -u TCPREMOTEIP SLUICE_CONF="$tmpdir/conf" ECHO_DIR="$tmpdir/echo-inetd" \
    SLUICE_QUEUE="$top/t/queue-echo.sh" "$PY" - "$top/libexec/sluice-smtpd" <<'EOF'
import smtplib, socket, subprocess, sys, threading
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
port = ls.getsockname()[1]
result = []
def client():
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    result.append(s.sock.getsockname()[1])
    s.sendmail("a@example.org", ["test@example.test"], b"Subject: inetd\r\n\r\nx\r\n")
    s.quit()
t = threading.Thread(target=client)
t.start()
conn, _ = ls.accept()
p = subprocess.run([sys.argv[1]], stdin=conn, stdout=conn, stderr=subprocess.DEVNULL, timeout=60)
conn.close()
t.join(60)
print(result[0] if result else "no-client")
EOF
)
like "$(cat "$tmpdir"/echo-inetd/*.msg 2>/dev/null)" "^XFORWARD ADDR=127\\.0\\.0\\.1 PORT=$got PROTO=ESMTP " \
    "under inetd the client's address and port come from the socket"

# Under inetd standard error is the socket too: log lines must not reach the
# client (they go to syslog instead).
mkdir -p "$tmpdir/echo-inetd2"
transcript=$(env -u TCPREMOTEIP SLUICE_CONF="$tmpdir/conf" ECHO_DIR="$tmpdir/echo-inetd2" \
    SLUICE_QUEUE="$top/t/queue-echo.sh" "$PY" - "$top/libexec/sluice-smtpd" <<'EOF'
import socket, subprocess, sys, threading
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
out = []
def client():
    c = socket.create_connection(ls.getsockname(), timeout=30)
    c.sendall(b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.test>\r\n"
              b"RCPT TO:<test@example.test>\r\nDATA\r\n")
    data = b""
    while b"354" not in data:
        data += c.recv(4096)
    c.sendall(b"Subject: x\r\n\r\nx\r\n.\r\nQUIT\r\n")
    while True:
        b = c.recv(4096)
        if not b:
            break
        data += b
    out.append(data)
t = threading.Thread(target=client)
t.start()
conn, _ = ls.accept()
subprocess.run([sys.argv[1]], stdin=conn, stdout=conn, stderr=conn, timeout=60)
conn.close()
t.join(60)
sys.stdout.write(out[0].decode("latin-1") if out else "no-client")
EOF
)
like "$transcript" '250 2\.0\.0 Ok: queued as' "under inetd with stderr on the socket the message is queued"
unlike "$transcript" 'sluice-' "and no log line reaches the client"

# --- the real queue: sluice-enqueue keeps the queue id smtpd made --------------
# sluice-enqueue is part of the tree (make builds it): a missing one fails.
ok_run "libexec/sluice-enqueue is built" test -x "$top/libexec/sluice-enqueue"
smtpd_start p "$tmpdir/conf" "$tmpdir/echo-real" SLUICE_QUEUE=sluice-enqueue \
    SLUICE_LIBEXEC="$top/libexec" SLUICE_SPOOL="$tmpdir/spool"
got=$(send "$p" 2>&1)
like "$got" '^250 2\.0\.0 Ok: queued as [0-9a-f]{21}$' "with sluice-enqueue as the queue program the message is queued"
qid=${got##* }
ok_run "the queue file is named by the queue id in the reply" test -f "$tmpdir/spool/incoming/$qid"
like "$(head -n 1 "$tmpdir/spool/incoming/$qid" 2>/dev/null)" "IDENT=$qid" "and carries it as XFORWARD IDENT"

done_testing
