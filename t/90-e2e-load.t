#!/bin/bash
# End to end under load: real clients (Postfix's smtp-source, swaks, Python
# smtplib) → tcpserver + sluice-smtpd → sluice-enqueue → sluice-runq running
# the default chain (sluice-envelope | sluice-local) → Maildirs.  Every message
# answered 250 is delivered exactly once, whole, and the queue ends empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e.sh"

e2e_setup
e2e_smtpd port
e2e_runq rq

# wait_delivered DIR N — until DIR/new holds N files and the queue is empty.
wait_delivered() {
    wait_for "[ \$(ls '$1/new' 2>/dev/null | wc -l) -ge $2 ] && [ \$(e2e_queued) = 0 ]" 120
}

# --- 1000 messages from smtp-source, 10 sessions --------------------------------
# -N puts a sequence number before each recipient (1test@, 2test@, ...), which
# the catch-all @example.test takes: the number is the message's marker, and
# sluice-local writes it into Delivered-To.
N=1000
t0=$(date +%s)
out=$(/usr/sbin/smtp-source -N -s 10 -m $N -l 5120 -f a@example.test \
    -t test@example.test "127.0.0.1:$port" 2>&1)
ok $? "smtp-source sends $N messages over 10 sessions"
[ -z "$out" ] || diag "smtp-source said: $out"
wait_delivered "$mail/box" $N
ok $? "all are delivered within 120 s (took $(($(date +%s) - t0)) s)"
is "$(grep -c 'sluice-smtpd: qid=.* reply=250$' "$tmpdir/smtpd.log")" $N \
    "sluice-smtpd answered 250 to each of them"
is "$(ls "$mail/box/new" | wc -l)" $N "$N files in the Maildir"
e2e_markers "$mail/box" Delivered-To | sed 's/test@example\.test$//' | sort > "$tmpdir/got"
is "$(sort -u "$tmpdir/got" | wc -l)" $N "$N distinct markers"
is "$(uniq -d "$tmpdir/got" | head -3 | tr '\n' ' ')" "" "no marker delivered twice"
seq 1 $N | sort > "$tmpdir/exp"
is "$(comm -3 "$tmpdir/exp" "$tmpdir/got" | head -3 | tr '\n' ' ')" "" "exactly the markers 1..$N"
# The queue ids in smtpd's replies are the ids in the delivered Received: fields.
sed -n 's/^sluice-smtpd: qid=\([0-9a-f]*\) .* reply=250$/\1/p' "$tmpdir/smtpd.log" | sort > "$tmpdir/q-acked"
find "$mail/box/new" -type f -exec sed -n 's/^	by mx\.example\.test (sluice) with SMTP id \([0-9a-f]*\)$/\1/p' {} + |
    sort > "$tmpdir/q-got"
is "$(comm -3 "$tmpdir/q-acked" "$tmpdir/q-got" | wc -l)" 0 \
    "the delivered queue ids are exactly those smtpd acknowledged"
sed -n 's/^sluice-runq: qid=\([0-9a-f]*\) status=sent delivered=1$/\1/p' "$tmpdir/runq.log" | sort > "$tmpdir/q-sent"
is "$(comm -3 "$tmpdir/q-acked" "$tmpdir/q-sent" | wc -l)$(uniq -d "$tmpdir/q-sent" | wc -l)" 00 \
    "sluice-runq logs status=sent once for each"
# Whole: smtp-source sends the same body each time: 5120 octets, 63 lines of
# 78 characters and CRLF, then 80 characters ended by the CRLF of CRLF.CRLF.
find "$mail/box/new" -type f -exec awk 'FNR == 1 { h = 1 } !h { print FILENAME "\t" $0 } h && $0 == "" { h = 0 }' {} + |
    awk -F'\t' '{ b[$1] = b[$1] $2 "\n" } END { for (f in b) print length(b[f]) }' | sort | uniq -c > "$tmpdir/bodies"
like "$(cat "$tmpdir/bodies")" "^ *$N [0-9]+\$" "every body has the same length"
is "$(awk '{ print $2 }' "$tmpdir/bodies")" $((5120 - 63 + 1)) "and it is the 5120 octets sent, in LF form"
is "$(e2e_queued)" 0 "the queue is empty"
is "$(find "$spool/tmp" -type f | wc -l)" 0 "nothing is left in the spool's tmp/"
is "$(e2e_leftovers | head -3)" "" "nothing in bad/, dead/, quarantine/ or a Maildir's tmp/"

