#!/bin/bash
# Crash safety end to end: 500 messages from 8 concurrent SMTP clients into
# tcpserver + sluice-smtpd writing the queue itself (or, with
# E2E_QUEUE=sluice-enqueue, t/90-e2e-crash-kill9-enqueue.t, running
# sluice-enqueue for each), with sluice-runq delivering to a Maildir, while
# kill -9 hits, at random moments, the runner (restarted at once), the queue
# file's writers (a sluice-smtpd with a tmp/ file open, or sluice-enqueue)
# and sluice-smtpd processes.  Each message is
# sent once, with a unique marker; the client records how its transaction
# ended.  Then the queue is drained with sluice-runq -1 -f.
#   250 after the final dot          → delivered, at least once
#   broken before the final dot      → never delivered
#   4xx/5xx after the final dot      → never delivered, except after a 451 for
#                                      a queue program killed after it
#                                      committed (counted, bounded by the kills)
#   connection died after the dot    → either (counted)
# The processes are killed by PID, found as tcpserver's children (smtpd) and
# grandchildren (sluice-enqueue), never by name; a writing sluice-smtpd by
# the tmp/ file among its descriptors (/proc/PID/fd).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e.sh"

N=500
e2e_setup batch_size 20 concurrency 2 retry_min 1s
e2e_smtpd port
tcp=$e2e_tcpserver

cat > "$tmpdir/crash.py" <<'EOF'
import os, random, select, signal, socket, subprocess, sys, threading, time
port, n, tcp, out, rqlog = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
WORKERS, PER_CONN, TIMEOUT = 8, 10, 30
deadline = time.time() + 40

def body(i):
    """The message for marker i: its size varies from 1 to 30 KB."""
    m = "crash-%04d" % i
    lines = ["%s line %d %s" % (m, k, "x" * 40) for k in range(20 + (i * 37) % 450)]
    return m, ("From: <s@example.org>\r\nTo: <u%d@example.test>\r\nSubject: %s\r\n"
               "X-Marker: %s\r\n\r\n%s\r\nend of %s\r\n" % (i, m, m, "\r\n".join(lines), m)).encode()

result = {}             # marker -> "ok QID" | "refused CODE" | "ambiguous" | "notsent"
lock = threading.Lock()
todo = list(range(1, n + 1))

class Broken(Exception):
    pass

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.f = self.s.makefile("rb")
    def reply(self):
        while True:
            l = self.f.readline()
            if not l.endswith(b"\n"):
                raise Broken("closed")
            if len(l) < 4 or l[3:4] != b"-":
                return l.decode("latin-1").rstrip("\r\n")
    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.reply()
    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

def send_one(c, i):
    """One transaction for marker i on connection c; returns (state, conn usable)."""
    m, data = body(i)
    try:
        if not c.cmd("MAIL FROM:<s@example.org>").startswith("250"):
            return "notsent", False
        if not c.cmd("RCPT TO:<u%d@example.test>" % i).startswith("250"):
            return "notsent", False
        if not c.cmd("DATA").startswith("354"):
            return "notsent", False
        c.s.sendall(data)
        # A slow client now and then, so that kills land in DATA too; a
        # server gone (or answering) before the dot never saw the dot.
        if i % 3 == 0:
            time.sleep(random.uniform(0, 0.02))
        if select.select([c.s], [], [], 0)[0]:
            return "notsent", False
    except (Broken, OSError):
        return "notsent", False
    try:
        c.s.sendall(b".\r\n")           # from here on the server may have it
        r = c.reply()
    except (Broken, OSError):
        return "ambiguous", False
    if r.startswith("250 "):
        return "ok " + r.split()[-1], True
    return "refused " + r[:3], True

