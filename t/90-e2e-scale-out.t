#!/bin/bash
# Past one machine, simulated: three sluice hosts, each in a network namespace
# of its own (ip netns, a veth pair to a bridge, an address in 10.213.X.0/24;
# nothing leaves the machine), each with its own spool, tables and Maildirs:
# mx1 and mx2 at MX preference 10 for example.test, mx3 a backup at 20 that
# routes example.test on to the primaries (routes: smtp:primaries.example.test,
# whose MX are mx1 and mx2).  A test DNS server (dnslib) on the bridge serves
# the records.  A sender, a sluice in the root namespace fed by smtp-source,
# follows the MX records with sluice-smtp (dns_servers pointing at the test
# server).
#   1. Load spreads across the equal-preference hosts (counted per host).
#   2. mx1 is killed mid-run (kill -9 of every process in its namespace, its
#      link down) with mail in its queue: the sender fails over to mx2,
#      nothing acknowledged is lost, and what mx1 held is delivered when it
#      comes back.
#   3. Both primaries down: the backup takes the mail and holds it; when the
#      primaries return it forwards every message.
#   4. Batch reprocessing: 5,000 stream files piped through sluice-envelope |
#      sluice-alias | sluice-route | sluice-local, on one host, then split
#      across the three with GNU parallel --pipe (ip netns exec standing in
#      for ssh), with the same result: the same stream out, the same
#      deliveries.  The tables are the same compiled files, copied with rsync.
# The figures are noted (doc/scaling.md quotes them).  Root only.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "network namespaces need root (ip netns); CI runs the suite as root"
for p in ip tcpserver /usr/sbin/smtp-source parallel; do
    command -v "$p" >/dev/null || skip_all "$p is missing (.ci/deps installs it)"
done
probe=sl$$probe
ip netns add "$probe" 2>/dev/null || skip_all "cannot make a network namespace here (ip netns add failed)"
ip netns del "$probe"

# ---- the network: a bridge in the root namespace, a namespace per host ----
id=$(printf '%x' $(($$ % 65536)))
br=slbr$id
for ((i = 0; i < 50; i++)); do
    x=$((RANDOM % 250 + 2))
    ip -4 addr show | grep -q "inet 10\\.213\\.$x\\." || break
done
net=10.213.$x
ns() { echo "sl$id-mx$1"; }
at_exit "ip link del $br"
ip link add "$br" type bridge && ip addr add "$net.1/24" dev "$br" && ip link set "$br" up ||
    bail "cannot make the bridge $br"
for h in 1 2 3; do
    n=$(ns $h)
    at_exit "ip netns del $n"
    ip netns add "$n" &&
    ip link add "v$id-$h" type veth peer name "v$id-${h}p" &&
    ip link set "v$id-${h}p" netns "$n" &&
    ip link set "v$id-$h" master "$br" up &&
    ip -n "$n" link set lo up &&
    ip -n "$n" addr add "$net.1$h/24" dev "v$id-${h}p" &&
    ip -n "$n" link set "v$id-${h}p" up || bail "cannot set up the namespace $n"
done

# ---- DNS on the bridge ------------------------------------------------------
dport=$(free_port)
cat > "$tmpdir/zone" <<EOF
\$TTL 60
example.test.            IN MX 10 mx1.example.test.
example.test.            IN MX 10 mx2.example.test.
example.test.            IN MX 20 mx3.example.test.
primaries.example.test.  IN MX 10 mx1.example.test.
primaries.example.test.  IN MX 10 mx2.example.test.
mx1.example.test.        IN A  $net.11
mx2.example.test.        IN A  $net.12
mx3.example.test.        IN A  $net.13
EOF
spawn dns_pid "$PY" -u -m dnslib.zoneresolver --zone "$tmpdir/zone" --address "$net.1" \
    --port "$dport" --tcp
dnsq() {
    "$PY" -c 'import sys
from dnslib import DNSRecord
r = DNSRecord.parse(DNSRecord.question(sys.argv[3], "MX").send(sys.argv[1], int(sys.argv[2]), timeout=1))
print(len(r.rr))' "$net.1" "$dport" "$1"
}
wait_for "[ \"\$(dnsq example.test)\" = 3 ]" 10 || bail "the DNS server did not start"

