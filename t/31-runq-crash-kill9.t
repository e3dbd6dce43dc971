#!/bin/bash
# Crash safety of the queue: kill -9 sluice-runq at random moments during a
# 500-message run, restart it, finish with a run-once.  Every message must be
# delivered at least once, none lost, and nothing delivered that was not sent.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $mr
chain sluice-local
batch_size 20
concurrency 2
retry_min 1s
EOT
echo example.test > "$SLUICE_CONF/domains"
echo "@example.test box/" > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done

N=500
for ((i = 1; i <= N; i++)); do
    printf 'MAIL FROM:<s@example.org>\nRCPT TO:<u%d@example.test>\nDATA\nSubject: msg-%d\n\nbody %d\n.\n' $i $i $i
    # Several inputs, so the runner meets new work while it runs.
    if ((i % 50 == 0)); then echo "--cut--"; fi
done > "$tmpdir/all"
csplit -s -z -f "$tmpdir/part" "$tmpdir/all" '/^--cut--$/' '{*}'
for p in "$tmpdir"/part*; do sed -i '/^--cut--$/d' "$p"; done
rc=0
parts=("$tmpdir"/part*)
sluice-enqueue < "${parts[0]}" 2>/dev/null || rc=1

kills=0
for p in "${parts[@]:1}" x x x x; do
    # The runner in its own process group, so its orphaned chains can be waited for.
    setsid sluice-runq </dev/null >>"$tmpdir/runq.log" 2>&1 &
    rq=$!
    [ "$p" != x ] && { sluice-enqueue < "$p" 2>/dev/null || rc=1; }
    sleep "0.$(printf '%03d' $((RANDOM % 400)))"
    kill -9 "$rq" 2>/dev/null && kills=$((kills + 1))
    wait "$rq" 2>/dev/null
    wait_for "! pgrep -g $rq" 20
done
is "$rc" 0 "all $N messages were accepted by sluice-enqueue"
note "runner killed $kills times; $(ls "$mr/box/new" 2>/dev/null | wc -l) files delivered before the final run"

sluice-runq -1 -f 2>>"$tmpdir/runq.log"
is "$?" 0 "the final run-once succeeds"
grep -h '^Subject: ' "$mr"/box/new/* | sort > "$tmpdir/got"
sort -u "$tmpdir/got" > "$tmpdir/got-u"
for ((i = 1; i <= N; i++)); do echo "Subject: msg-$i"; done | sort > "$tmpdir/exp"
is "$(comm -23 "$tmpdir/exp" "$tmpdir/got-u" | wc -l)" 0 "no message is lost"
is "$(comm -13 "$tmpdir/exp" "$tmpdir/got-u" | wc -l)" 0 "no message appears that was not sent"
total=$(wc -l < "$tmpdir/got")
note "$total deliveries for $N messages ($((total - N)) duplicates, allowed after a crash)"
ok $([ "$total" -ge $N ]; echo $?) "every message is delivered at least once"
bad=0
for f in "$mr"/box/new/*; do
    n=$(sed -n 's/^Subject: msg-//p' "$f")
    [ "$(sed -n 2p "$f")" = "Delivered-To: u$n@example.test" ] && [ "$(tail -1 "$f")" = "body $n" ] || bad=$((bad + 1))
done
is "$bad" 0 "every delivered copy is whole and for its recipient"
is "$(find "$SLUICE_SPOOL"/{incoming,deferred,bad,dead} -type f | wc -l)" 0 "the queue is empty"
is "$(find "$SLUICE_SPOOL/tmp" "$mr/box/tmp" -type f | wc -l)" 0 "no temporary files are left"
done_testing
