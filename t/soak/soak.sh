#!/bin/bash
# t/soak/soak.sh — the soak test: `make soak SOAK_TIME=seconds` (default
# 3600); not part of `make check`.  TAP on standard output, figures in
# SOAK_OUT (default ./soak-out: samples.csv, report, the logs).
#
# A whole sluice (t/e2e.sh: tcpserver + sluice-dnsbl + sluice-smtpd, the
# queue, sluice-runq running the default chain with sluice-scan) takes, for
# SOAK_TIME seconds, mixed load from t/soak/soak.py: Python clients (sessions
# of 1 to 10 messages, local, remote and mixed recipients, some cut off
# before the final dot on purpose), swaks (every other one pipelined) and
# smtp-source.  Remote mail (remote.test) goes, by its MX, to
# t/tools/flaky-sink.py, which fails a tenth of it (451/550 to RCPT and to
# the data, the connection dropped after the dot).  The DNS server answers
# the MX, and the DNS-BL sluice-dnsbl asks at each connection, 0.2 s late;
# the scanner (scan_method command) takes 0 to 0.2 s a message.  Every few
# seconds one sluice process, picked at random, is killed with kill -9; a
# dead runner is restarted.  Then the load stops, the peer stops failing,
# the queue is drained, and every message sluice-smtpd answered 250 is
# accounted for: delivered (Maildir or the peer), bounced (a notice to its
# sender names it) or still queued; duplicates no more than the kills of
# delivering stages (sluice-runq(8), "Each recipient is delivered once").
soak_time=${SOAK_TIME:-3600}
case $soak_time in ''|*[!0-9]*) echo "soak: bad SOAK_TIME: $soak_time" >&2; exit 64 ;; esac
# The drain after the load is bounded too (soak.py: at most 15 minutes).
export SLUICE_TEST_TIMEOUT=$((soak_time + 1200))
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e.sh"
soak_out=$(realpath -m "${SOAK_OUT:-$top/soak-out}")
mkdir -p "$soak_out" || bail "cannot make $soak_out"

# ---- the peers: DNS (slow), the flaky remote server, a slow scanner -------
sink_port=$(free_port)
cat > "$tmpdir/zone" <<EOF
\$TTL 60
remote.test.      IN MX 10 mx.remote.test.
mx.remote.test.   IN A  127.0.0.1
EOF
dport=$(free_port)
spawn dns_pid "$PY" "$tools/dnsbl-dns.py" --zone "$tmpdir/zone" --port "$dport" \
    --slow remote.test=0.2 --slow slow.test=0.2
wait_for "'$tools/dns.sh' query $dport mx.remote.test A" 10 || bail "the DNS server did not start"
: > "$soak_out/sink.record"
spawn sink_pid "$PY" "$tools/flaky-sink.py" 127.0.0.1 "$sink_port" "$soak_out/sink.record"
wait_port "$sink_port" 10 || bail "the remote peer did not start"
cat > "$tmpdir/slowscan" <<'EOF'
#!/bin/sh
# A scanner that takes its time: 0 to 0.2 s, then "clean".
sleep "0.$(od -An -N1 -tu1 /dev/urandom | tr -dc 0-9 | cut -c1 | tr 3-9 0-2)"
exit 0
EOF
chmod +x "$tmpdir/slowscan"

e2e_setup batch_size 20 concurrency 2 retry_min 5s retry_max 30s \
    delay_warning 0 queue_lifetime 1d \
    dns_servers "127.0.0.1:$dport" dns_timeout 2s smtp_port "$sink_port" \
    smtp_connect_timeout 5s smtp_tls_level none smtpd_client_connection_limit 0 \
    scan_method command scan_command "$tmpdir/slowscan %f"
printf 'slow.test ip reject\n' > "$conf/dnsbl"
: > "$conf/dnsbl_whitelist"
for t in dnsbl dnsbl_whitelist; do sluice-mkcdb -o "$conf/$t.cdb" "$conf/$t" || bail "mkcdb $t"; done

# The listener: sluice-dnsbl (0.2 s of DNS each connection) then sluice-smtpd;
# the clients on 127.0.0.1 may relay (to remote.test).
port=$(free_port)
: > "$soak_out/smtpd.log"
: > "$soak_out/runq.log"
RELAYCLIENT= tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$port" \
    "$top/libexec/sluice-dnsbl" "$top/libexec/sluice-smtpd" \
    </dev/null >>"$soak_out/smtpd.log" 2>&1 &
