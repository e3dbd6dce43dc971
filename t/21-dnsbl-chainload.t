#!/bin/bash
# sluice-dnsbl in the tcpserver chain before sluice-smtpd, against a real DNS
# server on loopback: a listed client (127.0.0.2, RFC 5782's test point, as
# tcpserver's TCPREMOTEIP) is refused in SMTP with the list's TXT reason
# (554 greeting, 503 to commands, 221 to QUIT), or 421 by a tempfail list;
# an unlisted client (127.0.0.1) reaches sluice-smtpd; the whitelist takes
# ranges and CIDR blocks; "query refused" answers, answers outside
# 127.0.0.0/8 and tag lists refuse nobody; IPv6 lists are asked for IPv6
# clients; dnsbl_refuse_at rcpt passes the refusal on in SLUICE_DNSBL.
. "$(dirname "$0")/lib.sh"
. "$top/t/dnsbl.sh"

dnsbl_dns
dnsbl_conf conf
echo=$tmpdir/echo
mkdir -p "$echo"
export ECHO_DIR=$echo SLUICE_QUEUE=$top/t/queue-echo.sh
port=$(free_port)
start_tcpserver "$port" tcp_pid sluice-dnsbl sluice-smtpd || bail "no tcpserver"

# session SOURCE-ADDRESS COMMAND... — a raw SMTP session from SOURCE-ADDRESS:
# prints every reply line, sending each command after the greeting.
session() {
    "$PY" - "$port" "$@" <<'PYEOF'
import socket, sys
port, src, cmds = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.socket()
s.settimeout(20)
s.bind((src, 0))
s.connect(("127.0.0.1", port))
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline().decode("latin-1").rstrip("\r\n")
        print(l)
        if len(l) < 4 or l[3] != "-":
            return
reply()
try:
    for c in cmds:
        s.sendall(c.encode() + b"\r\n")
        reply()
    print("EOF" if f.read() == b"" else "more")
except OSError:
    print("EOF")
PYEOF
}

# --- no lists: everyone reaches sluice-smtpd ---------------------------------
out=$(session 127.0.0.2 QUIT)
like "$out" '^220 mx\.example\.test' "with no lists, a client reaches sluice-smtpd"

# --- a reject list ------------------------------------------------------------
dnsbl_table dnsbl "bl.test ip4 reject"
out=$(session 127.0.0.2 "EHLO client.example" "MAIL FROM:<a@example.org>" QUIT)
is "$out" "554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test; Listed for testing: see https://bl.test/q?127.0.0.2
503 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test; Listed for testing: see https://bl.test/q?127.0.0.2
503 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test; Listed for testing: see https://bl.test/q?127.0.0.2
221 2.0.0 Bye
EOF" "a listed client gets 554 with the TXT reason, 503 to each command, 221 to QUIT"
like "$(cat "$tmpdir/tcpserver-$port.log")" \
    'sluice-dnsbl: client=127\.0\.0\.2 event=reject list=bl\.test answer=127\.0\.0\.2' \
    "the refusal is logged with the list and its answer"
out=$(swaks -s 127.0.0.1 -p "$port" --local-interface 127.0.0.2 --to test@example.test 2>&1)
like "$out" '<\*\* +554 5\.7\.1 Service unavailable; client \[127\.0\.0\.2\] blocked using bl\.test' \
    "swaks sees the refusal"
is "$(ls "$echo" | wc -l)" 0 "nothing from the listed client reached the queue"
out=$(swaks -s 127.0.0.1 -p "$port" --local-interface 127.0.0.1 --to test@example.test 2>&1)
like "$out" '<- +250 2\.0\.0 Ok: queued as' "an unlisted client (127.0.0.1, the negative test point) sends mail"
is "$(ls "$echo" | wc -l)" 1 "its message reached the queue"

# A client that says nothing is not held for ever: 10 commands at most.
cmds=(); for i in $(seq 12); do cmds+=(NOOP); done
out=$(session 127.0.0.2 "${cmds[@]}")
is "$(grep -c '^503 ' <<<"$out")" 10 "at most 10 commands are answered"
like "$out" 'EOF$' "then the connection is closed"

# --- tempfail ------------------------------------------------------------------
dnsbl_table dnsbl "tf.test ip4 tempfail"
out=$(session 127.0.0.2 QUIT)
like "$out" '^421 4\.7\.1 Service unavailable; client \[127\.0\.0\.2\] blocked using tf\.test; Temporarily listed'$'\n''('$'\n'')?EOF$' \
    "a tempfail list answers 421 and closes"
