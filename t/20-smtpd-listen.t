#!/bin/bash
# sluice-smtpd -l: its own listener, a forked session per connection, in
# place of tcpserver.  Bad options and an address it cannot bind are
# refused at start; as root it binds, then becomes -u USER (and refuses
# to serve sessions as root without one); started with the capability to
# bind a low port, it keeps no capability.  Each session sees what tcpserver
# would have given it (the client's address and port, in the log and the
# queue file), never an inherited RELAYCLIENT.  At -c sessions further
# clients wait in the backlog; a session killed by a signal is logged and
# reaped; SIGTERM stops the listener, not the sessions in progress, and
# after a kill -9 of the listener its session still finishes while a new
# listener takes the port.  The log names the port bound (-l ADDRESS:0
# too).  Real
# clients (Python's smtplib and sockets), the real queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

user=sluicelisten$$
system_user "$user"
uid=$(id -u "$user")

# conf NAME — a configuration with a spool the user owns (sluice-smtpd
# writes the queue itself); exports SLUICE_CONF.
conf() {
    smtpd_conf "$1"
    mkdir -p "$tmpdir/$1/spool"
    chown -R "$user:" "$tmpdir/$1/spool"
    export SLUICE_CONF=$tmpdir/$1
}

# listener NAME ARGS... — sluice-smtpd ARGS in the background, its log in
# $tmpdir/NAME.log; sets lpid.  Waits for the line saying it listens.
listener() {
    local name=$1
    shift
    env -u SLUICE_QUEUE "$@" </dev/null >>"$tmpdir/$name.log" 2>&1 &
    lpid=$!
    at_exit "stop_pid $lpid"
    wait_for "grep -q 'listening on' '$tmpdir/$name.log'" 10 ||
        bail "the listener $name did not start: $(cat "$tmpdir/$name.log")"
}

# session PORT [RCPT] — one message; prints the client's port and the reply
# to the final dot (or to RCPT, when refused there).
session() {
    "$PY" - "$@" <<'EOF'
import smtplib, sys
port = int(sys.argv[1])
rcpt = sys.argv[2] if len(sys.argv) > 2 else "test@example.test"
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
cport = s.sock.getsockname()[1]
s.ehlo("client.example.org")
s.mail("alice@example.org")
code, msg = s.rcpt(rcpt)
if code != 250:
    print(cport, code, msg.decode())
    sys.exit(0)
code, msg = s.data(b"Subject: listen\r\n\r\nhello\r\n")
print(cport, code, msg.decode())
s.quit()
EOF
}

# slow_session PORT — EHLO, "ready", 1.5 s, then a message: prints the
# reply to its final dot.
cat > "$tmpdir/slow.py" <<'EOF'
import smtplib, sys, time
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.example.org")
print("ready", flush=True)
time.sleep(1.5)
s.mail("alice@example.org")
s.rcpt("test@example.test")
print(s.data(b"Subject: slow\r\n\r\nhello\r\n")[0], flush=True)
s.quit()
EOF
slow_session() { "$PY" "$tmpdir/slow.py" "$@"; }

# three PORT [release] — three clients in turn: whether each is greeted (the
# third given 1.5 s); with "release", the first quits, and whether the
# third is greeted then.
cat > "$tmpdir/three.py" <<'EOF'
import socket, sys
port = int(sys.argv[1])
def greeted(s, t):
    s.settimeout(t)
    try:
        return s.recv(512).startswith(b"220 ")
    except socket.timeout:
        return False
a = socket.create_connection(("127.0.0.1", port)); print("a", greeted(a, 5))
b = socket.create_connection(("127.0.0.1", port)); print("b", greeted(b, 5))
c = socket.create_connection(("127.0.0.1", port)); print("c", greeted(c, 1.5))
if sys.argv[2:] == ["release"]:
    a.sendall(b"QUIT\r\n"); a.recv(512); a.close()
    print("c-after-one-ended", greeted(c, 5))
EOF
three() { "$PY" "$tmpdir/three.py" "$@"; }

