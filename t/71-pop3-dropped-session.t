#!/bin/bash
# A POP3 connection dropped in the middle of a session loses nothing and
# delivers nothing twice.  Dovecot forgets the deletions of a session that
# never reached QUIT, so the messages fed before the drop are still on the
# server: the next run deletes them without feeding them again (sluice-pop3's
# UIDL record), and feeds the others.  Were that record lost too, the
# decoder's record of tunnel ids would still queue each tunnel message once.
# The feed is the real one: sluice-bsmtp-decode into sluice-enqueue.
. "$(dirname "$0")/lib.sh"
. "$top/t/dovecot.sh"
[ "$(id -u)" = 0 ] || bail "needs root for Dovecot"

conf=$tmpdir/conf spool=$tmpdir/spool
mkdir -p "$conf" "$spool"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool SLUICE_LIBEXEC=$top/libexec
unset SLUICE_QUEUE
table config "hostname remote.test" "spool $spool"
table domains remote.test
table bsmtp_senders "postmaster@hub.test secret=s3cret"
dovecot_start tunnel:tunnelpw

# A proxy that cuts both ends when the client sends its second DELE (that
# DELE never arrives), while the file $tmpdir/cut exists.
pport=$(free_port)
cat > "$tmpdir/proxy.py" <<'PY'
import os, socket, sys, threading
lst = socket.socket(); lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", int(sys.argv[1]))); lst.listen(5)
def pipe(a, b, watch):
    dele, buf = 0, b""
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            if watch and os.path.exists(sys.argv[3]):
                buf += d
                dele += buf.count(b"DELE ")
                buf = buf[-4:]
                if dele >= 2:
                    break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
        s.close()
while True:
    c, _ = lst.accept()
    u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    threading.Thread(target=pipe, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, False), daemon=True).start()
PY
spawn proxy "$PY" "$tmpdir/proxy.py" "$pport" "$dv_port" "$tmpdir/cut"
wait_port "$pport" || bail "the proxy did not start"
table pop3_profiles "hub host=127.0.0.1 port=$pport tls=none user=tunnel pass=tunnelpw feed=sluice-bsmtp-decode"

put_tunnels() {
    local n
    for n in "$@"; do
        printf '%s\r\n' 'EHLO hub.test' 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<bob@remote.test>' \
            'DATA' "Subject: m$n" "X-Marker: m$n" '' body '.' 'QUIT' |
            "$tools/tunnelmsg.py" --secret s3cret --id "m$n@hub.test" > "$(dv_box tunnel)/new/$n.$RANDOM.test"
    done
    dv_own
}
queued() { cat "$spool"/incoming/* 2>/dev/null | grep -h '^X-Marker:' | sort | paste -sd' '; }
all=$(printf 'X-Marker: m%s\n' 1 2 3 4 5 | paste -sd' ')

put_tunnels 1 2 3 4 5
touch "$tmpdir/cut"
sluice-pop3 2>>"$tmpdir/pop3.log"; is "$?" 111 "the dropped session fails the run (111)"
grep -q 'connection lost' "$tmpdir/pop3.log"; ok $? "saying the connection was lost"
is "$(queued)" "X-Marker: m1 X-Marker: m2" "the two messages fed before the drop are queued"
is "$(dv_count tunnel)" 5 "the server forgot the deletion of the session: all five are there"
rm -f "$tmpdir/cut"
sluice-pop3 2>>"$tmpdir/pop3.log"; is "$?" 0 "the next run succeeds"
is "$(queued)" "$all" "every message is queued exactly once"
is "$(grep -c 'status=deleted (fed before)' "$tmpdir/pop3.log")" 2 "the two fed before are deleted without being fetched"
is "$(dv_count tunnel)" 0 "the mailbox is empty"

# The same drop, and the UIDL record lost as well: the tunnel ids hold.
rm -f "$spool"/incoming/*
put_tunnels 6 7 8
touch "$tmpdir/cut"
sluice-pop3 2>>"$tmpdir/pop3.log"; is "$?" 111 "a second drop"
rm -f "$tmpdir/cut" "$spool/pop3/hub.uidl"
sluice-pop3 2>>"$tmpdir/pop3.log"; is "$?" 0 "the next run, without the UIDL record, succeeds"
is "$(queued)" "$(printf 'X-Marker: m%s\n' 6 7 8 | paste -sd' ')" "each tunnel message is still queued once"
is "$(grep -c 'status=duplicate' "$tmpdir/pop3.log")" 2 "the decoder recognised the two it had queued"
is "$(find "$spool/bsmtp/refused" -type f 2>/dev/null | wc -l)" 0 "nothing was refused"
done_testing
