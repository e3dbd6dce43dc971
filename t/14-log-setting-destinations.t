#!/bin/bash
# The setting "log" chooses, for every program, where its lines go: "syslog"
# sends them to the mail facility of the syslog socket (as syslog(3) does,
# RFC 3164 form), "stderr" writes them on standard error even when that is a
# socket (systemd's journal), "auto" (the default) is syslog only when
# standard error is a socket (inetd) and standard error otherwise.  The
# syslog socket here is a real unix datagram socket named by syslog_socket.
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf spool=$tmpdir/spool sock=$tmpdir/log.sock sys=$tmpdir/syslog
mkdir -p "$conf" "$spool"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool
start_syslog "$sock" "$sys"

# setlog VALUE [SOCKET] — the log setting, and the syslog socket.
setlog() {
    printf 'log %s\nsyslog_socket %s\n' "$1" "${2:-$sock}" > "$conf/config"
    sluice-mkcdb "$conf/config" || bail "config"
    : > "$sys"
}
msg='MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nhi\n.\n'
# syslog_has REGEX — a line matching it reaches the socket within 5 s.
syslog_has() { wait_for "grep -qE '$1' '$sys'" 5; }
stamp='[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}'

# ---- syslog ----
setlog syslog
printf "$msg" | sluice-enqueue 2> "$tmpdir/err"
is "$?" 0 "log syslog: sluice-enqueue queues"
is "$(cat "$tmpdir/err")" "" "and writes nothing on standard error"
syslog_has '^<22>'"$stamp"' sluice-enqueue\[[0-9]+\]: qid=[0-9a-f]{21} from=<a@example.org> nrcpt=1 size=[0-9]+ uid='
ok $? "its line reaches the syslog socket: facility mail, level info, name and pid"

printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\ncut' |
    sluice-enqueue 2> "$tmpdir/err"
is "$?" 111 "a truncated input is still a temporary failure"
is "$(cat "$tmpdir/err")" "" "its fatal error is not on standard error"
syslog_has '^<19>'"$stamp"' sluice-enqueue\[[0-9]+\]: fatal: '
ok $? "but in syslog, at level err"

printf 'NOT A STREAM\n' | sluice-envelope >/dev/null 2> "$tmpdir/err"
is "$(cat "$tmpdir/err")" "" "log syslog holds for a stage too (sluice-envelope)"
syslog_has '^<19>'"$stamp"' sluice-envelope\[[0-9]+\]: fatal: '
ok $? "whose error is in syslog"

mkdir "$tmpdir/notaspool" && touch "$tmpdir/notaspool/incoming"
SLUICE_SPOOL=$tmpdir/notaspool mailq 2> "$tmpdir/err"
like "$(cat "$tmpdir/err")" "^mailq: fatal: unable to read .*: Not a directory" \
    "a command's error stays on standard error, for its caller (mailq)"
syslog_has '^<19>.* mailq\[[0-9]+\]: fatal: unable to read '
ok $? "and is in syslog as well"

setlog syslog "$tmpdir/nothing-listens-here"
printf "$msg" | sluice-enqueue 2> "$tmpdir/err"
like "$(cat "$tmpdir/err")" "^sluice-enqueue: qid=" \
    "with no syslog socket to reach, a line goes to standard error rather than nowhere"

# ---- stderr, auto: with standard error a socket, as under systemd or inetd ----
# on_socket CMD... — runs CMD with its standard error a unix stream socket;
# prints what came through that socket.
on_socket() {
    "$PY" - "$@" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=b)
b.close()
p.communicate(b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nhi\n.\n")
out = b""
while True:
    d = a.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
PY
}
setlog stderr
like "$(on_socket sluice-enqueue)" "^sluice-enqueue: qid=[0-9a-f]{21} " \
    "log stderr: the line is written on standard error even when it is a socket"
sleep 0.3
is "$(cat "$sys")" "" "and nothing goes to syslog"

setlog auto
is "$(on_socket sluice-enqueue)" "" "log auto: nothing is written on a socket as standard error (inetd)"
syslog_has "sluice-enqueue\\[[0-9]+\\]: qid="
ok $? "the line goes to syslog instead"
printf "$msg" | sluice-enqueue 2> "$tmpdir/err"
like "$(cat "$tmpdir/err")" "^sluice-enqueue: qid=" "log auto: standard error when it is not a socket"

# sluice-mkcdb refuses it, so it comes from a table compiled another way.
printf 'log loud\n' > "$conf/config"
printf 'log loud\n' | sluice-mkcdb -o "$conf/config.cdb" - || bail "config"
printf "$msg" | sluice-enqueue 2> "$tmpdir/err"
is "$?" 111 "an unknown value is fatal, not silently taken"
like "$(cat "$tmpdir/err")" 'config:[0-9]+: setting log: bad value "loud": use one of auto\|stderr\|syslog' \
    "naming the file, the line and the setting"

done_testing
