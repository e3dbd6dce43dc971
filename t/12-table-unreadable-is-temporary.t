#!/bin/bash
# A table that exists but cannot be read, or is damaged, is a temporary
# failure of the stage (exit 111) with a line naming it, never a silent
# fallback: not to the defaults when config cannot be read, and not a
# refusal of the input (100, which sends messages to bad/) when a .cdb is
# damaged.  sluice-smtpd answers its client 421 first.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
chmod 0755 "$tmpdir" "$SLUICE_CONF"
printf 'hostname mx.example.test\nmailroot %s\n' "$tmpdir/mail" > "$SLUICE_CONF/config"
echo example.test > "$SLUICE_CONF/domains"
echo "alice@example.test alice/" > "$SLUICE_CONF/users"
echo "list@example.test alice@example.test" > "$SLUICE_CONF/aliases"
for t in config domains users aliases; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
msg() { printf 'MAIL FROM:<s@example.org>\nRCPT TO:<%s>\nDATA\nSubject: x\n\nhi\n.\n' "$1"; }

for p in sluice-local sluice-alias; do
    cp "$SLUICE_CONF/users.cdb" "$tmpdir/users.cdb.good"
    printf 'cdb, but cut' > "$SLUICE_CONF/users.cdb"
    msg alice@example.test | "$p" > "$tmpdir/out" 2> "$tmpdir/err"
    is "$?" 111 "$p: a damaged users.cdb is a temporary failure"
    like "$(cat "$tmpdir/err")" "unable to open table users" "$p: the line names the table"
    is "$(cat "$tmpdir/out")" "" "$p: and nothing is written"
    mv "$tmpdir/users.cdb.good" "$SLUICE_CONF/users.cdb"
done

# sluice-smtpd, at the start of a session: the client is told to come
# back (421 in place of the greeting) rather than left with a closed
# connection and no word, and the log names the table.
cp "$SLUICE_CONF/domains.cdb" "$tmpdir/domains.cdb.good"
printf 'cdb, but cut' > "$SLUICE_CONF/domains.cdb"
printf 'EHLO client.example.org\r\nQUIT\r\n' |
    env -u SLUICE_QUEUE PROTO=TCP TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 \
    TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 sluice-smtpd > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 111 "sluice-smtpd: a damaged domains.cdb ends the session with 111"
like "$(head -1 "$tmpdir/out")" '^421 4\.3\.0 ' "sluice-smtpd: the client is answered 421 4.3.0, not greeted"
is "$(wc -l < "$tmpdir/out")" 1 "sluice-smtpd: and nothing more"
like "$(cat "$tmpdir/err")" "unable to open table domains" "sluice-smtpd: the log names the table"
mv "$tmpdir/domains.cdb.good" "$SLUICE_CONF/domains.cdb"
# damaged TABLE WHAT — a session with TABLE.cdb damaged: 421, and a log
# line naming it
damaged() {
    printf 'cdb, but cut' > "$SLUICE_CONF/$1.cdb"
    printf 'QUIT\r\n' |
        env -u SLUICE_QUEUE PROTO=TCP TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 \
        TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 sluice-smtpd > "$tmpdir/out" 2> "$tmpdir/err"
    like "$? $(head -1 "$tmpdir/out")" '^111 421 4\.3\.0 ' "sluice-smtpd: a damaged $1.cdb: $2"
    like "$(cat "$tmpdir/err")" "unable to open table $1" "sluice-smtpd: the log names $1"
    rm -f "$SLUICE_CONF/$1.cdb"
}
# sender_access, opened by the access rules' start, the same way.
damaged sender_access "421 4.3.0 too"
# access, read for each client before the greeting: rules that cannot be
# read keep the client out for now, never let it in without them.
damaged access "421 4.3.0, not the greeting"

if [ "$(id -u)" = 0 ]; then
    chmod 0600 "$SLUICE_CONF/config.cdb"
    for p in sluice-local sluice-alias; do
        msg alice@example.test | setpriv --reuid=nobody --regid=nogroup --clear-groups \
            "$top/libexec/$p" > "$tmpdir/out" 2> "$tmpdir/err"
        is "$?" 111 "$p: a config it cannot read is a temporary failure, not the defaults"
        like "$(cat "$tmpdir/err")" "unable to open table $SLUICE_CONF/config.cdb: Permission denied" \
            "$p: the line names the table and why"
    done
    # sluice-smtpd, as tcpserver runs it: config.cdb is read first of
    # all, and a session that cannot read it answers 421 too.
    printf 'QUIT\r\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env -u SLUICE_QUEUE PROTO=TCP TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 \
        TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 "$(command -v sluice-smtpd)" \
        > "$tmpdir/out" 2> "$tmpdir/err"
    like "$? $(head -1 "$tmpdir/out")" '^111 421 4\.3\.0 ' \
        "sluice-smtpd: a config.cdb it cannot read: 421 4.3.0, not a closed connection"
    like "$(cat "$tmpdir/err")" "unable to open table $SLUICE_CONF/config.cdb: Permission denied" \
        "sluice-smtpd: the log names the table and why"
    # Under inetd standard error is the client's socket too: the client
    # gets the 421 and no log line.
    got=$("$PY" - "$(command -v sluice-smtpd)" <<'EOF'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
    "env", "-u", "SLUICE_QUEUE", "PROTO=TCP", "TCPREMOTEIP=192.0.2.7", sys.argv[1]],
    stdin=b, stdout=b, stderr=b)
b.close()
a.settimeout(10)
out = a.makefile("rb").read()
p.wait()
print(p.returncode, repr(out.decode()))
EOF
)
    is "$got" "111 '421 4.3.0 Service not available, try again later\\r\\n'" \
        "sluice-smtpd under inetd (standard error the client's socket): 421, and no log line to the client"
    # Its own listener reads config.cdb at its start, and each session
    # afresh: a session that cannot read it answers 421.
    chmod 0644 "$SLUICE_CONF/config.cdb"
    port=$(free_port)
    env -u SLUICE_QUEUE -u SLUICE_ALLOW_ROOT "$(command -v sluice-smtpd)" \
        -l "127.0.0.1:$port" -u nobody > /dev/null 2> "$tmpdir/listener" &
    lpid=$!
    wait_port "$port" || bail "the listener did not start: $(cat "$tmpdir/listener")"
    chmod 0600 "$SLUICE_CONF/config.cdb"
    got=$("$PY" -c 'import socket,sys
s=socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
print(s.makefile("rb").readline().decode().rstrip())' "$port")
    like "$got" '^421 4\.3\.0 ' "sluice-smtpd -l: a session that cannot read config.cdb answers 421 4.3.0"
    kill "$lpid"; wait "$lpid" 2>/dev/null
    chmod 0644 "$SLUICE_CONF/config.cdb"
else
    skip "not root: cannot run as another user" 8
fi
done_testing
