#!/bin/bash
# sluice-smtpd without SLUICE_QUEUE, as the spool's owner, writes each
# accepted message into the queue itself (lib/enqueue.c, the code
# sluice-enqueue writes with): no program per message, the same queue file,
# the same hand-off (tmp/, fsync, rename into incoming/, fsync incoming/)
# before the 250.  A refused, broken or failed message leaves nothing in the
# queue; a kill -9 at each step of the hand-off leaves either nothing or the
# whole message, never an acknowledged message lost.  An id found queued
# already gives way to a new one, everywhere.  A spool of another user, or
# SLUICE_QUEUE set, still runs the program.  Real tcpserver, real clients
# (Python's socket and smtplib), strace for the exec count, the kills and
# the id found queued.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

command -v strace >/dev/null || bail "strace is needed (apt-get install strace)"

# listen NAME [ENV=VALUE...] [-- WRAPPER...] — sluice-smtpd on a free port
# with the configuration $tmpdir/NAME (made by smtpd_conf), SLUICE_QUEUE
# unset unless given; sets $port.  WRAPPER runs sluice-smtpd (strace).
listen() {
    local name=$1 pid i
    local -a envs=() wrap=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ "${1:-}" = -- ] && { shift; wrap=("$@"); }
    port=$(free_port) || bail "no free port"
    env -u SLUICE_QUEUE SLUICE_CONF="$tmpdir/$name" "${envs[@]}" \
        tcpserver -R -H -l 0 -b 100 127.0.0.1 "$port" "${wrap[@]}" \
        "$top/libexec/sluice-smtpd" </dev/null >>"$tmpdir/$name.log" 2>&1 &
    pid=$!
    at_exit "stop_pid $pid"
    for ((i = 0; i < 100; i++)); do
        port_open "$port" && return 0
        sleep 0.1
    done
    bail "tcpserver for $name did not start: $(cat "$tmpdir/$name.log")"
}

# send PORT [MODE] — one message (From/Subject/a body of 300 lines); MODE:
# ok (the default), bare (a bare LF in the body), drop (the connection
# closed in the middle of the body).  Prints the reply to the final dot,
# "closed" when the server went away first, or "dropped".
cat > "$tmpdir/send.py" <<'EOF'
import socket, sys
port, mode = int(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else "ok")
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l.endswith(b"\n"):
            raise EOFError
        if l[3:4] != b"-":
            return l.decode().rstrip("\r\n")
try:
    reply()
    for c in ("EHLO client.example.org", "MAIL FROM:<alice@example.org>",
              "RCPT TO:<test@example.test>", "DATA"):
        s.sendall(c.encode() + b"\r\n")
        r = reply()
    body = b"From: <alice@example.org>\r\nSubject: written by smtpd\r\n\r\n"
    body += b"".join(b"line %d of the body\r\n" % i for i in range(300))
    if mode == "bare":
        body += b"a bare\nline feed\r\n"
    if mode == "drop":
        s.sendall(body[:4000])
        s.close()
        print("dropped")
        sys.exit(0)
    s.sendall(body + b".\r\n")
    print(reply())
    s.sendall(b"QUIT\r\n")
except (EOFError, OSError):
    print("closed")
EOF
send() { "$PY" "$tmpdir/send.py" "$@"; }
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# ---- the message is in incoming/, with no program run for it ----
smtpd_conf own
sp=$tmpdir/own/spool
listen own -- strace -f -qq -o "$tmpdir/own.exec" -e trace=execve
r=$(send "$port")
like "$r" '^250 ' "default: the message is accepted ($r)"
qid=$(sed -n 's/^250 .* queued as \([0-9a-f]*\).*/\1/p' <<<"$r")
[ -n "$qid" ] && [ -f "$sp/incoming/$qid" ]
ok $? "default: incoming/QID is there when the 250 comes ($qid)"
is "$(count "$sp/tmp")" 0 "default: nothing is left in tmp/"
like "$(head -1 "$sp/incoming/$qid")" "^XFORWARD .*IDENT=$qid" \
    "default: the file carries the queue id of the 250"
like "$(cat "$sp/incoming/$qid")" 'line 299 of the body' "default: the whole body is in it"
n=$(grep -c 'execve(' "$tmpdir/own.exec")
is "$n" 1 "default: sluice-smtpd is the only program exec'd for the session"
like "$(cat "$tmpdir/own.log")" "qid=$qid client=127.0.0.1 .*queue_status=0 reply=250" \
    "default: the log line names the queue id, status 0 and the 250"

# ---- the same file as sluice-enqueue writes ----
smtpd_conf prog
listen prog SLUICE_QUEUE=sluice-enqueue -- strace -f -qq -o "$tmpdir/prog.exec" -e trace=execve
r2=$(send "$port")
like "$r2" '^250 ' "SLUICE_QUEUE=sluice-enqueue: accepted ($r2)"
f2=$(find "$tmpdir/prog/spool/incoming" -type f | head -1)
like "$(grep 'execve(' "$tmpdir/prog.exec")" 'sluice-enqueue' \
    "SLUICE_QUEUE=sluice-enqueue: the program is run (the control of the exec count)"