def worker():
    c = None
    sent = 0
    while time.time() < deadline:
        with lock:
            if not todo:
                break
            i = todo.pop(0)
        if c is None:
            try:
                c = Conn()
                if not c.reply().startswith("220") or not c.cmd("EHLO crash.example.org").startswith("250"):
                    raise Broken("greeting")
            except (Broken, OSError):
                # Nothing of this transaction was sent: give it to a new connection.
                if c:
                    c.close()
                c = None
                with lock:
                    todo.insert(0, i)
                time.sleep(0.01)
                continue
            sent = 0
        state, usable = send_one(c, i)
        with lock:
            result[i] = state
        sent += 1
        if not usable or sent >= PER_CONN:
            if usable:
                try:
                    c.cmd("QUIT")
                except (Broken, OSError):
                    pass
            c.close()
            c = None
    if c:
        c.close()

def children(pid, name):
    try:
        kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError:
        return []
    r = []
    for k in kids:
        try:
            if open("/proc/%s/comm" % k).read().strip() == name:
                r.append(int(k))
        except OSError:
            pass
    return r

kills = {"runq": 0, "writer": 0, "smtpd": 0, "runq-restart": 0}
queue_prog = bool(os.environ.get("SLUICE_QUEUE"))
spool_tmp = os.path.join(os.environ["SLUICE_SPOOL"], "tmp") + "/"

def writers():
    """The processes writing a queue file now."""
    if queue_prog:
        return [e for s in children(tcp, "sluice-smtpd") for e in children(s, "sluice-enqueue")]
    w = []
    for s in children(tcp, "sluice-smtpd"):
        try:
            for fd in os.listdir("/proc/%d/fd" % s):
                if os.readlink("/proc/%d/fd/%s" % (s, fd)).startswith(spool_tmp):
                    w.append(s)
                    break
        except OSError:
            pass
    return w