tcp=$!
_t_pids+=("$tcp")
wait_port "$port" 10 || bail "tcpserver did not start"

note "soak for $soak_time s; figures in $soak_out"
t0=$(date +%s)
"$PY" "$top/t/soak/soak.py" "$soak_time" "$soak_out" "$port" "$tcp" "$spool" "$mail" \
    "$sink_pid" "$soak_out/sink.record" > "$soak_out/report" 2> "$soak_out/soak.err"
ok $? "the load, the killer and the accounting ran ($(($(date +%s) - t0)) s)"
[ -s "$soak_out/soak.err" ] && diag "soak.py: $(tail -20 "$soak_out/soak.err")"
while IFS= read -r l; do note "$l"; done < "$soak_out/report"
r() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$soak_out/report" | head -1; }

ok $([ "$(r acked)" -ge $((soak_time / 10)) ]; echo $?) \
    "the load was real: $(r acked) messages answered 250 to the clients that track them"
is "$(r faults)" 0 "every acknowledged recipient is delivered, bounced or still queued; nothing else is delivered"
[ "$(r faults)" = 0 ] || diag "$(head -20 "$soak_out/faults")"
is "$(r queued)" 0 "the queue drains once the peer stops failing"
ok $([ "$(r duplicates)" -le "$(r window)" ]; echo $?) \
    "duplicates ($(r duplicates)) within the at-least-once window (kills of sluice-local and sluice-smtp: $(r window))"
ok $([ "$(r bounced)" -gt 0 ] && [ "$(r deferrals)" -gt 0 ]; echo $?) \
    "the peer's failures made both bounces ($(r bounced)) and deferrals ($(r deferrals))"
like "$(grep -o 'kills=[^ ]*' "$soak_out/report")" 'sluice-runq:[1-9].*sluice-smtpd:[1-9]' \
    "the runner and sluice-smtpd were among those killed"

# Memory and descriptors over time: bounded, and no growth in the runner.
"$PY" - "$soak_out/samples.csv" > "$soak_out/resources" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def col(c): return [int(r[c]) for r in rows if int(r[c]) > 0]
for c in ("runq_rss_kb", "runq_fds", "tcpserver_rss_kb", "tcpserver_fds", "smtpd_rss_max_kb",
          "smtpd_fds_max", "stages_rss_max_kb", "stages_fds_max", "incoming", "deferred"):
    v = col(c) or [0]
    print("%s min=%d max=%d first=%d last=%d" % (c, min(v), max(v), v[0], v[-1]))
# The longest-lived runner: its RSS when first and last seen.
by = {}
for r in rows:
    by.setdefault(r["runq_pid"], []).append(r)
longest = max(by.values(), key=lambda rs: int(rs[-1]["runq_age_s"]))
print("longest_runner age=%s rss_first=%s rss_last=%s fds_first=%s fds_last=%s samples=%d" % (
    longest[-1]["runq_age_s"], longest[0]["runq_rss_kb"], longest[-1]["runq_rss_kb"],
    longest[0]["runq_fds"], longest[-1]["runq_fds"], len(rows)))
EOF
while IFS= read -r l; do note "$l"; done < "$soak_out/resources"
mx() { sed -n "s/^$1 .*max=\\([0-9]*\\).*/\\1/p" "$soak_out/resources"; }
ok $([ "$(mx runq_fds)" -le 64 ] && [ "$(mx tcpserver_fds)" -le 64 ] &&
     [ "$(mx smtpd_fds_max)" -le 64 ] && [ "$(mx stages_fds_max)" -le 64 ]; echo $?) \
    "no process held more than 64 descriptors"
lr=$(grep '^longest_runner' "$soak_out/resources")
f() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$lr"; }
ok $([ "$(f rss_last)" -le $(( $(f rss_first) * 3 / 2 + 1024 )) ] &&
     [ "$(f fds_last)" -le $(( $(f fds_first) + 8 )) ]; echo $?) \
    "the longest-lived runner ($(f age) s) did not grow: RSS $(f rss_first) → $(f rss_last) KiB, fds $(f fds_first) → $(f fds_last)"
done_testing
