#!/usr/bin/python3
"""t/soak/soak.py — the soak's load, killer, sampler and accounting; run by
t/soak/soak.sh, which sets up the instance (see there).

    soak.py SECONDS DIR PORT TCPSERVER-PID SPOOL MAILDIR SINK-PID SINK-RECORD

For SECONDS it sends mail to sluice-smtpd on 127.0.0.1:PORT from Python
clients (sessions of 1-10 messages, some dropped on purpose before the
final dot), swaks and smtp-source; kills, every few seconds, one sluice
process picked at random, restarting the runner (sluice-runq) as a
supervisor would; and samples memory and descriptors into DIR/samples.csv.
Then it stops the load, calms the remote peer, drains the queue and
accounts for every message, printing "key=value" lines on standard output
and the faults it found, one a line, in DIR/faults.
Every loop is bounded in time: the whole run ends by SECONDS + 15 minutes.
"""
import collections
import glob
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

secs, out = int(sys.argv[1]), sys.argv[2]
port, tcp = int(sys.argv[3]), int(sys.argv[4])
spool, maildir = sys.argv[5], sys.argv[6]
sink_pid, sink_record = int(sys.argv[7]), sys.argv[8]
t0 = time.time()
deadline = t0 + secs
rnd = random.Random()
lock = threading.Lock()
runq_log = open(os.path.join(out, "runq.log"), "ab")

# ---- the clients ---------------------------------------------------------

# Message-ID -> [state, qid, [accepted recipients]]; state is ok, refused
# CODE, notsent (the dot never left), dropped (we cut it off before the dot)
# or ambiguous (the connection died after the dot, before the reply).
sent = {}
counter = collections.Counter()


class Broken(Exception):
    pass


class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
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


def recipients(n):
    """One to three recipients: local (example.test), remote (remote.test)
    or both."""
    kind = rnd.random()
    k = rnd.randint(1, 3)
    r = []
    for j in range(k):
        local = kind < 0.4 or (kind >= 0.8 and j % 2 == 0)
        r.append("%s%d-%d@%s" % ("u" if local else "r", n, j,
                                 "example.test" if local else "remote.test"))
    return r


def message(mid, rcpts, t):
    lines = ["soak %s line %d %s" % (mid, i, "y" * 50)
             for i in range(rnd.randint(5, 200))]
    return ("From: <s%d@example.test>\r\nTo: %s\r\nSubject: soak %s\r\n"
            "Message-ID: <%s>\r\n\r\n%s\r\n..a dotted line\r\nend of %s\r\n"
            % (t, ", ".join("<%s>" % x for x in rcpts), mid, mid,
               "\r\n".join(lines), mid)).encode()


