#!/bin/bash
# The test harness itself, with the real peers: t/lib.sh, tcpserver, the DNS
# server, the private Exim and the private Postfix. If this fails, other tests'
# failures may be the harness's fault, not sluice's.
. "$(dirname "$0")/lib.sh"

plan 24

# ---- lib.sh ----
[ -d "$tmpdir" ] && [ "$(stat -c %a "$tmpdir")" = 711 ]
ok $? "tmpdir exists with mode 0711"
case :$PATH: in *":$top/bin:$top/libexec:"*) ok 0 "PATH starts with bin and libexec" ;;
                *) ok 1 "PATH starts with bin and libexec" ;; esac
p1=$(free_port) && p2=$(free_port)
[ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ]
ok $? "free_port gives two different ports ($p1, $p2)"
start=$SECONDS
wait_for false 1
[ $? != 0 ] && [ $((SECONDS - start)) -le 3 ]
ok $? "wait_for gives up after its timeout"
spawn sleeper sleep 300
stop_pid "$sleeper" 2
! kill -0 "$sleeper" 2>/dev/null
ok $? "stop_pid ends a process"

# ---- tcpserver serving cat ----
port=$(free_port)
start_tcpserver "$port" tcpd cat
ok $? "tcpserver listens on 127.0.0.1:$port"
reply=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && echo "hello harness" >&3 &&
        read -r -t 5 line <&3 && echo "$line")
is "$reply" "hello harness" "a line round-trips through tcpserver cat"
stop_pid "$tcpd"
! port_open "$port"
ok $? "tcpserver is gone after stop_pid"

# ---- DNS server ----
cat > "$tmpdir/zone" <<'EOF'
$ORIGIN example.test.
$TTL 300
@                 IN MX 10 mx1.example.test.
mx1               IN A  127.0.0.1
2.0.0.127.bl      IN A  127.0.0.2
2.0.0.127.bl      IN TXT "listed for testing"
EOF
dport=$(free_port)
"$tools/dns.sh" start "$tmpdir/zone" "$dport" "$tmpdir/dns.pid"
ok $? "DNS server starts on port $dport"
at_exit "'$tools/dns.sh' stop '$tmpdir/dns.pid'"
out=$("$tools/dns.sh" query "$dport" example.test MX)
like "$out" $'^NOERROR\n.*MX[[:space:]]+10 mx1\\.example\\.test\\.' "MX over UDP"
out=$("$tools/dns.sh" query "$dport" example.test MX tcp)
like "$out" 'MX[[:space:]]+10 mx1\.example\.test\.' "MX over TCP"
out=$("$tools/dns.sh" query "$dport" 2.0.0.127.bl.example.test A)
like "$out" 'A[[:space:]]+127\.0\.0\.2$' "A record (a DNS-BL test point)"
out=$("$tools/dns.sh" query "$dport" 1.0.0.127.bl.example.test A)
is "$out" "NXDOMAIN" "unknown name gives NXDOMAIN"
"$tools/dns.sh" stop "$tmpdir/dns.pid"
! "$tools/dns.sh" query "$dport" example.test MX >/dev/null 2>&1
ok $? "DNS server is gone after stop"

# ---- Exim as a BSMTP reader ----
if [ "$(id -u)" != 0 ]; then
    skip "the private Exim needs root" 6
else
    exim=$("$tools/exim.sh" setup)
    ok $? "exim.sh setup (unpacks exim4 the first time)"
    printf '%s\n' 'HELO client.example.org' \
        'MAIL FROM:<alice@example.org>' 'RCPT TO:<bob@example.net>' \
        'RCPT TO:<carol@example.net>' 'DATA' 'Subject: one' '' \
        '..a dot-stuffed line' 'body' '.' \
        'MAIL FROM:<>' 'RCPT TO:<dave@example.com>' 'DATA' 'Subject: two' '' \
        'bounce' '.' 'QUIT' > "$tmpdir/batch"
    "$exim" "$tmpdir/exim" -bS < "$tmpdir/batch" > "$tmpdir/exim.out" 2>&1
    ok $? "exim -bS accepts a 2-message batch"
    is "$("$tools/exim.sh" envelopes "$tmpdir/exim")" \
       "from=<> to=<dave@example.com>
from=<alice@example.org> to=<bob@example.net>,<carol@example.net>" \
       "exim queued the expected envelopes"
    body=$(cat "$tmpdir"/exim/spool/input/*-D | grep -c '^\.a dot-stuffed line$')
    is "$body" 1 "exim removed the dot-stuffing"
    like "$("$exim" "$tmpdir/exim" -bp)" 'alice@example\.org' "run-exim DIR -bp lists the queue"
    # Pins a finding that matters for the stream (see the top of exim.sh).
    printf '%s\n' 'MAIL FROM:<a@example.org> SIZE=10' 'RCPT TO:<b@example.net>' \
        'DATA' '' 'x' '.' | "$exim" "$tmpdir/exim2" -bS > "$tmpdir/exim2.out" 2>&1
    is "$?" 2 "exim -bS refuses ESMTP parameters (exit 2)"
fi

# ---- Postfix, private instance ----
if [ "$(id -u)" != 0 ]; then
    skip "the private Postfix needs root" 4
else
    pport=$(free_port)
    at_exit "'$tools/postfix.sh' stop '$tmpdir/pf'"
    "$tools/postfix.sh" start "$tmpdir/pf" "$pport" "$tmpdir/md"
    ok $? "private postfix listens on 127.0.0.1:$pport"
    smtp-source -s 5 -m 20 -l 5120 -f a@example.test -t test@example.test \
        "127.0.0.1:$pport" >/dev/null 2>&1
    ok $? "smtp-source sent 20 messages"
    wait_for "[ \$(ls '$tmpdir/md/test/new' | wc -l) -ge 20 ]" 20
    ok $? "20 messages in the Maildir"
    "$tools/postfix.sh" stop "$tmpdir/pf"
    left=
    for p in /proc/[0-9]*; do
        case $(readlink "$p/cwd" 2>/dev/null) in "$tmpdir/pf"*) left="$left ${p#/proc/}" ;; esac
    done
    is "$left" "" "no process of the instance is left after stop"
fi