# ---- bad options, and an address that cannot be bound: refused at start ----
libexec=$top/libexec
"$libexec/sluice-smtpd" -c 5 >/dev/null 2>"$tmpdir/u1"
is "$?" 100 "-c without -l: bad usage, exit 100"
like "$(cat "$tmpdir/u1")" '-l ADDRESS:PORT is missing' "the error says what is missing"
"$libexec/sluice-smtpd" -l ::1:25 >/dev/null 2>"$tmpdir/u2"
is "$?" 100 "-l ::1:25: bad usage"
like "$(cat "$tmpdir/u2")" 'IPv6 address goes in brackets' "the error shows the form [::1]:25"
"$libexec/sluice-smtpd" -l 127.0.0.1:25 -c 0 >/dev/null 2>"$tmpdir/u3"
is "$?" 100 "-c 0: bad usage"
"$libexec/sluice-smtpd" -l 127.0.0.1:smtpx -u "$user" >/dev/null 2>"$tmpdir/u4"
is "$?" 100 "a port that is no number nor service: refused, exit 100"
like "$(cat "$tmpdir/u4")" 'listen on 127.0.0.1:smtpx' "the error names the address"
conf busy
busy=$(free_port)
"$PY" -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$busy" &
holder=$!
at_exit "stop_pid $holder"
wait_port "$busy"
"$libexec/sluice-smtpd" -l "127.0.0.1:$busy" -u "$user" >/dev/null 2>"$tmpdir/u5"
is "$?" 111 "an address in use: exit 111 at start"
like "$(cat "$tmpdir/u5")" "listen on 127.0.0.1:$busy: bind: Address in use" \
    "the error names the address and why"
stop_pid "$holder"
env -u SLUICE_ALLOW_ROOT "$libexec/sluice-smtpd" -l "127.0.0.1:$(free_port)" \
    >/dev/null 2>"$tmpdir/u6"
is "$?" 111 "as root without -u: refused, exit 111"
like "$(cat "$tmpdir/u6")" 'refusing to serve sessions as root: give -u USER' \
    "the error says to give -u"

# ---- as root with -u: binds, becomes the user, serves, as tcpserver would ----
conf main
port=$(free_port)
listener main env -u SLUICE_ALLOW_ROOT RELAYCLIENT= TCPREMOTEIP=192.0.2.9 \
    SSL_PROTOCOL=TLSv1.3 SSL_CIPHER=TLS_AES_128_GCM_SHA256 SLUICE_DNSBL='554 listed' \
    "$libexec/sluice-smtpd" -l "127.0.0.1:$port" -u "$user"
is "$(awk '/^Uid:/ { print $2 "/" $3 }' "/proc/$lpid/status")" "$uid/$uid" \
    "the listener runs as the user once bound"
r=$(session "$port")
like "$r" '^[0-9]+ 250 2\.0\.0 Ok: queued as ' "a message is accepted ($r)"
cport=${r%% *}
qid=$(sed -n 's/.*queued as \([0-9a-f]*\).*/\1/p' <<<"$r")
f=$tmpdir/main/spool/incoming/$qid
[ -n "$qid" ] && [ -f "$f" ]
ok $? "it is in incoming/ when the 250 comes"
is "$(stat -c %U "$f")" "$user" "the queue file is the user's"
like "$(head -1 "$f")" "^XFORWARD .*ADDR=127\.0\.0\.1 PORT=$cport " \
    "the queue file names the client's address and port (not an inherited TCPREMOTEIP)"
like "$(cat "$tmpdir/main.log")" "qid=$qid client=127\.0\.0\.1 " "the log names the client"
like "$(head -1 "$f")" ' PROTO=ESMTP ' \
    "an inherited SSL_PROTOCOL does not make a plain session TLS (PROTO=ESMTP, not ESMTPS)"
r=$(session "$port" alias@example.test)
like "$r" ' 250 ' "an inherited SLUICE_DNSBL (a listing) refuses no recipient ($r)"
r=$(session "$port" someone@elsewhere.example)
like "$r" '^[0-9]+ 554 5\.7\.1 ' "an inherited RELAYCLIENT gives no client relaying ($r)"
like "$(cat "$tmpdir/main.log")" 'RELAYCLIENT ignored' "and the listener says it ignored it"

# ---- a session killed by a signal: logged, reaped, the next is served ----
"$PY" - "$port" > "$tmpdir/held.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(512)
time.sleep(30)
EOF
hold=$!
at_exit "kill $hold 2>/dev/null"
wait_for "[ -n \"\$(pgrep -P $lpid)\" ]" 10
kid=$(pgrep -P "$lpid" | head -1)
kill -9 "$kid"
wait_for "grep -q 'session $kid ended by signal 9' '$tmpdir/main.log'" 10
ok $? "a session killed by -9 is logged by the listener"
kill "$hold" 2>/dev/null
like "$(session "$port")" ' 250 ' "the listener serves the next connection"
wait_for "[ -z \"\$(pgrep -P $lpid)\" ]" 10
zombies=$(ps -o stat= --ppid "$lpid" | grep -c Z)
is "$zombies" 0 "no session is left a zombie"