# --- swaks: 10 messages, every other one pipelined --------------------------------
fail=0
for ((i = 1; i <= 10; i++)); do
    pl=(); ((i % 2)) && pl=(--pipeline)
    o=$(swaks -s 127.0.0.1 -p "$port" "${pl[@]}" --ehlo client.example.org \
        --from s@example.org --to test@example.test --header "X-Marker: swaks-$i" \
        --header "Subject: swaks $i" --body "body of swaks $i" 2>&1)
    [[ $o =~ '<- '\ *'250 2.0.0 Ok: queued as ' ]] || { fail=$((fail + 1)); diag "swaks $i: $o"; }
done
is "$fail" 0 "swaks: 10 messages answered 250 (5 pipelined)"

# --- Python smtplib: 10 threads × 20 messages, and a pipelined message to two users
"$PY" - "$port" > "$tmpdir/py.out" 2>&1 <<'EOF'
import smtplib, socket, sys, threading
port = int(sys.argv[1])
bad = []
def worker(t):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("py%d.example.org" % t)
        for i in range(20):
            m = "py-%d-%d" % (t, i)
            msg = ("From: <s@example.org>\r\nTo: <test@example.test>\r\n"
                   "Message-ID: <%s@client.example.org>\r\nSubject: %s\r\nX-Marker: %s\r\n\r\n"
                   "body of %s\r\n" % (m, m, m, m)).encode()
            refused = s.sendmail("s%d@example.org" % t, ["test@example.test"], msg)
            if refused:
                bad.append((m, refused))
        s.quit()
    except Exception as e:
        bad.append((t, repr(e)))
ths = [threading.Thread(target=worker, args=(t,)) for t in range(10)]
for th in ths: th.start()
for th in ths: th.join(120)
print("threads", "ok" if not bad else bad)

# PIPELINING by hand: the envelope in one write, the replies after.
c = socket.create_connection(("127.0.0.1", port), timeout=60)
f = c.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline().decode()
        lines.append(l.rstrip("\r\n"))
        if len(l) < 4 or l[3] != "-":
            return lines
reply()
c.sendall(b"EHLO multi.example.org\r\n")
ehlo = reply()
c.sendall(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
          b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
got = [reply()[-1][:3] for _ in range(4)]
c.sendall(b"Subject: to two\r\nX-Marker: py-multi\r\n\r\nfor alice and bob\r\n.\r\nQUIT\r\n")
got += [reply()[-1][:3] for _ in range(2)]
print("pipelining", "ok" if any("PIPELINING" in l for l in ehlo) else ehlo)
print("multi", " ".join(got))
EOF
py=$(cat "$tmpdir/py.out")
like "$py" $'(^|\n)threads ok(\n|$)' "smtplib: 10 threads send 20 messages each, all accepted"
like "$py" $'(^|\n)pipelining ok(\n|$)' "EHLO offers PIPELINING"
like "$py" $'(^|\n)multi 250 250 250 354 250 221(\n|$)' \
    "a pipelined MAIL, two RCPTs and DATA are answered in order, and the message accepted"

wait_delivered "$mail/box" $((N + 10 + 200)) && wait_delivered "$mail/bob" 1
ok $? "the swaks and smtplib messages are delivered"
e2e_markers "$mail/box" | sort > "$tmpdir/got2"
{ for ((i = 1; i <= 10; i++)); do echo "swaks-$i"; done
  for ((t = 0; t < 10; t++)); do for ((i = 0; i < 20; i++)); do echo "py-$t-$i"; done; done
} | sort > "$tmpdir/exp2"
is "$(comm -3 "$tmpdir/exp2" "$tmpdir/got2" | head -5 | tr '\n' ' ')" "" \
    "each swaks and smtplib marker is in the Maildir exactly once"
is "$(ls "$mail/box/new" | wc -l)" $((N + 210)) "and nothing else arrived"
is "$(e2e_markers "$mail/alice")|$(e2e_markers "$mail/bob")" "py-multi|py-multi" \
    "the two-recipient message reaches alice and bob once each"
is "$(e2e_markers "$mail/alice" Delivered-To)|$(e2e_markers "$mail/bob" Delivered-To)" \
    "alice@example.test|bob@example.test" "each copy says whom it was delivered to"
f=$(grep -l '^X-Marker: py-0-7$' "$mail"/box/new/* | head -1)
like "$(cat "$f" 2>/dev/null)" $'Message-ID: <py-0-7@client.example.org>\r?\nSubject: py-0-7\r?\nX-Marker: py-0-7\n\nbody of py-0-7\n?$' \
    "a smtplib message arrives whole"
is "$(e2e_queued)$(find "$spool/tmp" -type f | wc -l)" 00 "the queue and its tmp/ are empty at the end"
is "$(e2e_leftovers | head -3)" "" "no leftovers anywhere"
stop_pid "$rq"
like "$(tail -1 "$tmpdir/runq.log")" 'sluice-runq: stop' "the runner stops cleanly on SIGTERM"
done_testing
