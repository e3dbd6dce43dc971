#!/bin/bash
# sluice-smtpd starts the queue program when a transaction has its first
# recipient and the server waits for the client's next command, so that
# the program's start overlaps the client's way to DATA (Postfix opens
# its cleanup stream at the first recipient too).  Once per transaction;
# a transaction that ends without DATA (RSET, HELO, QUIT, a dropped
# connection) closes the program's input empty, which is no transaction:
# nothing is queued, and the program is waited for; the session's later
# transactions then start theirs at DATA (a client looping MAIL, RCPT,
# RSET costs no exec per loop).  No recipient, no program.  A program that failed at its start is answered at the end of
# the message, with its reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf conf
starts=$tmpdir/starts
: > "$starts"
smtpd_start p "$tmpdir/conf" "$tmpdir/echo" ECHO_STARTS="$starts"

# session LINE... — one connection; each argument is sent as one command
# (or, with "|" in it, as one write of the commands between them); after
# each, the reply.  "WAIT" waits until the queue program has started;
# "NOWAIT" waits 0.5 s and says whether one more has not.
# Prints the replies' codes, space-separated.
session() {
    "$PY" - "$p" "$starts" "$@" <<'EOF'
import socket, sys, time
port, starts, cmds = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l:
            return "EOF"
        if l[3:4] != b"-":
            return l[:3].decode()
codes = [reply()]
for c in cmds:
    if c == "NOWAIT":
        n0 = open(starts).read().count(" start")
        time.sleep(0.5)
        codes.append("not-started" if open(starts).read().count(" start") == n0 else "started")
        continue
    if c == "WAIT":
        for _ in range(500):
            if " start" in open(starts).read():
                break
            time.sleep(0.01)
        codes.append("started" if " start" in open(starts).read() else "not-started")
        continue
    if c == "BODY":
        s.sendall(b"Subject: t\r\n\r\nbody\r\n.\r\n")
        codes.append(reply())
        continue
    parts = c.split("|")
    s.sendall("".join(x + "\r\n" for x in parts).encode())
    for _ in parts:
        codes.append(reply())
print(" ".join(codes))
EOF
}
nstart() { grep -c ' start$' "$starts"; }
ends() { grep ' end ' "$starts" | cut -d ' ' -f 3 | tr '\n' ' '; }
gone() {	# gone — every queue program recorded has exited
    local pid
    for pid in $(cut -d ' ' -f 1 "$starts" | sort -u); do
        kill -0 "$pid" 2>/dev/null && return 1
    done
    return 0
}

# ---- started at the first recipient, used for the message ----
got=$(session "EHLO c.example.org" "MAIL FROM:<a@example.org>" "RCPT TO:<test@example.test>" \
    WAIT "DATA" BODY "QUIT")
is "$got" "220 250 250 250 started 354 250 221" \
    "the queue program starts after the first RCPT's 250, before DATA is sent"
is "$(nstart)" 1 "one program for the transaction"
wait_for "gone" 10 || true
like "$(ends)" '^[0-9]+ $' "it got the message"
is "$(echo_count "$tmpdir/echo")" 1 "which is queued"

# ---- RSET after RCPT: its input closed empty, nothing queued ----
: > "$starts"
got=$(session "EHLO c.example.org" "MAIL FROM:<a@example.org>" "RCPT TO:<test@example.test>" \
    WAIT "RSET" "MAIL FROM:<a@example.org>" "RCPT TO:<bob@example.test>" NOWAIT "DATA" BODY "QUIT")
is "$got" "220 250 250 250 started 250 250 250 not-started 354 250 221" \
    "RSET after RCPT is answered 250; the next transaction's program starts at DATA"
is "$(nstart)" 2 "two programs: one per transaction"
wait_for "gone" 10 || true
is "$(ends)" "0 $(grep ' end ' "$starts" | tail -1 | cut -d ' ' -f 3) " "the first got no input at all"
is "$(echo_count "$tmpdir/echo")" 2 "one more message queued, not two"
ok "$(gone; echo $?)" "both have exited"

# ---- HELO and QUIT after RCPT, a dropped connection ----
for end in "HELO c.example.org" "QUIT" "DROP"; do
    : > "$starts"
    n0=$(echo_count "$tmpdir/echo")
    if [ "$end" = DROP ]; then
        session "EHLO c.example.org" "MAIL FROM:<a@example.org>" "RCPT TO:<test@example.test>" WAIT >/dev/null
    else
        session "EHLO c.example.org" "MAIL FROM:<a@example.org>" "RCPT TO:<test@example.test>" WAIT \
            "$end" >/dev/null
    fi
    wait_for "gone && grep -q ' end ' '$starts'" 10
    is "$(nstart) $(ends)" "1 0 " "$end after RCPT: the program got no input"
    is "$(echo_count "$tmpdir/echo")" "$n0" "$end after RCPT: nothing queued"
    ok "$(gone; echo $?)" "$end after RCPT: the program has exited"
done

# ---- a client looping MAIL, RCPT, RSET: one program, not one a loop ----
: > "$starts"
loop=()
for ((i = 0; i < 20; i++)); do loop+=("MAIL FROM:<a@example.org>" "RCPT TO:<test@example.test>" RSET); done
session "EHLO c.example.org" "${loop[@]}" "QUIT" > /dev/null
wait_for "gone" 10
is "$(nstart)" 1 "20 loops of MAIL, RCPT, RSET in one session start one program"

# ---- no accepted recipient, no program ----
: > "$starts"
got=$(session "EHLO c.example.org" "MAIL FROM:<a@example.org>" "RCPT TO:<nobody@elsewhere.test>" \
    "RCPT TO:<bad address>" "NOOP" "RSET" "QUIT")
like "$got" '^220 250 250 5[0-9][0-9] 5[0-9][0-9] 250 250 221$' "refused recipients only"
sleep 0.3
is "$(nstart)" 0 "start no queue program"

# ---- pipelined, DATA in the same write as RCPT: one program ----
: > "$starts"
n0=$(echo_count "$tmpdir/echo")
got=$(session "EHLO c.example.org" "MAIL FROM:<a@example.org>|RCPT TO:<test@example.test>|RCPT TO:<bob@example.test>|DATA" \
    BODY "QUIT")
is "$got" "220 250 250 250 250 354 250 221" "MAIL, two RCPTs and DATA in one write"
is "$(nstart)" 1 "one program"
is "$(( $(echo_count "$tmpdir/echo") - n0 ))" 1 "one message queued"

# ---- a program that failed at its start: the answer after the message ----
cat > "$tmpdir/failq" <<'EOS'
#!/bin/sh
echo "failq: fatal: 4.3.5 the queue is misconfigured" >&2
exit 111
EOS
chmod 755 "$tmpdir/failq"
smtpd_start p2 "$tmpdir/conf" "$tmpdir/echo2" SLUICE_QUEUE="$tmpdir/failq"
p=$p2
got=$(session "EHLO c.example.org" "MAIL FROM:<a@example.org>" "RCPT TO:<test@example.test>" \
    "NOOP" "DATA" BODY "NOOP" "QUIT")
is "$got" "220 250 250 250 250 354 451 250 221" \
    "a queue program that failed when started early: 354, the message, then 451"
like "$(cat "$tmpdir"/tcpserver-"$p2".log)" "qid=[0-9a-f]+ .*queue_status=111 reply=451" "logged with its status"
like "$(cat "$tmpdir"/tcpserver-"$p2".log)" "failq: fatal: 4\\.3\\.5 the queue is misconfigured" \
    "and its reason"
done_testing
