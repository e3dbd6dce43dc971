#!/bin/bash
# sluice-smtp's per-phase timeouts, and one dead destination (a server that
# accepts and never answers) not delaying the delivery to another.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 9

# smtp-sink answers pipelined commands out of order when one reply is
# delayed; -p keeps that sink to one command at a time.
port=$(free_port); start_sink sink 127.0.0.1 "$port" "$tmpdir/live"
p_rcpt=$(free_port); start_sink s1 127.0.0.1 "$p_rcpt" "$tmpdir/slow1" -p -W RCPT:6
p_dot=$(free_port); start_sink s2 127.0.0.1 "$p_dot" "$tmpdir/slow2" -W .:6

# A server that accepts connections and never says a word.
p_dead=$(free_port)
spawn deadpid "$PY" -c 'import socket, time, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.4", int(sys.argv[1]))); s.listen(100)
held = []
while True:
    c, _ = s.accept(); held.append(c)' "$p_dead"
wait_for "$PY -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex((\"127.0.0.4\", $p_dead)))'" 10 ||
    bail "the silent server did not start"

table config "smtp_rcpt_timeout 1s" "smtp_data_done_timeout 1s" "smtp_helo_timeout 4s"

# ---- slow replies hit the phase's timeout ----
{ msg s@example.org q1 "<a@slow1.test> X-ROUTE=smtp:[127.0.0.1]:$p_rcpt"
  msg s@example.org q2 "<b@slow2.test> X-ROUTE=smtp:[127.0.0.1]:$p_dot"; } > "$tmpdir/in1"
t0=$(now)
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
is $? 0 "exit 0"
t1=$(now)
out=$(cat "$tmpdir/out1")
like "$out" "RCPT TO:<a@slow1.test> [^
]*X-DEFER=4\.4\.2\+20conversation\+20timed\+20out[^
]*RCPT\+20TO" "a slow RCPT reply times out and defers"
like "$out" "RCPT TO:<b@slow2.test> [^
]*X-DEFER=4\.4\.2\+20conversation\+20timed\+20out[^
]*end\+20of\+20data" "a slow reply to the end of data times out and defers"
"$PY" -c "import sys; sys.exit(0 if $t1 - $t0 < 5 else 1)"
ok $? "both timed out after their 1 s limit, in parallel (took $(echo "$t1 - $t0" | bc) s)"

# ---- a dead destination does not hold up a live one ----
{ msg s@example.org q3 "<x@dead.test> X-ROUTE=smtp:[127.0.0.4]:$p_dead"
  for i in $(seq 4 23); do msg s@example.org "q$i" "<y$i@live.test> X-ROUTE=smtp:[127.0.0.1]:$port"; done
} > "$tmpdir/in2"
t0=$(now)
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
is $? 0 "exit 0"
t1=$(now)
is "$(count_files "$tmpdir/live")" 20 "all 20 messages for the live destination arrived"
last=$(find "$tmpdir/live" -type f -printf '%T@\n' | sort -n | tail -1)
"$PY" -c "import sys; sys.exit(0 if $last - $t0 < 3 and $t1 - $t0 >= 4 else 1)"
ok $? "the live destination was done $(echo "$last - $t0" | bc) s after start; the run took $(echo "$t1 - $t0" | bc) s (the dead one's 4 s timeout)"
like "$(cat "$tmpdir/out2")" "RCPT TO:<x@dead.test> [^
]*X-DEFER=4\.4\.2\+20conversation\+20timed\+20out[^
]*greeting" "the dead destination is deferred after the greeting timeout"
is "$(grep -c '^MAIL FROM' "$tmpdir/out2")" 1 "only the dead destination's message is left"
