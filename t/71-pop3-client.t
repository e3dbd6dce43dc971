#!/bin/bash
# sluice-pop3 against a real Dovecot: USER/PASS and APOP; STLS and implicit
# TLS with the certificate checked against a CA (a server certificate from
# another CA is refused; verify=no accepts it); several profiles from one
# table; at most max= messages a session, then QUIT and a new session; a
# message is deleted only after its feed exited 0: one the feed defers (111)
# stays and is fetched by a later run, one the feed refuses (100) stays on the
# server and is never fetched again; a silent server times out.
. "$(dirname "$0")/lib.sh"
. "$top/t/dovecot.sh"
[ "$(id -u)" = 0 ] || bail "needs root for Dovecot"

conf=$tmpdir/conf feed_dir=$tmpdir/fed
mkdir -p "$conf" "$feed_dir"
export SLUICE_CONF=$conf SLUICE_SPOOL=$tmpdir/spool FEED_DIR=$feed_dir
printf 'hostname remote.test\n' > "$conf/config"
sluice-mkcdb -o "$conf/config.cdb" "$conf/config"
cat > "$tmpdir/feed" <<'EOF2'
#!/bin/sh
cat > "$FEED_DIR/$(date +%s%N).$SLUICE_POP3_PROFILE.$SLUICE_POP3_UID"
exit "${FEED_EXIT:-0}"
EOF2
chmod +x "$tmpdir/feed"

