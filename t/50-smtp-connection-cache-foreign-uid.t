#!/bin/bash
# sluice-smtp takes a cached session only from a holder that runs under its
# own uid (SO_PEERCRED): a socket in spool/smtp/cache/ that another uid
# listens on is refused, and the message goes over a new connection to the
# destination's own server.  A holder of the same uid that speaks the
# protocol is used, which shows that the refusal is the uid's alone.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

plan 7
mkdir -p "$SLUICE_SPOOL"
p1=$(free_port); start_py s1 "$p1" "$tmpdir/real.log" --no-starttls
p2=$(free_port); start_py s2 "$p2" "$tmpdir/other.log" --no-starttls
table smtp_hosts "a.test 127.0.0.1"
settings "smtp_connection_cache_time 10"
cache=$SLUICE_SPOOL/smtp/cache
msgs() { grep -c '"rcpt"' "$1" 2>/dev/null; }

# A first run leaves a holder; its socket's name is the destination's.
msg s@example.org m1 "<u1@a.test> X-ROUTE=smtp:[a.test]:$p1" > "$tmpdir/in1"
smtp "$tmpdir/in1" "$tmpdir/out1" "$tmpdir/err1"
h=$(sed -n 's/.*status=cached holder=\([0-9]*\).*/\1/p' "$tmpdir/err1")
name=$(ls "$cache")
[ -n "$h" ] && [ -n "$name" ]
ok $? "a first run leaves a holder ($h) on $name"
kill -9 "$h"
wait_for "! kill -0 $h" 5
rm -f "$cache/$name"

# fake UID — a holder of UID on that name, handing over a session with the
# other server; waits until it listens.
fake() {
    # The "ready" of the previous holder must not be taken for this one's:
    # the shell truncates fake.out only when the background job starts.
    rm -f "$cache/$name" "$tmpdir/fake.out"
    "$PY" "$tools/cache-holder.py" "$cache/$name" "$1" "$p2" \
        > "$tmpdir/fake.out" 2> "$tmpdir/fake.err" < /dev/null &
    fake_pid=$!
    at_exit "kill $fake_pid 2>/dev/null"
    wait_for "grep -q ready '$tmpdir/fake.out'" 10
}

fake "$(id -u)"
smtp "$tmpdir/in1" "$tmpdir/out2" "$tmpdir/err2"
like "$(cat "$tmpdir/err2")" "status=cache-taken" "a holder of our own uid is used"
is "$(msgs "$tmpdir/other.log")" 1 "the message went over the session it handed over"
wait "$fake_pid"

fake "$(id -u nobody)"
smtp "$tmpdir/in1" "$tmpdir/out3" "$tmpdir/err3"
like "$(cat "$tmpdir/err3")" "status=cache-refused reason=\"the cached connection's holder runs as uid $(id -u nobody)" \
    "a holder of another uid is refused, and said"
is "$(msgs "$tmpdir/other.log")" 1 "nothing went over the session it offered"
is "$(msgs "$tmpdir/real.log")" 2 "the message went to the destination's own server"
like "$(cat "$tmpdir/err3")" "status=sent" "and was delivered"
h=$(sed -n 's/.*status=cached holder=\([0-9]*\).*/\1/p' "$tmpdir/err3")
[ -z "$h" ] || kill -9 "$h"
