#!/bin/bash
# sluice-smtp's memory of unreachable destinations (spool/unreachable/): a
# destination whose servers time out is remembered; later runs within
# smtp_unreachable_ttl defer its recipients at once, without connecting; after
# the TTL it is tried again, and a server that answers clears the record.
# Several addresses: remembered only when all of them failed.  ttl 0 turns the
# memory off; a spool that cannot hold it changes nothing.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 30
spool=$SLUICE_SPOOL
mkdir -p "$spool"
rec_dir=$spool/unreachable

# silent PIDVAR ADDR PORT COUNTFILE — a server that accepts connections and
# never says a word; one line in COUNTFILE per connection.
silent() {
    : > "$4"
    spawn "$1" "$PY" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(100)
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(sys.argv[3], "a") as f: f.write("x\n")' "$2" "$3" "$4"
    wait_for "$PY -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex((\"$2\", $3)))'" 10 ||
        bail "the silent server on $2:$3 did not start"
    # The probe above was one connection: start counting from here.
    wait_for "[ -s '$4' ]" 10; : > "$4"
}
conns() { wc -l < "$1"; }
# age FILE — seconds since FILE's mtime.
age() { echo $(( $(date +%s) - $(stat -c %Y "$1") )); }
config() {
    table config "smtp_helo_timeout 3s" "smtp_hosts_order first" "$@"
}

p_live=$(free_port); start_sink sink 127.0.0.1 "$p_live" "$tmpdir/live"
p_dead=$(free_port); silent deadpid 127.0.0.4 "$p_dead" "$tmpdir/dead.conns"
# multi.test: a silent first address, a working second one, on one port.
p_multi=$(free_port); silent multipid 127.0.0.5 "$p_multi" "$tmpdir/multi.conns"
start_sink msink 127.0.0.1 "$p_multi" "$tmpdir/multi"
table smtp_hosts "multi.test 127.0.0.5 127.0.0.1"
rec="$rec_dir/[127.0.0.4]:$p_dead"
dead_route="X-ROUTE=smtp:[127.0.0.4]:$p_dead"
live_route="X-ROUTE=smtp:[127.0.0.1]:$p_live"

# ---- a dead destination is remembered ----
config "smtp_unreachable_ttl 30s"
msg s@example.org q1 "<x@dead.test> $dead_route" > "$tmpdir/in1"
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
is $? 0 "exit 0"
like "$(cat "$tmpdir/out1")" "X-DEFER=4\.4\.2\+20conversation\+20timed\+20out[^
]*greeting" "the silent server is deferred after the greeting timeout"
ok $([ -f "$rec" ]; echo $?) "the destination is remembered as $rec"
like "$(cat "$rec" 2>/dev/null)" "^conversation timed out with 127\.0\.0\.4\[127\.0\.0\.4\] while greeting or EHLO$" "the record holds the last error"
like "$(cat "$tmpdir/err1")" "dest=\[127\.0\.0\.4\]:$p_dead status=unreachable remembered=30s reason=\"conversation timed out" "the log says it is remembered, and for how long"
is "$(conns "$tmpdir/dead.conns")" 1 "one connection to the silent server"
m1=$(stat -c %Y "$rec" 2>/dev/null)

# ---- within the TTL: deferred at once, no connection ----
{ msg s@example.org q2 "<x@dead.test> $dead_route"
  msg s@example.org q3 "<y@live.test> $live_route"; } > "$tmpdir/in2"
t0=$(now)
smtp "$tmpdir/in2" "$tmpdir/out2" "$tmpdir/err2"
is $? 0 "exit 0"
t1=$(now)
"$PY" -c "import sys; sys.exit(0 if $t1 - $t0 < 1.5 else 1)"
ok $? "the run took $(echo "$t1 - $t0" | bc) s, well under the 3 s timeout"
like "$(cat "$tmpdir/out2")" "RCPT TO:<x@dead.test> [^
]*X-DEFER=4\.4\.1\+20destination\+20\[127\.0\.0\.4\]:$p_dead\+20was\+20unreachable\+20[0-9]+s\+20ago\+20\(not\+20tried\+20again\+20until\+20[0-9]{4}-[0-9]{2}-[0-9]{2}\+20[0-9:]{8}\+20(\+2B|-)[0-9]{4}\):\+20conversation\+20timed\+20out" \
    "the recipient is deferred with 4.4.1, the age, the next try and the last error"