norm() { sed -e 's/[0-9a-f]\{21\}/QID/g' -e 's/ PORT=[0-9]* / PORT=N /' -e 's/; [A-Z][a-z][a-z], .*[0-9][0-9]:[0-9][0-9]:[0-9][0-9] [-+][0-9]*$/; DATE/' "$1"; }
is "$(norm "$sp/incoming/$qid")" "$(norm "$f2")" \
    "the queue file is byte for byte the one sluice-enqueue writes (but the id and date)"

# ---- refused or broken messages leave nothing ----
smtpd_conf own2
sp2=$tmpdir/own2/spool
listen own2
r=$(send "$port" bare)
like "$r" '^5' "a bare LF: refused ($r)"
send "$port" drop >/dev/null
wait_for "grep -q 'lost_connection' '$tmpdir/own2.log'" 10
is "$(count "$sp2/incoming")/$(count "$sp2/tmp")" 0/0 \
    "a refused message and a connection lost in the body leave nothing in incoming/ or tmp/"
r=$(send "$port")
like "$r" '^250 ' "the session after them is accepted"
is "$(count "$sp2/incoming")" 1 "and only it is queued"

# ---- several messages in one session: a file each ----
"$PY" - "$port" > "$tmpdir/multi.out" 2> "$tmpdir/multi.err" <<'EOF'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.ehlo("client.example.org")
    for i in range(3):
        s.mail("alice@example.org")
        s.rcpt("test@example.test")
        code, text = s.data(("Subject: one of three\r\n\r\nmessage %d\r\n" % i).encode())
        print(code, text.decode().split()[-1])
EOF
is "$(awk '{ print $1 }' "$tmpdir/multi.out" | tr '\n' ' ')" "250 250 250 " "three messages in one session: three 250s"
[ "$(awk '{ print $2 }' "$tmpdir/multi.out" | sort -u | wc -l)" = 3 ]
ok $? "  with three queue ids"
n=0
for q in $(awk '{ print $2 }' "$tmpdir/multi.out"); do
    grep -q "^message [0-2]\$" "$sp2/incoming/$q" 2>/dev/null && n=$((n + 1))
done
is "$n" 3 "  each in incoming/ under its id, with its own body"

# ---- a client that never finishes the message: the time limit, nothing queued ----
smtpd_conf slow smtpd_data_time_limit 2s smtpd_timeout 10s
listen slow
"$PY" - "$port" > "$tmpdir/slow.out" 2>&1 <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
f.readline()
for c in (b"EHLO c.example.org", b"MAIL FROM:<a@example.org>", b"RCPT TO:<test@example.test>", b"DATA"):
    s.sendall(c + b"\r\n")
    while True:
        l = f.readline()
        if l[3:4] != b"-":
            break
s.sendall(b"Subject: slow\r\n\r\n" + b"x" * 70000 + b"\r\n")  # past the write buffer
for i in range(8):                       # a byte now and then, never the end
    time.sleep(0.5)
    try:
        s.sendall(b"y")
    except OSError:
        break
print(f.readline().decode().rstrip())
EOF
like "$(cat "$tmpdir/slow.out")" '^421 ' "a body never finished: 421 at smtpd_data_time_limit ($(head -1 "$tmpdir/slow.out"))"
wait_for "grep -q 'event=time_limit in=data' '$tmpdir/slow.log'" 10
ok $? "  logged as the DATA time limit"
is "$(count "$tmpdir/slow/spool/tmp")/$(count "$tmpdir/slow/spool/incoming")" 0/0 \
    "  its queue file, written past the buffer, is removed; nothing is queued"

# ---- the hand-off fails: 451, nothing queued ----
smtpd_conf bad
sp3=$tmpdir/bad/spool
mkdir -p "$sp3/tmp"
: > "$sp3/incoming"      # a file where the folder should be: the rename fails
listen bad
r=$(send "$port")
like "$r" '^451 ' "incoming/ cannot take the file: 451 ($r)"
is "$(count "$sp3/tmp")" 0 "  and the tmp file is removed"
like "$(cat "$tmpdir/bad.log")" 'unable to move .*/tmp/[0-9a-f]* into incoming' \
    "  and the log says what failed"
rm -f "$sp3/incoming"; mkdir "$sp3/incoming"
rmdir "$sp3/tmp"; : > "$sp3/tmp"   # now no tmp/ folder: no file to write
r=$(send "$port")
like "$r" '^451 4\.3\.0 Temporary queue failure' "no tmp/ folder: the body is read, then 451 ($r)"
unlike "$r" 'program' "  which names no queue program: none was to run"
like "$(cat "$tmpdir/bad.log")" 'unable to start a queue file' "  logged"
like "$(cat "$tmpdir/bad.log")" 'queue_status=none reply=451' "  with queue_status=none"
is "$(count "$sp3/incoming")" 0 "  nothing queued"