dnsbl_table dnsbl "tf.test ip4 tempfail" "bl.test ip4 reject"
like "$(session 127.0.0.2 QUIT)" '^554 5\.7\.1 .*bl\.test' "a reject listing wins over a tempfail one listed first"

# --- answers that are not listings ------------------------------------------------
dnsbl_table dnsbl "refused.test ip4 reject" "hijack.test ip4 reject" "tag.test ip4 tag"
like "$(session 127.0.0.2 QUIT)" '^220 mx\.example\.test' \
    "127.255.255.254 (query refused), an answer outside 127/8 and a tag list refuse nobody"
like "$(cat "$tmpdir/tcpserver-$port.log")" \
    'event=refused list=refused\.test subject=127\.0\.0\.2 answer=127\.255\.255\.254' \
    "a refused query is logged"
dnsbl_table dnsbl "bl.test ip4 reject 127.0.0.3-127.0.0.9"
like "$(session 127.0.0.2 QUIT)" '^220 ' "an answer outside the list's pattern is not a listing"
dnsbl_table dnsbl "bl.test ip4 reject 127.0.0.0/30"
like "$(session 127.0.0.2 QUIT)" '^554 ' "an answer inside it is"
dnsbl_table dnsbl "tag2.test ip4 reject &0x08"
like "$(session 127.0.0.2 QUIT)" '^554 5\.7\.1 .*tag2\.test'$'\n' "a bit mask matches (127.0.0.10 & 8), no TXT: no reason"
dnsbl_table dnsbl "tag2.test ip4 reject &0x04"
like "$(session 127.0.0.2 QUIT)" '^220 ' "and a bit that is not set does not"

# --- the whitelist -------------------------------------------------------------------
dnsbl_table dnsbl "bl.test ip4 reject"
for w in 127.0.0.2 127.0.0.0/30 127.0.0.1-127.0.0.5 ::ffff:127.0.0.0/126; do
    dnsbl_table dnsbl_whitelist "$w"
    like "$(session 127.0.0.2 QUIT)" '^220 ' "a client in the whitelist entry $w is not checked"
done
dnsbl_table dnsbl_whitelist 127.0.0.3-127.0.0.9 127.0.1.0/24
like "$(session 127.0.0.2 QUIT)" '^554 ' "one outside every entry is"
dnsbl_table dnsbl_whitelist

# --- IPv6, through UCSPI's variables on a pipe ------------------------------------------
dnsbl_table dnsbl "bl6.test ip6 reject"
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=2001:DB8:0::BAD sluice-dnsbl sluice-smtpd 2>/dev/null)
like "$out" '^554 5\.7\.1 Service unavailable; client \[2001:db8::bad\] blocked using bl6\.test' \
    "an IPv6 client listed by an IPv6 list is refused"
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=::FFFF:7F00:2 sluice-dnsbl sluice-smtpd 2>/dev/null)
like "$out" '^554 5\.7\.1 .*blocked using bl6\.test; IPv6 test point' \
    "the IPv6 test point ::FFFF:7F00:2 is listed"
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=2001:db8::1 sluice-dnsbl sluice-smtpd 2>/dev/null)
like "$out" '^220 ' "an unlisted IPv6 client is served"
dnsbl_table dnsbl "bl.test ip4 reject"
out=$(printf 'QUIT\r\n' | TCPREMOTEIP=2001:db8::bad sluice-dnsbl sluice-smtpd 2>/dev/null)
like "$out" '^220 ' "an IPv4 list is not asked about an IPv6 client"
: > "$tmpdir/dns-questions"
dnsbl_table dnsbl "dbl.test domain reject"
like "$(session 127.0.0.2 QUIT)" '^220 ' "domain lists are not asked at connect (no sender yet)"
is "$(questions dbl.test)" 0 "no question was sent"

# --- dnsbl_refuse_at rcpt: the refusal is passed on ------------------------------------
dnsbl_conf conf2 dnsbl_refuse_at rcpt
dnsbl_table dnsbl "bl.test ip4 reject"
out=$(TCPREMOTEIP=127.0.0.2 SLUICE_DNSBL=forged sluice-dnsbl /usr/bin/env 2>/dev/null | grep '^SLUICE_DNSBL=')
is "$out" "SLUICE_DNSBL=554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test; Listed for testing: see https://bl.test/q?127.0.0.2" \
    "with dnsbl_refuse_at rcpt the next program gets the reply in SLUICE_DNSBL"
out=$(TCPREMOTEIP=127.0.0.1 SLUICE_DNSBL=forged sluice-dnsbl /usr/bin/env 2>/dev/null | grep -c '^SLUICE_DNSBL=')
is "$out" 0 "an unlisted client's SLUICE_DNSBL is removed, whatever came before"
done_testing
