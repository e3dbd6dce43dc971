#!/bin/bash
# sluice-smtp's connection cache: the session a run leaves open is taken by
# the next run to the same destination (one connection at the server for
# both) while smtp_connection_cache_time lasts; after it, when the server
# closes the session, when the holder is killed, for another destination,
# port or TLS policy, for a TLS session, and with the setting 0, the next
# run connects anew, and every message arrives exactly once.  The holder
# keeps none of the run's pipes open.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 30
mkdir -p "$SLUICE_SPOOL"
p1=$(free_port); start_py s1 "$p1" "$tmpdir/one.log" --no-starttls
p2=$(free_port); start_py s2 "$p2" "$tmpdir/idle.log" --no-starttls --idle 1
p3=$(free_port); start_py s3 "$p3" "$tmpdir/tls.log"
table smtp_hosts "a.test 127.0.0.1" "b.test 127.0.0.1" "c.test 127.0.0.1" \
    "d.test 127.0.0.1" "e.test 127.0.0.1"
cache=$SLUICE_SPOOL/smtp/cache
# Holders end by themselves; those still there when the test ends, by PID.
at_exit 'for h in $(sed -n "s/.*status=cached holder=\([0-9]*\).*/\1/p" "$tmpdir"/err.* 2>/dev/null); do kill -9 "$h" 2>/dev/null; done'

n=0
# run HOST PORT — one message to [HOST]:PORT in a run of its own; its log in
# $tmpdir/err.$n; fails unless the message is sent.
run() {
    n=$((n + 1))
    msg s@example.org "m$n" "<u$n@$1> X-ROUTE=smtp:[$1]:$2" > "$tmpdir/in.$n"
    smtp "$tmpdir/in.$n" "$tmpdir/out.$n" "$tmpdir/err.$n" &&
        grep -q status=sent "$tmpdir/err.$n"
}
# sessions LOG — the server's session number of each message, in order
# (session 1 is start_py's probe of the port).
sessions() {
    "$PY" -c 'import json,sys
print(" ".join(str(json.loads(l)["session"]) for l in open(sys.argv[1])))' "$1"
}
holder() { sed -n 's/.*status=cached holder=\([0-9]*\).*/\1/p' "$tmpdir/err.$1"; }

settings "smtp_connection_cache_time 10"
# The run ends while its holder lives on: a pipeline reading its output
# and its standard error ends at once, not after the cache time.
msg s@example.org m0 "<u0@a.test> X-ROUTE=smtp:[a.test]:$p1" > "$tmpdir/in.0"
t0=$(date +%s%N)
sluice-smtp < "$tmpdir/in.0" 2>&1 | cat > "$tmpdir/err.0"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ]
ok $? "the run's pipes close when it ends, though its holder waits ($ms ms)"
like "$(cat "$tmpdir/err.0")" "status=cached holder=[0-9]+" "the session is left to a holder"
h=$(holder 0)
kill -0 "$h" 2>/dev/null
ok $? "the holder lives on after the run"
is "$(stat -c %a "$cache")" 700 "spool/smtp/cache is its owner's alone"

run a.test "$p1"
ok $? "the next run delivers"
like "$(cat "$tmpdir/err.1")" "status=cache-taken sent=1" "it takes the cached session"
is "$(sessions "$tmpdir/one.log")" "2 2" "two runs, one connection at the server"

# kill -9 of the holder: the next run connects anew and nothing is lost.
h=$(holder 1)
kill -9 "$h"
wait_for "! kill -0 $h" 5
run a.test "$p1"
ok $? "after kill -9 of the holder the message is delivered"
is "$(sessions "$tmpdir/one.log")" "2 2 3" "on a new connection"
unlike "$(cat "$tmpdir/err.2")" "cache-taken" "nothing taken from the dead holder"

# After the cache time the holder says QUIT and is gone.
settings "smtp_connection_cache_time 1"
run a.test "$p1"
h=$(holder 3)
wait_for "! kill -0 $h" 6
ok $? "the holder ends after smtp_connection_cache_time"
is "$(ls "$cache" | wc -l)" 0 "and leaves no socket behind"
run a.test "$p1"
is "$(sessions "$tmpdir/one.log")" "2 2 3 3 4" "after the cache time, a new connection"

# Never shared: another destination, another port, another TLS policy.
settings "smtp_connection_cache_time 10"
run b.test "$p1"
is "$(sessions "$tmpdir/one.log" | cut -d' ' -f6)" 5 \
    "another destination on the same server: a connection of its own"
run a.test "$p2"
is "$(sessions "$tmpdir/one.log")" "2 2 3 3 4 5" "another port: not sent to the cached session"
is "$(wc -l < "$tmpdir/idle.log")" 1 "but to that port's server"
table smtp_tls "a.test none"
run a.test "$p1"
is "$(sessions "$tmpdir/one.log" | cut -d' ' -f7)" 6 "another TLS policy: a connection of its own"
run a.test "$p1"
is "$(sessions "$tmpdir/one.log" | cut -d' ' -f8)" 6 "the same policy again: that one, reused"
table smtp_tls

# The server drops the idle session: the holder ends, the next run
# connects anew and the message arrives once.
h=$(holder 6)
wait_for "! kill -0 $h" 5
ok $? "a holder whose server closed the session ends at once"
run a.test "$p2"
ok $? "the next run delivers"
is "$(sessions "$tmpdir/idle.log")" "2 3" "on a new connection, once"

# TLS sessions are not cached.
run c.test "$p3"
run c.test "$p3"
is "$(sessions "$tmpdir/tls.log")" "2 3" "a TLS session is not cached: two connections"
unlike "$(cat "$tmpdir/err.$((n - 1))")" "status=cached" "and no holder for it"

# The messages per connection count over the runs that share it; and a
# session is not kept past smtp_connection_reuse_time from its start.
settings "smtp_connection_cache_time 10"
table smtp_dest "e.test reuse=2"
run e.test "$p1"
run e.test "$p1"
unlike "$(cat "$tmpdir/err.$n")" "status=cached" \
    "a session that has sent its messages per connection (reuse=2) is not cached"
run e.test "$p1"
is "$(sessions "$tmpdir/one.log" | cut -d' ' -f9-)" "7 7 8" "the next run connects anew"
table smtp_dest
# A session of its own (the last run's holder gone), young enough to be
# cached whatever the load (the age is counted in whole seconds), that
# ends well before the cache time.
h=$(holder "$n")
[ -z "$h" ] || { kill "$h"; wait_for "! kill -0 $h" 5; }
settings "smtp_connection_cache_time 10" "smtp_connection_reuse_time 3"
run e.test "$p1"
h=$(holder "$n")
like "$h" "^[0-9]+$" "a new session is cached"
wait_for "! kill -0 $h" 8
ok $? "its holder ends at smtp_connection_reuse_time, before the cache time"

# smtp_connection_cache_time 0 turns the cache off.
settings "smtp_connection_cache_time 0"
run d.test "$p1"
run d.test "$p1"
is "$(sessions "$tmpdir/one.log" | cut -d' ' -f13-)" "10 11" "with the setting 0: two runs, two connections"
unlike "$(cat "$tmpdir/err.$((n - 1))" "$tmpdir/err.$n")" "status=cache" "and no holder"
is "$(grep -c '"rcpt"' "$tmpdir/one.log")" 14 "every message to that server arrived once"