# ---- at -c sessions, the next client waits in the backlog ----
conf lim
lport=$(free_port)
listener lim "$libexec/sluice-smtpd" -l "127.0.0.1:$lport" -c 2 -u "$user"
three "$lport" release > "$tmpdir/lim.out" 2>&1
is "$(tr '\n' ' ' < "$tmpdir/lim.out")" \
    'a True b True c False c-after-one-ended True ' \
    "-c 2: a third client is greeted only when one of two sessions ends"
like "$(cat "$tmpdir/lim.log")" 'sessions at the limit \(2\): further clients wait' "the listener logs the limit"

# ---- SIGTERM: the listener stops; a session in progress finishes ----
slow_session "$lport" > "$tmpdir/term.out" 2>&1 &
tpid=$!
wait_for "grep -q ready '$tmpdir/term.out'" 10
kill -TERM "$lpid"
wait_for "! kill -0 $lpid" 5
ok $? "SIGTERM: the listener exits"
wait "$lpid"
is "$?" 0 "with status 0"
port_open "$lport"
isnt_open=$?
is "$isnt_open" 1 "the port no longer accepts"
wait "$tpid"
is "$(tail -1 "$tmpdir/term.out")" 250 "the session in progress still gets its message accepted"
like "$(cat "$tmpdir/lim.log")" 'stopping on signal 15; sessions in progress go on: 1' \
    "the listener logs that it stops and how many sessions go on"

# ---- two addresses, IPv4 and IPv6: each served ----
conf two
p4=$(free_port) p6=$(free_port)
listener two "$libexec/sluice-smtpd" -l "127.0.0.1:$p4" -l "[::1]:$p6" -u "$user"
banner() {	# banner HOST PORT: the greeting's first line
    "$PY" -c 'import socket,sys
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=10)
print(s.recv(512).decode().split("\r\n")[0])' "$1" "$2" 2>&1
}
like "$(banner 127.0.0.1 "$p4")" '^220 ' "-l 127.0.0.1:P: served"
like "$(banner ::1 "$p6")" '^220 ' "-l [::1]:P beside it: served too"
like "$(cat "$tmpdir/two.log")" "listening on \\[::1\\]:$p6 " "an IPv6 address is logged in brackets"

# ---- port 0: the port the kernel chose is logged, and served ----
conf zero
listener zero "$libexec/sluice-smtpd" -l "127.0.0.1:0" -u "$user"
zport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmpdir/zero.log")
ok $([ -n "$zport" ] && [ "$zport" -gt 0 ]; echo $?) "-l 127.0.0.1:0 logs the port chosen ($zport), not 0"
like "$(banner 127.0.0.1 "${zport:-1}")" '^220 ' "and that port is served"

# ---- out of descriptors: accept fails, logged once a second, no busy loop ----
conf fds
fport=$(free_port)
# Started as the user, under the lowest limit it starts under: its socket
# took the last descriptor.
for lim in 4 5 6 7 8 9 10 11 12; do
    : > "$tmpdir/fds.log"
    setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups -- \
        prlimit --nofile=$lim:$lim "$libexec/sluice-smtpd" -l "127.0.0.1:$fport" \
        </dev/null >>"$tmpdir/fds.log" 2>&1 &
    lpid=$!
    wait_for "grep -q 'listening on\|fatal' '$tmpdir/fds.log'" 10
    grep -q 'listening on' "$tmpdir/fds.log" && break
    wait "$lpid"
done
at_exit "stop_pid $lpid"
grep -q 'listening on' "$tmpdir/fds.log" || bail "no descriptor limit it starts under: $(cat "$tmpdir/fds.log")"
"$PY" -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=5); time.sleep(3)' "$fport" &
cl=$!
sleep 2.5
n=$(grep -c 'accept: ' "$tmpdir/fds.log")
ok $([ "$n" -ge 1 ] && [ "$n" -le 4 ]; echo $?) \
    "with no descriptor left, the failed accept is logged, once a second at most ($n lines in 2.5 s)"