runners = []            # every runner started: each leads its own process group
def start_runner():
    p = subprocess.Popen(["sluice-runq"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    runners.append(p)
    return p

def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False

log = open(rqlog, "ab")
rq = start_runner()
ths = [threading.Thread(target=worker) for _ in range(WORKERS)]
for t in ths:
    t.start()
while any(t.is_alive() for t in ths) and time.time() < deadline:
    time.sleep(random.uniform(0.02, 0.1))
    if rq.poll() is not None:           # it stopped by itself (say, the lock): again
        kills["runq-restart"] += 1
        rq = start_runner()
    r = random.random()
    if r < 0.45:
        # A queue file is written from DATA to the reply: look a while.
        end = time.time() + 0.2
        while time.time() < end:
            q = writers()
            if q:
                kills["writer"] += kill(random.choice(q))
                break
            time.sleep(0.002)
    elif r < 0.8:
        s = children(tcp, "sluice-smtpd")
        if s:
            kills["smtpd"] += kill(random.choice(s))
    else:
        kills["runq"] += kill(rq.pid)
        rq.wait()
        rq = start_runner()
for t in ths:
    t.join(max(1, deadline - time.time()))

# Stop the last runner cleanly; wait for the chains the killed ones left running.
rq.send_signal(signal.SIGTERM)
try:
    rq.wait(20)
except subprocess.TimeoutExpired:
    rq.kill()
    rq.wait()
for p in runners:
    p.poll()
end = time.time() + 30
def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
while time.time() < end and any(group_alive(p.pid) for p in runners):
    time.sleep(0.05)
orphans = sum(group_alive(p.pid) for p in runners)

with open(out, "w") as f:
    for i in range(1, n + 1):
        f.write("crash-%04d %s\n" % (i, result.get(i, "unsent")))
print("kills runq=%d writer=%d smtpd=%d runq_restarts=%d orphans=%d" % (
    kills["runq"], kills["writer"], kills["smtpd"], kills["runq-restart"], orphans))
print("threads %s" % ("done" if not any(t.is_alive() for t in ths) else "stuck"))
sys.stdout.flush()
os._exit(0)
EOF

t0=$(date +%s)
stats=$("$PY" "$tmpdir/crash.py" "$port" $N "$tcp" "$tmpdir/results" "$tmpdir/runq.log" 2>"$tmpdir/py.err")
ok $? "the client and the killer ran"
[ -s "$tmpdir/py.err" ] && diag "python: $(head -20 "$tmpdir/py.err")"
note "$stats (in $(($(date +%s) - t0)) s)"
like "$stats" $'\nthreads done' "every client thread finished in time"
like "$stats" 'orphans=0' "the chains of the killed runners all finished"
is "$(wc -l < "$tmpdir/results")" $N "a result for each of the $N messages"
is "$(grep -c ' unsent$' "$tmpdir/results")" 0 "every message was tried"
k() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$stats"; }
ok $([ "$(k runq)" -ge 1 ] && [ "$(k writer)" -ge 1 ] && [ "$(k smtpd)" -ge 1 ]; echo $?) \
    "the runner, a queue file's writer and sluice-smtpd were each killed at least once"

first5() { printf '%s' "$1" | head -5 | tr '\n' ' '; }

# The sessions end; then no more servers.
wait_for "[ -z \"\$(cat /proc/$tcp/task/$tcp/children 2>/dev/null)\" ]" 20
ok $? "every sluice-smtpd session has ended"
stop_pid "$tcp"

# Drain the queue.
for ((i = 0; i < 5; i++)); do
    e2e_runonce -f; rc=$?
    [ "$(e2e_queued)" = 0 ] && break
done
is "$rc" 0 "sluice-runq -1 -f succeeds"
is "$(e2e_queued)" 0 "the queue is empty afterwards"

# What arrived.
e2e_markers "$mail/box" | sort > "$tmpdir/got"
sort -u "$tmpdir/got" > "$tmpdir/got-u"
state() { awk -v s="$1" '$2 == s { print $1 }' "$tmpdir/results" | sort; }
state ok > "$tmpdir/s-ok"
state notsent > "$tmpdir/s-notsent"
state refused > "$tmpdir/s-refused"
state ambiguous > "$tmpdir/s-ambiguous"
n_ok=$(wc -l < "$tmpdir/s-ok")
note "client: $n_ok answered 250, $(wc -l < "$tmpdir/s-refused") refused after the dot," \
    "$(wc -l < "$tmpdir/s-notsent") broken before it, $(wc -l < "$tmpdir/s-ambiguous") ambiguous"
ok $([ "$n_ok" -ge $((N / 2)) ]; echo $?) "most messages were accepted ($n_ok of $N), so the test means something"
lost=$(comm -23 "$tmpdir/s-ok" "$tmpdir/got-u")
is "$(first5 "$lost")" "" "every message answered 250 is delivered"
ghost=$(comm -12 "$tmpdir/s-notsent" "$tmpdir/got-u")
is "$(first5 "$ghost")" "" "no message broken off before its final dot is delivered"
unknown=$(awk '{ print $1 }' "$tmpdir/results" | sort | comm -13 - "$tmpdir/got-u")
is "$(first5 "$unknown")" "" "nothing is delivered that was not sent"

# A 4xx/5xx after the dot: not delivered, unless the queue program was killed
# after it had committed the message (the acknowledgement was lost: the client
# will send it again, a duplicate, never a loss).
refd=$(comm -12 "$tmpdir/s-refused" "$tmpdir/got-u")
n_refd=$(printf '%s' "$refd" | grep -c .)
is "$(awk '$2 == "refused" && $3 != "451" { print $1, $3 }' "$tmpdir/results" | head -3)" "" \
    "the only refusal after the dot is 451 (a killed queue program)"
ok $([ "$n_refd" -le "$(k writer)" ]; echo $?) \
    "refused yet delivered: $n_refd, no more than the queue writers' kills ($(k writer))"
bad=0
for m in $refd; do
    f=$(grep -l "^X-Marker: $m\$" "$mail"/box/new/* | head -1)
    q=$(sed -n 's/^	by mx\.example\.test (sluice) with ESMTP id \([0-9a-f]*\)$/\1/p' "$f")
    grep -q "sluice-smtpd: qid=$q .* queue_status=111 reply=451\$" "$tmpdir/smtpd.log" || bad=$((bad + 1))
done
is "$bad" 0 "each of those was a 451 for a queue program that did not exit 0"
[ "$n_refd" = 0 ] || diag "$n_refd refused (451) messages were delivered: a queue program killed after its commit"
n_amb=$(wc -l < "$tmpdir/s-ambiguous")
n_amb_d=$(comm -12 "$tmpdir/s-ambiguous" "$tmpdir/got-u" | wc -l)
diag "ambiguous (connection lost after the final dot): $n_amb, of which $n_amb_d delivered"

# The delivered copies: whole, for their recipient, with the id from the reply.
bad=$(find "$mail/box/new" -type f -exec awk '
    function check() {
        if (m == "" || to != "u" i "@example.test" || end != "end of " m || n != want)
            print FILENAME ": " m
    }
    FNR == 1 { if (NR > 1) check(); h = 1; m = ""; n = 0; to = ""; end = "" }
    h && /^X-Marker: / { m = $2; i = substr(m, 7) + 0; want = 20 + (i * 37) % 450 }
    h && /^Delivered-To: / { to = $2 }
    h && $0 == "" { h = 0; next }
    !h && / line [0-9]+ x+$/ { n++ }
    !h { end = $0 }
    END { check() }' {} + | head -5)
is "$bad" "" "every delivered copy is whole and for its own recipient"
badid=0
while read -r m st q; do
    for f in $(grep -l "^X-Marker: $m\$" "$mail"/box/new/*); do
        grep -q "^	by mx\\.example\\.test (sluice) with ESMTP id $q\$" "$f" || badid=$((badid + 1))
    done
done < <(awk '$2 == "ok"' "$tmpdir/results")
is "$badid" 0 "each copy of a 250 message carries the queue id of that reply"
total=$(wc -l < "$tmpdir/got")
note "$total copies of $(wc -l < "$tmpdir/got-u") messages ($((total - $(wc -l < "$tmpdir/got-u"))) duplicates, allowed after a runner crash)"

# The spool's tmp/: a writer killed before its rename leaves tmp/QID;
# sluice-runq removes such files once a day old (and its own *.runq at start).
left=$(find "$spool/tmp" -type f -printf '%f\n')
is "$(printf '%s' "$left" | grep -v -E '^[0-9a-f]{21}$' | grep -c .)" 0 \
    "the only files left in tmp/ are named by a queue id (a writer's)"
leaked=0 stale=0
for f in $left; do
    m=$(sed -n 's/^X-Marker: //p' "$spool/tmp/$f" | head -1)
    [ -n "$m" ] || continue
    grep -q "^$m ok " "$tmpdir/results" && leaked=$((leaked + 1))
    grep -qx "$m" "$tmpdir/got-u" && stale=$((stale + 1))
done
is "$leaked" 0 "no file left in tmp/ belongs to a message answered 250"
is "$stale" 0 "no message left in tmp/ was delivered"
diag "$(printf '%s' "$left" | grep -c .) files left in tmp/ by killed writers"
n_before=$(ls "$mail/box/new" | wc -l)
for f in $left; do touch -d '2 days ago' "$spool/tmp/$f"; done
e2e_runonce
is "$(find "$spool/tmp" -type f | wc -l)" 0 "sluice-runq removes tmp/ files older than a day at start"
is "$(ls "$mail/box/new" | wc -l)" "$n_before" "and delivers none of them"
is "$(e2e_leftovers | head -3)" "" "nothing in bad/, dead/, quarantine/ or the Maildir's tmp/"
ok $([ $(($(date +%s) - t0)) -lt 60 ]; echo $?) "all within a minute ($(($(date +%s) - t0)) s)"
done_testing