def one(c, t, n):
    """A transaction on c; returns False when the connection is done for."""
    mid = "soak-py%d-%d@client.test" % (t, n)
    rcpts = recipients(n)
    ent = ["notsent", "", []]
    with lock:
        sent[mid] = ent
    drop = rnd.random()
    try:
        if not c.cmd("MAIL FROM:<s%d@example.test>" % t).startswith("250"):
            return False
        for r in rcpts:
            if c.cmd("RCPT TO:<%s>" % r).startswith("250"):
                ent[2].append(r)
        if drop < 0.02:                 # a client that goes away after RCPT
            ent[0] = "dropped"
            return False
        if not ent[2]:
            c.cmd("RSET")
            return True
        if not c.cmd("DATA").startswith("354"):
            return False
        data = message(mid, rcpts, t)
        if drop < 0.05:                 # ... or in the middle of its data
            c.s.sendall(data[:len(data) // 2])
            ent[0] = "dropped"
            return False
        c.s.sendall(data)
    except (Broken, OSError):
        return False
    try:
        c.s.sendall(b".\r\n")
        r = c.reply()
    except (Broken, OSError):
        ent[0] = "ambiguous"
        return False
    if r.startswith("250 "):
        ent[0], ent[1] = "ok", r.split()[-1]
    else:
        ent[0] = "refused " + r[:3]
    return True


def backlog():
    """Hold the load while the queue is behind: a soak measures a steady
    state, not how long a backlog of hours takes to drain."""
    while time.time() < deadline and queued()[0] > 200:
        counter["backlog pauses"] += 1
        time.sleep(1)


def py_client(t):
    n = 0
    while time.time() < deadline:
        backlog()
        try:
            c = Conn()
            if not c.reply().startswith("220") or \
               not c.cmd("EHLO py%d.client.test" % t).startswith("250"):
                raise Broken("greeting")
        except (Broken, OSError):
            time.sleep(0.2)
            continue
        for _ in range(rnd.randint(1, 10)):
            if time.time() >= deadline:
                break
            n += 1
            if not one(c, t, n):
                break
            time.sleep(rnd.uniform(0, 0.4))
        else:
            try:
                c.cmd("QUIT")
            except (Broken, OSError):
                pass
        c.close()
        time.sleep(rnd.uniform(0, 0.3))


def swaks_client():
    n = 0
    while time.time() < deadline:
        backlog()
        n += 1
        mid = "soak-swaks-%d@client.test" % n
        rcpts = ["w%d@example.test" % n, "w%d@remote.test" % n]
        ent = ["notsent", "", []]
        with lock:
            sent[mid] = ent
        try:
            o = subprocess.run(
                ["swaks", "-s", "127.0.0.1", "-p", str(port), "--timeout", "60",
                 "--from", "sw@example.test", "--to", ",".join(rcpts),
                 "--header", "Message-ID: <%s>" % mid] +
                (["--pipeline"] if n % 2 else []),
                stdin=subprocess.DEVNULL, capture_output=True, timeout=90).stdout
        except subprocess.TimeoutExpired:
            o = b""
        o = o.decode("latin-1")
        m = re.search(r"<- *250 2\.0\.0 Ok: queued as (\S+)", o)
        if m:
            ent[0], ent[1], ent[2] = "ok", m.group(1), rcpts
        elif re.search(r"\r?\n -> \.\r?\n", o) and not re.search(r"<- *[45]\d\d.*\n.*-> QUIT", o):
            ent[0] = "ambiguous"
        elif re.search(r"<\*\* *([45]\d\d)", o):
            ent[0] = "refused " + re.search(r"<\*\* *([45]\d\d)", o).group(1)
        time.sleep(rnd.uniform(1, 4))


def smtp_source_client():
    """Postfix's smtp-source: HELO, no pipelining, numbered local
    recipients; accounted from the server's log (it reports no queue ids)."""
    k = 0
    while time.time() + 30 < deadline:
        backlog()
        k += 1
        try:
            subprocess.run(["/usr/sbin/smtp-source", "-N", "-s", "2", "-m", "20",
                            "-l", "3000", "-f", "src@example.test",
                            "-t", "src%d@example.test" % k, "127.0.0.1:%d" % port],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        counter["smtp-source runs"] += 1
        time.sleep(rnd.uniform(5, 15))

# ---- processes -----------------------------------------------------------


def children(pid):
    try:
        return [int(k) for k in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
    except OSError:
        return []


def tree(pid):
    r, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in children(p):
            r.append(k)
            todo.append(k)
    return r


def comm(pid):
    try:
        return open("/proc/%d/comm" % pid).read().strip()
    except OSError:
        return ""


runners = []


def start_runner():
    p = subprocess.Popen(["sluice-runq"], stdin=subprocess.DEVNULL, stdout=runq_log,
                         stderr=runq_log, start_new_session=True)
    runners.append(p)
    return p


def sluice_procs():
    """Every living sluice process but tcpserver: name -> [pids]."""
    procs = collections.defaultdict(list)
    pids = tree(tcp)
    for r in runners:
        if r.poll() is None:
            pids.append(r.pid)
        pids += tree(r.pid)
    for p in pids:
        c = comm(p)
        if c.startswith("sluice-"):
            procs[c].append(p)
    return procs


kills = collections.Counter()
rq = None


def killer():
    global rq
    while time.time() < deadline:
        time.sleep(rnd.uniform(1, 5))
        procs = sluice_procs()
        # The runner a tenth of the time, else any other process; so the
        # chain's stages, which live longest, are hit most.
        if rnd.random() < 0.1:
            victim, name = rq.pid, "sluice-runq"
        else:
            pool = [(p, c) for c, ps in procs.items() for p in ps if p != rq.pid]
            if not pool:
                continue
            victim, name = rnd.choice(pool)
        try:
            os.kill(victim, signal.SIGKILL)
            kills[name] += 1
        except ProcessLookupError:
            pass


def supervisor():
    """Restarts the runner when it has died (killed, or stopped by itself)."""
    global rq
    while time.time() < deadline:
        if rq.poll() is not None:
            counter["runner restarts"] += 1
            rq = start_runner()
        time.sleep(0.2)


def status(pid):
    """(RSS in KiB, open descriptors) of pid, or None."""
    try:
        rss = 0
        for l in open("/proc/%d/status" % pid):
            if l.startswith("VmRSS:"):
                rss = int(l.split()[1])
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def queued():
    def n(d):
        try:
            return len(os.listdir(os.path.join(spool, d)))
        except FileNotFoundError:       # before the runner has made it
            return 0
    return n("incoming"), n("deferred")


def guarded(f, *a):
    """A thread that dies of an unexpected error says so and is counted:
    a soak that quietly lost half its load would prove little."""
    def run():
        try:
            f(*a)
        except Exception as e:
            counter["thread errors"] += 1
            print("%s: %r" % (f.__name__, e), file=sys.stderr)
    return threading.Thread(target=run, name=f.__name__)


def sampler():
    f = open(os.path.join(out, "samples.csv"), "w", buffering=1)
    f.write("seconds,runq_pid,runq_age_s,runq_rss_kb,runq_fds,tcpserver_rss_kb,"
            "tcpserver_fds,smtpd_n,smtpd_rss_max_kb,smtpd_fds_max,stages_n,"
            "stages_rss_max_kb,stages_fds_max,incoming,deferred,acked\n")
    born = {}
    while time.time() < deadline:
        procs = sluice_procs()
        r = rq
        born.setdefault(r.pid, time.time())
        rs = status(r.pid) or (0, 0)
        ts = status(tcp) or (0, 0)
        sm = [status(p) for p in procs.get("sluice-smtpd", [])]
        sm = [s for s in sm if s]
        st = [status(p) for c, ps in procs.items() if c not in ("sluice-smtpd", "sluice-runq")
              for p in ps]
        st = [s for s in st if s]
        inc, dfr = queued()
        with lock:
            acked = sum(1 for e in sent.values() if e[0] == "ok")
        f.write("%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n" % (
            time.time() - t0, r.pid, time.time() - born[r.pid], rs[0], rs[1], ts[0], ts[1],
            len(sm), max([s[0] for s in sm], default=0), max([s[1] for s in sm], default=0),
            len(st), max([s[0] for s in st], default=0), max([s[1] for s in st], default=0),
            inc, dfr, acked))
        time.sleep(10)


rq = start_runner()
end = time.time() + 20
while time.time() < end and not os.path.isdir(os.path.join(spool, "delivered")):
    time.sleep(0.1)
threads = [guarded(py_client, t) for t in range(4)]
threads += [guarded(f) for f in (swaks_client, smtp_source_client, killer, supervisor, sampler)]
for t in threads:
    t.daemon = True
    t.start()
for t in threads:
    t.join(max(1, deadline + 150 - time.time()))
stuck = [t.name for t in threads if t.is_alive()]

# ---- drain ---------------------------------------------------------------

t_drain = time.time()
os.kill(sink_pid, signal.SIGUSR1)       # the peer fails no more
# The sessions end (smtpd's idle timeout is far; the clients have closed).
end = time.time() + 60
while time.time() < end and children(tcp):
    time.sleep(0.2)
# The runner stops cleanly; the chains of killed runners finish on their own.
rq.send_signal(signal.SIGTERM)
try:
    rq.wait(120)
except subprocess.TimeoutExpired:
    rq.kill()
    rq.wait()


def alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


end = time.time() + 120
while time.time() < end and any(alive(r.pid) for r in runners):
    time.sleep(0.2)
orphans = sum(alive(r.pid) for r in runners)
drain_runs = 0
for drain_runs in range(1, 11):
    subprocess.run(["sluice-runq", "-1", "-f"], stdin=subprocess.DEVNULL,
                   stdout=runq_log, stderr=runq_log, timeout=300)
    if queued() == (0, 0):
        break
    time.sleep(2)
t_drained = time.time()

# ---- accounting ----------------------------------------------------------
# Outcomes per (queue id, recipient): delivered copies (Maildir or the
# remote peer), bounce notices naming it, and whether it is still queued.
delivered = collections.Counter()
bounced = collections.Counter()
still = set()
faults = []
RECV = re.compile(r"^\tby mx\.example\.test \(sluice\) with E?SMTP id ([0-9a-f]+)", re.M)


def header(path):
    with open(path, "rb") as f:
        return f.read().decode("latin-1")


dsn_files = 0
mids = set()                            # the Message-IDs of delivered copies
mid_of = {}                             # queue id -> Message-ID, from the copies
for p in glob.glob(os.path.join(maildir, "*", "new", "*")):
    text = header(p)
    head = text.split("\n\n", 1)[0]
    if head.startswith("Return-Path: <>"):
        dsn_files += 1
        q = re.search(r"^X-Sluice-Queue-ID: (\S+)", text, re.M)
        for r in re.findall(r"^Final-Recipient: rfc822; ?(\S+)\nAction: failed", text, re.M):
            bounced[(q.group(1) if q else "-", r.lower())] += 1
        continue
    q = RECV.search(head)
    m = re.search(r"^Message-ID: <([^>]*)>", head, re.M | re.I)
    if m:
        mids.add(m.group(1))
        if q:
            mid_of[q.group(1)] = m.group(1)
    to = re.search(r"^Delivered-To: (\S+)", head, re.M)
    delivered[(q.group(1) if q else "-", to.group(1).lower() if to else "-")] += 1
sink_copies = 0
for l in open(sink_record):
    q, mid, rs = l.rstrip("\n").split("\t")
    mids.add(mid.strip("<>"))
    mid_of[q] = mid.strip("<>")
    for r in rs.split(","):
        delivered[(q, r.lower())] += 1
        sink_copies += 1
for d in ("incoming", "deferred"):
    for p in glob.glob(os.path.join(spool, d, "*")):
        q = os.path.basename(p)
        for r in re.findall(r"^RCPT TO:<([^>]*)>", header(p), re.M):
            still.add((q, r.lower()))

# The server's own view: every queue id it answered 250, with its count.
server = {}
refused_451 = set()
for l in open(os.path.join(out, "smtpd.log"), errors="replace"):
    m = re.match(r"sluice-smtpd: qid=(\S+) .*nrcpt=(\d+) .*reply=(\d+)$", l)
    if m and m.group(3) == "250":
        server[m.group(1)] = int(m.group(2))
    elif m and m.group(3) == "451":
        refused_451.add(m.group(1))

outcome = collections.Counter()
acked = {e[1]: e for e in sent.values() if e[0] == "ok"}
n_rcpt = 0
for q, e in acked.items():
    for r in e[2]:
        n_rcpt += 1
        k = (q, r.lower())
        if delivered[k]:
            outcome["delivered"] += 1
        elif bounced[k]:
            outcome["bounced"] += 1
        elif k in still:
            outcome["queued"] += 1
        else:
            faults.append("lost: %s %s %s" % (q, r, [m for m, x in sent.items() if x is e][0]))
    if q not in server:
        faults.append("client saw 250 for %s, the server logged none" % q)
# smtp-source's messages (and the ambiguous ones the server took): by the
# server's log, each of its recipients has an outcome.
seen = collections.defaultdict(set)
for (q, r) in list(delivered) + list(bounced) + list(still):
    seen[q].add(r)
other = 0
for q, n in server.items():
    if q in acked:
        continue
    other += 1
    got = len(seen.get(q, ()))
    if got < n:
        faults.append("lost: %s (server said 250 for %d recipients, %d accounted for)" % (q, n, got))
    outcome["delivered (by server log)"] += min(got, n)
# Nothing is delivered that nobody acknowledged, except after a 451 for a
# queue program killed after its commit (the client would send it again).
for m in sorted(m for m, e in sent.items() if e[0] in ("notsent", "dropped") and m in mids):
    faults.append("delivered, yet cut off before its final dot: %s" % m)
# Nor after a connection that died after the final dot (sluice-smtpd killed
# between sluice-enqueue's commit and its reply, its log lines lost with it).
ghost_qids = set(q for (q, r) in delivered if q not in server and q != "-")
late_451 = ghost_qids & refused_451
ambiguous = set(m for m, e in sent.items() if e[0] == "ambiguous")
late_amb = set(q for q in ghost_qids - refused_451 if mid_of.get(q) in ambiguous)
ghosts = ghost_qids - refused_451 - late_amb
for q in sorted(ghosts):
    faults.append("delivered, never acknowledged: %s" % q)
dups = sum(n - 1 for n in delivered.values() if n > 1)
dup_dsn = sum(n - 1 for n in bounced.values() if n > 1)
deferrals = 0
for l in open(os.path.join(out, "runq.log"), errors="replace"):
    if "status=deferred" in l:
        deferrals += 1
window = kills["sluice-local"] + kills["sluice-smtp"]
if dups > window:
    faults.append("duplicates %d beyond the window (%d kills of delivering stages)" % (dups, window))
if orphans:
    faults.append("%d killed runners' chains still running after 120 s" % orphans)
if stuck:
    faults.append("threads still running: %s" % stuck)
if counter["thread errors"]:
    faults.append("%d load, killer or sampler threads died of an error" % counter["thread errors"])

states = collections.Counter(e[0].split()[0] for e in sent.values())
with open(os.path.join(out, "faults"), "w") as f:
    for x in faults:
        f.write(x + "\n")
print("seconds=%d drain_seconds=%d drain_runs=%d" % (t_drain - t0, t_drained - t_drain, drain_runs))
print("sent=%d acked=%d refused=%d notsent=%d dropped=%d ambiguous=%d" % (
    len(sent), states["ok"], states["refused"], states["notsent"], states["dropped"],
    states["ambiguous"]))
print("server_acked=%d smtp_source_and_other=%d acked_recipients=%d" % (len(server), other, n_rcpt))
print("delivered=%d bounced=%d queued=%d by_server_log=%d" % (
    outcome["delivered"], outcome["bounced"], outcome["queued"],
    outcome["delivered (by server log)"]))
print("copies_local=%d copies_remote=%d dsn=%d deferrals=%d" % (
    sum(delivered.values()) - sink_copies, sink_copies, dsn_files, deferrals))
print("duplicates=%d duplicate_dsn=%d window=%d delivered_after_451=%d delivered_ambiguous=%d" % (
    dups, dup_dsn, window, len(late_451), len(late_amb)))
print("kills=%s runner_restarts=%d smtp_source_runs=%d backlog_pauses=%d" % (
    ",".join("%s:%d" % kv for kv in sorted(kills.items())), counter["runner restarts"],
    counter["smtp-source runs"], counter["backlog pauses"]))
print("faults=%d still_queued_files=%d" % (len(faults), sum(queued())))
sys.stdout.flush()
os._exit(0)