dv_certs
dovecot_start -tls tunnel:tunnelpw other:otherpw
profiles() { printf '%s\n' "$@" > "$conf/pop3_profiles"; sluice-mkcdb -o "$conf/pop3_profiles.cdb" "$conf/pop3_profiles"; }
common="user=tunnel pass=tunnelpw feed=$tmpdir/feed"
put() {  # put USER N...: messages with X-Marker: mN into USER's mailbox
    local u=$1 n
    shift
    for n in "$@"; do
        printf 'From: a@sender.test\nSubject: m%s\nX-Marker: m%s\n\nbody %s\n' "$n" "$n" "$n" \
            > "$(dv_box "$u")/new/$n.$RANDOM.test"
    done
    dv_own
}
fed() { grep -h '^X-Marker:' "$feed_dir"/* 2>/dev/null | sort | paste -sd' '; }
pop() { sluice-pop3 "$@" 2>>"$tmpdir/pop3.log"; }
logins() { grep -c "Login: user=<$1>" "$dv/log"; }

profiles "plain host=127.0.0.1 port=$dv_port tls=none auth=user $common" \
    "apop host=127.0.0.1 port=$dv_port tls=none auth=apop $common" \
    "stls host=localhost port=$dv_port tls=starttls ca=$dv_ca $common" \
    "stls-wrongca host=localhost port=$dv_port tls=starttls ca=$dv_otherca $common" \
    "stls-noverify host=localhost port=$dv_port tls=starttls ca=$dv_otherca verify=no $common" \
    "implicit host=localhost port=$dv_sport tls=implicit ca=$dv_ca $common" \
    "max2 host=127.0.0.1 port=$dv_port tls=none max=2 $common" \
    "other host=127.0.0.1 port=$dv_port tls=none user=other pass=otherpw feed=$tmpdir/feed"

put tunnel 1 2
pop -p plain; is "$?" 0 "USER/PASS: the run succeeds"
is "$(fed)" "X-Marker: m1 X-Marker: m2" "both messages are fed"
is "$(dv_count tunnel)" 0 "and deleted on the server"
grep -q 'method=PLAIN' "$dv/log"; ok $? "Dovecot saw USER/PASS"
is "$(grep -c '^D ' "$tmpdir/spool/pop3/plain.uidl")" 2 "the record notes both uids as fed"

put tunnel 3
pop -p apop; is "$?" 0 "APOP: the run succeeds"
grep -q 'method=APOP' "$dv/log"; ok $? "Dovecot saw APOP"

put tunnel 4
pop -p stls; is "$?" 0 "STLS with the right CA succeeds"
grep -q 'profile=stls .*tls=TLSv1\.[23] .* verified' "$tmpdir/pop3.log"; ok $? "over verified TLS"
put tunnel 5
pop -p stls-wrongca; is "$?" 111 "STLS with a certificate from another CA fails (111)"
grep -q 'profile=stls-wrongca .*certificate verification failed' "$tmpdir/pop3.log"; ok $? "saying the certificate did not verify"
is "$(dv_count tunnel)" 1 "the message stays on the server"
pop -p stls-noverify; is "$?" 0 "verify=no accepts that certificate"
put tunnel 6
pop -p implicit; is "$?" 0 "implicit TLS (POP3S) succeeds"
grep -q 'profile=implicit .*tls=TLSv1' "$tmpdir/pop3.log"; ok $? "over TLS"
is "$(fed)" "$(printf 'X-Marker: m%s\n' 1 2 3 4 5 6 | paste -sd' ')" "every message so far was fed once"

# max=2: five messages, three sessions, each ended by QUIT.
rm -f "$feed_dir"/*
put tunnel 11 12 13 14 15
n0=$(logins tunnel)
pop -p max2; is "$?" 0 "max=2: the run succeeds"
is "$(fed)" "$(printf 'X-Marker: m%s\n' 11 12 13 14 15 | paste -sd' ')" "all five are fed, once each"
is "$(( $(logins tunnel) - n0 ))" 3 "in three sessions"
is "$(grep -c 'profile=max2 .*end=more' "$tmpdir/pop3.log")" 2 "the first two stop at max"

# Several profiles from one table: without -p, every profile runs.
rm -f "$feed_dir"/*
put other 21
profiles "plain host=127.0.0.1 port=$dv_port tls=none $common" \
    "other host=127.0.0.1 port=$dv_port tls=none user=other pass=otherpw feed=$tmpdir/feed"
put tunnel 22
pop; is "$?" 0 "all profiles: the run succeeds"
is "$(fed)" "X-Marker: m21 X-Marker: m22" "both mailboxes are fetched"

# The feed's verdict.
rm -f "$feed_dir"/*
put tunnel 31
FEED_EXIT=111 pop -p plain; is "$?" 111 "a feed that defers makes the run fail (111)"
is "$(dv_count tunnel)" 1 "and the message stays on the server"
pop -p plain; is "$?" 0 "a later run succeeds"
is "$(fed)" "X-Marker: m31 X-Marker: m31" "and feeds it again"
is "$(dv_count tunnel)" 0 "then deletes it"
rm -f "$feed_dir"/*
put tunnel 32
FEED_EXIT=100 pop -p plain; is "$?" 0 "a feed that refuses a message is not a failure of the run"
is "$(dv_count tunnel)" 1 "the refused message stays on the server"
grep -q '^R ' "$tmpdir/spool/pop3/plain.uidl"; ok $? "and is recorded as refused"
pop -p plain; is "$(fed)" "X-Marker: m32" "it is not fetched again"
is "$(cut -c1 "$tmpdir/spool/pop3/plain.uidl" | paste -sd' ')" "R" \
    "the record keeps only the uids the server still has"

# A server that accepts and says nothing: timeout= ends the wait.
sport=$(free_port)
spawn silent "$PY" -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
c=[]
while True: c.append(s.accept()[0])' "$sport"
wait_port "$sport"
profiles "silent host=127.0.0.1 port=$sport tls=none timeout=2s $common"
start=$(date +%s)
pop -p silent; rc=$?
is "$rc" 111 "a silent server: the run fails (111)"
el=$(( $(date +%s) - start ))
[ "$el" -ge 1 ] && [ "$el" -le 8 ]; ok $? "after the timeout (${el}s for timeout=2s)"
grep -q 'profile=silent .*greeting: timed out' "$tmpdir/pop3.log"; ok $? "saying it timed out"
done_testing