like "$(cat "$tmpdir/err2")" "qid=q2 to=<x@dead\.test> relay=none delay=[0-9.]+ dsn=4\.4\.1 status=deferred reply=\"destination \[127\.0\.0\.4\]:$p_dead was unreachable [0-9]+s ago" "the log says status=deferred and why"
is "$(conns "$tmpdir/dead.conns")" 1 "the silent server saw no new connection"
is "$(count_files "$tmpdir/live")" 1 "the other destination is delivered as usual"
is "$(grep -c '^MAIL FROM' "$tmpdir/out2")" 1 "only the dead destination's message is left"

# ---- after the TTL: a real attempt, and the record is renewed ----
config "smtp_unreachable_ttl 2s"
wait_for "[ \$(age '$rec') -ge 2 ]" 10 || diag "the record did not age"
msg s@example.org q4 "<x@dead.test> $dead_route" > "$tmpdir/in3"
smtp "$tmpdir/in3" "$tmpdir/out3" "$tmpdir/err3"
is "$(conns "$tmpdir/dead.conns")" 2 "after the TTL (2s) the destination is tried again"
like "$(cat "$tmpdir/out3")" "X-DEFER=4\.4\.2\+20conversation\+20timed\+20out" "and deferred by the real timeout"
ok $([ "$(stat -c %Y "$rec" 2>/dev/null || echo 0)" -gt "$m1" ]; echo $?) "the record is renewed"

# ---- the server answers again: delivered, record removed ----
stop_pid "$deadpid"
start_sink sink4 127.0.0.4 "$p_dead" "$tmpdir/back"
wait_for "[ \$(age '$rec') -ge 2 ]" 10 || diag "the record did not age"
msg s@example.org q5 "<x@dead.test> $dead_route" > "$tmpdir/in4"
smtp "$tmpdir/in4" "$tmpdir/out4" "$tmpdir/err4"
is "$(count_files "$tmpdir/back")" 1 "the destination that answers again gets its message"
ok $([ ! -e "$rec" ]; echo $?) "a successful connection removes the record"
like "$(cat "$tmpdir/err4")" "dest=\[127\.0\.0\.4\]:$p_dead status=reachable" "the log says so"

# ---- several addresses: not remembered while one of them works ----
msg s@example.org q6 "<m@multi.test> X-ROUTE=smtp:[multi.test]:$p_multi" > "$tmpdir/in5"
smtp "$tmpdir/in5" "$tmpdir/out5" "$tmpdir/err5"
is "$(conns "$tmpdir/multi.conns"):$(count_files "$tmpdir/multi")" 1:1 "the first address times out, the second takes the message"
ok $([ ! -e "$rec_dir/[multi.test]:$p_multi" ]; echo $?) "a destination with one working address is not remembered"

# ---- smtp_unreachable_ttl 0: no memory ----
config "smtp_unreachable_ttl 0"
echo "planted" > "$rec_dir/[127.0.0.1]:$p_live"
{ msg s@example.org q7 "<z@silent.test> X-ROUTE=smtp:[127.0.0.5]:$p_multi"
  msg s@example.org q8 "<y@live.test> $live_route"; } > "$tmpdir/in6"
smtp "$tmpdir/in6" "$tmpdir/out6" "$tmpdir/err6"
is "$(count_files "$tmpdir/live")" 2 "ttl 0: a fresh record does not stop a delivery"
ok $([ ! -e "$rec_dir/[127.0.0.5]:$p_multi" ]; echo $?) "ttl 0: a silent destination is not remembered"
ok $([ -e "$rec_dir/[127.0.0.1]:$p_live" ]; echo $?) "ttl 0: the folder is not touched"

# ---- a spool that cannot hold the memory: it works without ----
config "smtp_unreachable_ttl 30s"
: > "$tmpdir/afile"
mkdir -p "$tmpdir/spool2"; : > "$tmpdir/spool2/unreachable"
n=0
for sp in "$tmpdir/afile/spool" "$tmpdir/spool2"; do
    n=$((n + 1))
    { msg s@example.org "r$n" "<z@silent.test> X-ROUTE=smtp:[127.0.0.5]:$p_multi"
      msg s@example.org "s$n" "<y@live.test> $live_route"; } > "$tmpdir/in7"
    SLUICE_SPOOL=$sp smtp "$tmpdir/in7" "$tmpdir/out7" "$tmpdir/err7"
    rc=$?
    is "$rc:$(count_files "$tmpdir/live")" "0:$((2 + n))" "unusable spool $sp: exit 0, the live destination is delivered"
    like "$(cat "$tmpdir/out7")" "X-DEFER=4\.4\.2\+20conversation\+20timed\+20out" "and the silent one deferred as without the memory"
    unlike "$(cat "$tmpdir/err7")" "warning|fatal" "without an error or a warning"
done
