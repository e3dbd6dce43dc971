#!/bin/bash
# With ten sessions handing off at once, every message's 250 comes after
# an fsync of incoming/ that began after its rename into incoming/ and
# ended before the 250 was written: the hand-off's last step, checked
# from a trace across all the sessions' processes, not only in one.  (A
# build whose sessions skip that fsync fails it.)  One fsync of incoming/
# per message.  strace -f over sluice-smtpd's own listener, smtp-source as
# the clients, the real queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

command -v strace >/dev/null || bail "strace is needed (apt-get install strace)"
command -v smtp-source >/dev/null || bail "smtp-source is needed (apt-get install postfix)"

# run NAME — the listener under strace -f, 10 clients of 10 messages each
# (smtp-source -s 10 -d); the trace in $tmpdir/NAME.trace.
run() {
    local name=$1 port pid
    port=$(free_port) || bail "no free port"
    env -u SLUICE_QUEUE SLUICE_CONF="$tmpdir/$name" \
        strace -f -qq -ttt -T -o "$tmpdir/$name.trace" \
        -e trace=openat,fsync,rename,renameat,renameat2,write,close \
        "$top/libexec/sluice-smtpd" -l "127.0.0.1:$port" </dev/null \
        >>"$tmpdir/$name.log" 2>&1 &
    pid=$!
    at_exit "stop_pid $pid"
    wait_for "grep -q 'listening on' '$tmpdir/$name.log'" 10 ||
        bail "the listener did not start: $(cat "$tmpdir/$name.log")"
    # strace -o blocks fatal signals: the listener itself is stopped.
    lpid=$(pgrep -P "$pid" -x sluice-smtpd) || bail "no listener under strace"
    at_exit "stop_pid $lpid"
    smtp-source -s 10 -d -m 100 -l 2000 -f alice@example.org -t test@example.test \
        "127.0.0.1:$port" > "$tmpdir/$name.source" 2>&1
    ok $? "$name: smtp-source sent its 100 messages" || diag "$(cat "$tmpdir/$name.source")"
    kill -TERM "$lpid"
    wait "$pid" 2>/dev/null
    is "$(find "$tmpdir/$name/spool/incoming" -type f | wc -l)" 100 "$name: 100 messages in incoming/"
}

# check TRACE — per message: "covered" when an fsync of incoming/ began
# after its rename ended and ended before its 250 began; then the number of
# messages, of those covered, and of fsyncs of incoming/.
cat > "$tmpdir/check.py" <<'EOF'
import re, sys
line = re.compile(r'^(\d+) +(\d+\.\d+) (.*?)(?: <(\d+\.\d+)>)?$')
start = {}          # pid -> (call, t0) of an unfinished call
fds = {}            # (pid, fd) -> path opened
syncs = []          # (t0, t1) of fsyncs of incoming/
renames = {}        # pid -> end time of its last rename into incoming/
msgs = []           # (rename end, 250 start)
for l in open(sys.argv[1]):
    m = line.match(l.rstrip("\n"))
    if not m:
        continue
    pid, t, rest, dur = m.group(1), float(m.group(2)), m.group(3), m.group(4)
    if rest.endswith("<unfinished ...>"):
        start[pid] = (rest, t)
        continue
    r = re.match(r'<\.\.\. (\w+) resumed>(.*)', rest)
    if r:
        call, t0 = start.pop(pid, (rest, t))
        rest = call.replace("<unfinished ...>", "") + r.group(2)
        t1 = t
    else:
        t0, t1 = t, t + float(dur or 0)
    c = re.match(r'(\w+)\((.*)\) += (-?\d+)', rest)
    if not c:
        continue
    name, args, ret = c.group(1), c.group(2), int(c.group(3))
    if name == "openat" and ret >= 0:
        p = re.search(r'"([^"]*)"', args)
        fds[(pid, ret)] = p.group(1) if p else ""
    elif name == "close":
        fds.pop((pid, int(args.split(",")[0])), None)
    elif name == "fsync" and ret == 0:
        if fds.get((pid, int(args)), "").rstrip("/").endswith("incoming"):
            syncs.append((t0, t1))
    elif name.startswith("rename") and ret == 0 and '"incoming/' in args:
        renames[pid] = t1
    elif name == "write" and args.startswith("1, \"250 ") and pid in renames:
        msgs.append((renames.pop(pid), t0))
covered = sum(1 for r, w in msgs if any(r <= a and b <= w for a, b in syncs))
print(len(msgs), covered, len(syncs))
EOF

# ---- ten sessions at once ----
smtpd_conf g
run g
read -r n covered syncs < <("$PY" "$tmpdir/check.py" "$tmpdir/g.trace")
is "$n" 100 "the trace shows 100 renames into incoming/, each followed by its 250"
is "$covered" "$n" "each 250 came after an fsync of incoming/ begun after its rename"
is "$syncs" "$n" "one fsync of incoming/ per message"

done_testing