ticks=$(awk '{ print $14 + $15 }' "/proc/$lpid/stat")
ok $([ "$ticks" -lt 50 ]; echo $?) "and the listener does not spin meanwhile ($ticks ticks of CPU)"
kill -TERM "$lpid"
wait_for "! kill -0 $lpid" 3
ok $? "SIGTERM stops it even so (its socket stays readable: ppoll never waits)"
wait "$cl"
stop_pid "$lpid"

# ---- kill -9 of the listener: the session in progress still finishes, and
# a new listener binds the port at once ----
conf k9
kport=$(free_port)
listener k9 "$libexec/sluice-smtpd" -l "127.0.0.1:$kport" -u "$user"
slow_session "$kport" > "$tmpdir/k9.out" 2>&1 &
tpid=$!
wait_for "grep -q ready '$tmpdir/k9.out'" 10
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null
"$libexec/sluice-smtpd" -l "127.0.0.1:$kport" -u "$user" </dev/null >"$tmpdir/k9b.log" 2>&1 &
lpid=$!
at_exit "stop_pid $lpid"
wait_for "grep -q 'listening on\|fatal' '$tmpdir/k9b.log'" 10
like "$(cat "$tmpdir/k9b.log")" 'listening on' \
    "after kill -9 of the listener, a new one binds the port while the old session runs"
wait "$tpid"
is "$(tail -1 "$tmpdir/k9.out")" 250 "the session of the killed listener still gets its message accepted"
is "$(find "$tmpdir/k9/spool/incoming" -type f | wc -l)" 1 "and it is in the queue, once"
like "$(banner 127.0.0.1 "$kport")" '^220 ' "the new listener serves"

# ---- a setting changed: the next session has it (no restart) ----
conf cfg
cport2=$(free_port)
listener cfg "$libexec/sluice-smtpd" -l "127.0.0.1:$cport2" -u "$user"
like "$(banner 127.0.0.1 "$cport2")" '^220 mx\.example\.test ESMTP' "the greeting as set"
printf 'smtpd_greeting changed greeting\n' >> "$tmpdir/cfg/config"
sluice-mkcdb -o "$tmpdir/cfg/config.cdb" "$tmpdir/cfg/config" || bail "config"
like "$(banner 127.0.0.1 "$cport2")" 'changed greeting' \
    "smtpd_greeting changed and compiled: the next session greets so"

# ---- a child the listener did not fork (it was started with one) ----
conf inh
iport=$(free_port)
listener inh sh -c "sleep 0.3 & exec '$libexec/sluice-smtpd' -l 127.0.0.1:$iport -c 2 -u $user"
sleep 0.8
three "$iport" > "$tmpdir/inh.out" 2>&1
is "$(tr '\n' ' ' < "$tmpdir/inh.out")" 'a True b True c False ' \
    "a child it did not fork ends: -c 2 still admits two sessions, and only two"

# ---- a client that resets while it waits in the backlog ----
conf rst
rport=$(free_port)
listener rst "$libexec/sluice-smtpd" -l "127.0.0.1:$rport" -c 1 -u "$user"
"$PY" - "$rport" <<'EOF'
import socket, struct, sys, time
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port)); a.recv(512)
b = socket.create_connection(("127.0.0.1", port))
b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
b.close()                               # a reset, still in the backlog
a.sendall(b"QUIT\r\n"); a.recv(512); a.close()
time.sleep(1)
EOF
unlike "$(cat "$tmpdir/rst.log")" 'getpeername|fatal' \
    "a client reset before it was accepted is no fatal error"
like "$(cat "$tmpdir/rst.log")" 'client=127\.0\.0\.1 .*lost_connection' \
    "its session names it and logs the lost connection, as under tcpserver"

# ---- started with the capability to bind a low port, it keeps none ----
low=''
for p in $(shuf -i 700-990 -n 40); do
    port_open "$p" || { low=$p; break; }
done
[ -n "$low" ] || bail "no free port under 1024"
conf caps
listener caps setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups \
    --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- \
    env -u SLUICE_ALLOW_ROOT "$libexec/sluice-smtpd" -l "127.0.0.1:$low"
like "$(session "$low")" ' 250 ' "as a user with CAP_NET_BIND_SERVICE: port $low is bound and served"
caps=$(awk '/^Cap(Inh|Prm|Eff|Amb):/ { printf "%s %s ", $1, $2 }' "/proc/$lpid/status")
is "$caps" 'CapInh: 0000000000000000 CapPrm: 0000000000000000 CapEff: 0000000000000000 CapAmb: 0000000000000000 ' \
    "the listener keeps no capability once bound"

done_testing