# ---- a full disk: 451, nothing queued ----
mkdir -p "$tmpdir/small"
if mount -t tmpfs -o size=64k tmpfs "$tmpdir/small" 2>/dev/null; then
    at_exit "umount '$tmpdir/small'"
    smtpd_conf full spool "$tmpdir/small/spool"
    mkdir -p "$tmpdir/small/spool/tmp" "$tmpdir/small/spool/incoming"
    head -c 60000 /dev/zero > "$tmpdir/small/filler"
    listen full
    r=$(send "$port")
    like "$r" '^451 ' "a full disk: 451 ($r)"
    is "$(count "$tmpdir/small/spool/tmp")/$(count "$tmpdir/small/spool/incoming")" 0/0 \
        "  nothing in tmp/ or incoming/"
    like "$(cat "$tmpdir/full.log")" 'unable to write .*No space left' "  logged"
    rm -f "$tmpdir/small/filler"
    r=$(send "$port")
    like "$r" '^250 ' "  room again: accepted ($r)"
else
    skip "mount tmpfs needs root" 4
fi

# ---- kill -9 at each step of the hand-off ----
# The file's fsync (1st), the rename, the folder's fsync (2nd).  Before
# the rename: no 250, and the tmp file, locked by nobody, goes at the
# runner's next sweep.  After it: no 250 either, and the message is whole in
# incoming/ (delivered; the client's retry may make it twice, never zero).
killed() {   # killed NAME SYSCALL WHEN
    smtpd_conf "$1"
    listen "$1" -- strace -f -qq -o /dev/null -e trace="$2" -e inject="$2":signal=KILL:when="$3"
    r=$(send "$port")
    is "$r" closed "kill -9 at $2 #$3: the client gets no 250"
}
killed k1 fsync 1
is "$(count "$tmpdir/k1/spool/incoming")" 0 "  at the file's fsync: nothing in incoming/"
is "$(count "$tmpdir/k1/spool/tmp")" 1 "  the tmp file stays"
SLUICE_CONF=$tmpdir/k1 sluice-runq -1 </dev/null >"$tmpdir/k1.runq" 2>&1
is "$(count "$tmpdir/k1/spool/tmp")/$(count "$tmpdir/k1/spool/incoming")" 0/0 \
    "  the runner removes it (its writer is dead), nothing is queued"
killed k2 renameat 1
is "$(count "$tmpdir/k2/spool/incoming")/$(count "$tmpdir/k2/spool/tmp")" 0/1 \
    "  at the rename: nothing in incoming/, the tmp file stays"
killed k3 fsync 2
f=$(find "$tmpdir/k3/spool/incoming" -type f | head -1)
[ -n "$f" ] && [ "$(tail -2 "$f")" = "line 299 of the body
." ]
ok $? "  at the folder's fsync: the message is whole in incoming/ ($f)"

# ---- the queue id is taken already: another one ----
# The id sluice-smtpd made is found queued (strace makes the first check,
# faccessat2 of incoming/QID, say it is there): the file takes a new id,
# which the 250, the log, the file's XFORWARD IDENT and its Received:
# field all give.
smtpd_conf renew
listen renew -- strace -f -qq -o /dev/null -e trace=faccessat2 -e inject=faccessat2:retval=0:when=1
r=$(send "$port")
like "$r" '^250 2\.0\.0 Ok: queued as [0-9a-f]+$' "the id is queued already: accepted under another ($r)"
q=${r##* }
f=$tmpdir/renew/spool/incoming/$q
ok $([ -f "$f" ]; echo $?) "  the file is incoming/$q"
is "$(grep -o ' IDENT=[0-9a-f]*' "$f")" " IDENT=$q" "  its XFORWARD IDENT is the new id"
like "$(grep -A1 '^Received: ' "$f")" "id $q" "  and so is its Received: field's"
is "$(grep -c 'qid=' "$tmpdir/renew.log")" "$(grep -c "qid=$q" "$tmpdir/renew.log")" \
    "  the log names the new id only"
is "$(count "$tmpdir/renew/spool/incoming")/$(count "$tmpdir/renew/spool/tmp")" 1/0 \
    "  one file queued, none left in tmp/"

# ---- the spool of another user: sluice-enqueue is run ----
smtpd_conf other
chown nobody: "$tmpdir/other/spool"
listen other -- strace -f -qq -o "$tmpdir/other.exec" -e trace=execve
r=$(send "$port")
like "$r" '^250 ' "a spool of another user: accepted ($r)"
like "$(grep 'execve(' "$tmpdir/other.exec")" 'sluice-enqueue' \
    "  through sluice-enqueue, which gives the file to the spool's owner"
is "$(stat -c %U "$(find "$tmpdir/other/spool/incoming" -type f | head -1)")" nobody \
    "  the queue file is the owner's"

done_testing