# ---- the hosts ----------------------------------------------------------------
# host_conf DIR HOSTNAME [SETTING VALUE]... — conf/ spool/ mail/ under DIR.
# Short SMTP phase timeouts: a host whose link goes down mid-session sends
# no RST, and the defaults (up to 600 s at the end of data, RFC 5321
# 4.5.3.2) would hold its messages longer than this test waits.
common=(retry_min 1s retry_max 2s smtp_connect_timeout 2s smtp_unreachable_ttl 0
        smtp_helo_timeout 5s smtp_mail_timeout 5s smtp_rcpt_timeout 5s
        smtp_data_init_timeout 5s smtp_data_block_timeout 5s
        smtp_data_done_timeout 5s smtp_quit_timeout 5s
        smtp_tls_level none dns_servers "$net.1:$dport" dns_timeout 2s)
host_conf() {
    local d=$1 name=$2 t
    shift 2
    mkdir -p "$d/conf" "$d/spool" "$d/mail"
    {
        printf 'hostname %s\nmailroot %s\nspool %s\n' "$name" "$d/mail" "$d/spool"
        set -- "${common[@]}" "$@"
        while [ $# -ge 2 ]; do printf '%s %s\n' "$1" "$2"; shift 2; done
    } > "$d/conf/config"
    echo example.test > "$d/conf/domains"
    echo '@example.test box/' > "$d/conf/users"
    : > "$d/conf/aliases"; : > "$d/conf/access"; : > "$d/conf/routes"
    for t in config domains users aliases access routes; do
        sluice-mkcdb -o "$d/conf/$t.cdb" "$d/conf/$t" || bail "sluice-mkcdb $d/conf/$t"
    done
}

# up H — start host H's listener (port 25 on its address) and runner, in its
# namespace; their PIDs are the namespace's (ip netns pids).
up() {
    local h=$1 d=$tmpdir/mx$1
    ip -n "$(ns "$h")" link set "v$id-${h}p" up
    # In a subshell: not this shell's jobs, whose kill -9 bash would report.
    ( ip netns exec "$(ns "$h")" env SLUICE_CONF="$d/conf" SLUICE_SPOOL="$d/spool" \
        setsid tcpserver -R -H -l 0 -b 100 -c 100 "$net.1$h" 25 "$top/libexec/sluice-smtpd" \
        </dev/null >>"$d/smtpd.log" 2>&1 &
      ip netns exec "$(ns "$h")" env SLUICE_CONF="$d/conf" SLUICE_SPOOL="$d/spool" \
        setsid sluice-runq </dev/null >>"$d/runq.log" 2>&1 & )
    wait_for "port_open 25 $net.1$h" 10 || bail "mx$h did not start: $(tail -3 "$d/smtpd.log")"
}

# down H — the host dies: every process in its namespace killed with -9, and
# its link down, so that connections to it time out as to a dead machine.
down() {
    local n p
    n=$(ns "$1")
    for p in $(ip netns pids "$n"); do kill -KILL "$p" 2>/dev/null; done
    ip -n "$n" link set "v$id-${1}p" down
    wait_for "[ -z \"\$(ip netns pids $n)\" ]" 10
}
for h in 1 2 3; do at_exit "for p in \$(ip netns pids $(ns $h)); do kill -KILL \$p; done"; done

host_conf "$tmpdir/mx1" mx1.example.test
host_conf "$tmpdir/mx2" mx2.example.test
host_conf "$tmpdir/mx3" mx3.example.test
# The backup takes example.test (a local domain, every address existing)
# and routes it on to the primaries: routes win over local delivery.
echo 'example.test smtp:primaries.example.test' > "$tmpdir/mx3/conf/routes"
sluice-mkcdb -o "$tmpdir/mx3/conf/routes.cdb" "$tmpdir/mx3/conf/routes" || bail "mkcdb routes"
for h in 1 2 3; do up $h; done

# The sender: its clients may relay; its remote deliveries follow the MX.
s=$tmpdir/sender
# Part 1 counts how new connections spread over the equal MX hosts: without
# the connection cache, whose sessions stay with the host they were opened
# to (as Postfix's do); the parts after it run with the cache.
host_conf "$s" sender.test batch_size 10 smtp_connection_cache_time 0
echo sender.test > "$s/conf/domains"
sluice-mkcdb -o "$s/conf/domains.cdb" "$s/conf/domains"
sport=$(free_port)
SLUICE_CONF=$s/conf SLUICE_SPOOL=$s/spool RELAYCLIENT= \
    tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$sport" "$top/libexec/sluice-smtpd" \
    </dev/null >>"$s/smtpd.log" 2>&1 &
_t_pids+=($!)
SLUICE_CONF=$s/conf SLUICE_SPOOL=$s/spool sluice-runq </dev/null >>"$s/runq.log" 2>&1 &
_t_pids+=($!)
wait_port "$sport" 10 || bail "the sender did not start"

# send TAG N [OPTIONS] — smtp-source: N messages to NTAG@example.test (numbered).
send() {
    /usr/sbin/smtp-source -N -s 5 -m "$2" -l 1000 -f s@sender.test \
        -t "$1@example.test" "${@:3}" "127.0.0.1:$sport" 2>&1
}
queued() { find "$1/spool/incoming" "$1/spool/deferred" -type f 2>/dev/null | wc -l; }
# delivered H — "MARKER" of every copy in host H's Maildir, one a line.
delivered() {
    find "$tmpdir/mx$1/mail/box/new" -type f -exec sed -n 's/^Delivered-To: \([0-9]*[a-z0-9]*\)@example\.test$/\1/p' {} + 2>/dev/null
}
count() { delivered "$1" | grep -c "^[0-9]*$2\$"; }
acked() { grep -c 'sluice-smtpd: qid=.* reply=250$' "$s/smtpd.log"; }

# ---- 1. load spreads across the equal MX hosts ------------------------------
t0=$(date +%s)
out=$(send p 200)
ok $? "smtp-source sends 200 messages to the sender"
[ -z "$out" ] || diag "$out"
wait_for "[ \$(queued '$s') = 0 ] && [ \$((\$(count 1 p) + \$(count 2 p))) -ge 200 ]" 60
ok $? "all 200 delivered by MX within 60 s ($(($(date +%s) - t0)) s)"
c1=$(count 1 p) c2=$(count 2 p) c3=$(count 3 p)
note "spread: mx1 $c1, mx2 $c2, mx3 (backup) $c3"
ok $([ "$c1" -ge 40 ] && [ "$c2" -ge 40 ] && [ "$c3" = 0 ]; echo $?) \
    "both equal-preference hosts take a share (mx1 $c1, mx2 $c2), the backup none"

# ---- 2. mx1 dies mid-run with mail in its queue, and comes back -------------------
# Its runner dies first, so that what it acknowledges from then on waits in
# its queue, as on a host that crashes between taking mail and delivering it.
for p in $(ip netns pids "$(ns 1)"); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = sluice-runq ] && kill -KILL "$p"
done
t0=$(date +%s)
send q 300 > "$tmpdir/send-q.out" &
sq=$!
wait_for "[ \$(queued '$tmpdir/mx1') -ge 20 ]" 30
ok $? "mx1 holds acknowledged mail in its queue ($(queued "$tmpdir/mx1") files)"
# The sender's connection cache on from here (its default): the failover
# runs with it.  Not before: cached sessions stay with their host, and
# under load a few of them, all to mx2, could carry the whole run.
sed -i '/^smtp_connection_cache_time /d' "$s/conf/config"
sluice-mkcdb -o "$s/conf/config.cdb" "$s/conf/config" || bail "mkcdb sender config"
down 1
held=$(queued "$tmpdir/mx1")
note "mx1 killed (kill -9, link down) at $(($(date +%s) - t0)) s into the run, holding $held messages"
wait $sq
is "$(cat "$tmpdir/send-q.out")" "" "smtp-source's 300 messages were all accepted by the sender"
wait_for "[ \$(queued '$s') = 0 ] && [ \$(queued '$tmpdir/mx2') = 0 ]" 90
ok $? "the sender's queue (and mx2's) empties while mx1 is down ($(($(date +%s) - t0)) s)"
on2=$(count 2 q)
held_q=$(cat "$tmpdir/mx1/spool/incoming/"* "$tmpdir/mx1/spool/deferred/"* 2>/dev/null |
    grep -c '^RCPT TO:<[0-9]*q@example.test>')
note "failover: mx2 delivered $on2, mx1's queue holds $held_q, mx1 delivered $(count 1 q) before it died"
is "$((on2 + held_q + $(count 1 q) >= 300))" 1 "every acknowledged message is delivered by mx2 or queued on mx1"
up 1
wait_for "[ \$(queued '$tmpdir/mx1') = 0 ]" 30
ok $? "mx1 back: its queue empties"
delivered 1 > "$tmpdir/d1"; delivered 2 > "$tmpdir/d2"
got=$(cat "$tmpdir/d1" "$tmpdir/d2" | grep -c 'q$')
uniq_q=$(cat "$tmpdir/d1" "$tmpdir/d2" | grep 'q$' | sort -u | wc -l)
is "$uniq_q" 300 "all 300 delivered once mx1 is back (mx1 $(count 1 q), mx2 $(count 2 q))"
dup_q=$((got - uniq_q))
note "duplicates after the kill: $dup_q (sessions in flight when mx1 died: at-least-once)"
ok $([ "$dup_q" -le 8 ]; echo $?) "duplicates no more than the sessions in flight ($dup_q)"

# ---- 3. the backup MX holds the primaries' mail and forwards it --------------------
down 1; down 2
before=$(( $(count 1 b) + $(count 2 b) ))
t0=$(date +%s)
out=$(send b 50)
is "$out" "" "with both primaries down the sender still accepts 50 messages"
wait_for "[ \$(queued '$s') = 0 ] && [ \$(queued '$tmpdir/mx3') -ge 50 ]" 90
ok $? "they leave the sender for the backup, which holds them ($(queued "$tmpdir/mx3") queued, $(($(date +%s) - t0)) s)"
is "$(( $(count 1 b) + $(count 2 b) + before ))" 0 "nothing delivered meanwhile"
# Holding 50 is not yet having tried them: under load its runner may not
# have run a chain over them when the sender's queue empties.
wait_for "grep -q 'status=deferred' '$tmpdir/mx3/runq.log'" 60
ok $? "the backup tried the primaries and deferred"
up 1; up 2
t0=$(date +%s)
wait_for "[ \$(queued '$tmpdir/mx3') = 0 ] && [ \$(( \$(count 1 b) + \$(count 2 b) )) -ge 50 ]" 60
ok $? "the primaries back, the backup forwards all 50 ($(($(date +%s) - t0)) s; mx1 $(count 1 b), mx2 $(count 2 b))"
is "$( (delivered 1; delivered 2) | grep 'b$' | sort -u | wc -l)" 50 "each of the 50 arrived"
f=$(grep -l '^Delivered-To: 1b@example.test' "$tmpdir"/mx[12]/mail/box/new/* | head -1)
like "$(grep -c 'by mx3\.example\.test (sluice)' "$f")" '^1$' "through the backup (its Received: field)"
is "$(cat "$tmpdir"/mx[123]/spool/{bad,dead}/* "$s"/spool/{bad,dead}/* 2>/dev/null | wc -c)" 0 \
    "nothing in bad/ or dead/ anywhere"
is "$(acked)" 550 "the sender acknowledged 550 messages in all"

# ---- 4. batch reprocessing split across hosts with GNU parallel -----------
# The tables, compiled once on a "master", are copied to every host (rsync
# when it is installed); each host has its own config (hostname, mailroot).
b=$tmpdir/batch
mkdir -p "$b/master" "$b/spool"
printf 'example.test\n' > "$b/master/domains"
printf 'alice@example.test alice/\nbob@example.test bob/\n@example.test box/\n' > "$b/master/users"
printf 'team@example.test alice@example.test, bob@example.test\nsales@example.test carol@remote.example\n' \
    > "$b/master/aliases"
for t in domains users aliases; do sluice-mkcdb -o "$b/master/$t.cdb" "$b/master/$t" || bail "mkcdb $t"; done
"$PY" - "$b/spool" <<'EOF'
import random, sys
R = random.Random(14)
to = ["alice@example.test", "bob@example.test", "team@example.test", "sales@example.test"]
for i in range(5000):
    rc = set(R.sample(to, R.randint(1, 2)))
    if R.random() < 0.5:
        rc.add("u%d@example.test" % i)
    if R.random() < 0.3:
        rc.add("x%d@remote.example" % i)
    body = "\n".join("batch %d line %d %s" % (i, k, "z" * R.randint(0, 70)) for k in range(R.randint(3, 40)))
    with open("%s/%04d.bsmtp" % (sys.argv[1], i), "w") as f:
        f.write("XFORWARD IDENT=batch%04d\nMAIL FROM:<s%d@sender.test>\n" % (i, i % 50))
        for r in sorted(rc):
            f.write("RCPT TO:<%s>\n" % r)
        f.write("DATA\nFrom: s%d@sender.test\nSubject: batch %d\nMessage-ID: <batch-%d@gen.test>\n"
                "Date: Mon, 1 Jun 2026 10:00:00 +0000\n\n%s\n.\n" % (i % 50, i, i, body))
EOF
copy() { if command -v rsync >/dev/null; then rsync -a "$1/" "$2/"; else cp -p "$1"/*.cdb "$2/"; fi; }
# bconf NAME HOST — a host's configuration for the batch; its Maildirs in
# $b/NAME/mail.
bconf() {
    local d=$b/$1
    mkdir -p "$d/conf" "$d/mail" "$d/spool/tmp"
    copy "$b/master" "$d/conf"
    printf 'hostname %s\nmailroot %s\nspool %s\n' "$2" "$d/mail" "$d/spool" > "$d/conf/config"
    sluice-mkcdb -o "$d/conf/config.cdb" "$d/conf/config" || bail "mkcdb config"
}
bconf one mx1.example.test
for h in 1 2 3; do bconf par$h mx$h.example.test; done
tables="domains.cdb users.cdb aliases.cdb"
is "$(cd "$b/par3/conf" && md5sum $tables)" "$(cd "$b/master" && md5sum $tables)" \
    "every host has the same compiled tables"
chain='sluice-envelope | sluice-alias | sluice-route | sluice-local'
t0=$(now)
find "$b/spool" -name '*.bsmtp' | sort | xargs cat |
    ip netns exec "$(ns 1)" env SLUICE_CONF="$b/one/conf" sh -c "$chain" > "$b/one.out" 2> "$b/one.err"
rc=$?
t1=$(now)
is "$rc" 0 "one host: the chain runs over 5,000 files"
find "$b/spool" -name '*.bsmtp' | sort | xargs cat |
    parallel --will-cite --pipe -k -j3 --block 1M --recend '\n.\n' \
        "ip netns exec sl$id-mx{%} env SLUICE_CONF=$b/par{%}/conf sh -c '$chain'" \
        > "$b/par.out" 2> "$b/par.err"
rc=$?
t2=$(now)
is "$rc" 0 "three hosts: parallel --pipe splits the same files across them"
n_one=$(grep -c '^MAIL FROM' "$b/one.out")
ok $(cmp -s "$b/one.out" "$b/par.out"; echo $?) \
    "the same stream comes out ($n_one transactions left for remote delivery), in the same order (-k)"
mids() { find "$1" -path '*/new/*' -type f -exec awk '
    FNR == 1 { h = 1; m = ""; d = "" }
    h && /^Message-ID: / { m = $2 } h && /^Delivered-To: / { d = $2 }
    h && $0 == "" { h = 0; print m, d; nextfile }' {} + | sort; }
mids "$b/one/mail" > "$b/one.mids"
(for h in 1 2 3; do mids "$b/par$h/mail"; done) | sort > "$b/par.mids"
ok $(cmp -s "$b/one.mids" "$b/par.mids"; echo $?) \
    "the same $(wc -l < "$b/one.mids") deliveries (Message-ID, mailbox), split across the hosts"
share=$(for h in 1 2 3; do printf 'mx%s %s  ' "$h" "$(mids "$b/par$h/mail" | cut -d' ' -f1 | sort -u | wc -l)"; done)
note "batch: one host $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s," \
    "three hosts $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s (one machine's 2 cores);" \
    "messages per host: $share"
ok $(for h in 1 2 3; do [ "$(mids "$b/par$h/mail" | wc -l)" -gt 0 ] || exit 1; done; echo 0) \
    "each of the three hosts delivered part of the batch"
done_testing
