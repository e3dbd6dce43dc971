#!/bin/bash
# sluice-smtp never puts a bare CR or a bare LF on the wire, whatever the
# queue holds: a CR at the end of a line belongs to its line end, any other
# CR ends a line, and the text after it is a line of its own, dot-stuffed.
# So "x\r.\rMAIL FROM:<...>" in a queued body reaches the next hop as text,
# never as the end of the data and commands (SMTP smuggling).  The server
# is a raw one under tcpserver that records each octet sluice-smtp sends.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

command -v tcpserver >/dev/null || bail "needs tcpserver (ucspi-tcp)"
table config "smtp_tls_level none" "smtp_helo_timeout 10s"
port=$(free_port)
cap=$tmpdir/capture
start_tcpserver "$port" sv "$PY" "$tools/smtp-raw.py" "$cap" || bail "no server"

# A queued transaction whose body has bare CRs everywhere they can be: at
# the start and end of a line, alone, doubled, before a dot, around "."
# lines, in the header, and a line of 998 octets cut by CRs.
long=$(printf 'y%.0s' $(seq 1 498)) long2=${long}y
{
    echo "XFORWARD IDENT=06b000000000000000001"
    echo "MAIL FROM:<alice@example.org>"
    echo "RCPT TO:<bob@raw.test> X-ROUTE=smtp:[127.0.0.1]:$port"
    echo "DATA"
    printf 'Subject: smuggle\rX-Injected: yes\n'
    printf '\n'
    printf 'x\r.\rMAIL FROM:<evil@example.org>\rRCPT TO:<victim@example.org>\rDATA\r\n'
    printf '\r.\r\r\n'
    printf '\rstarts with CR\n'
    printf 'a\r\rb\n'
    printf 'ends with two CRs\r\r\n'
    printf '%s\r%s\n' "$long" "$long2"
    printf 'last\n'
    printf '.\n'
} > "$tmpdir/in"
smtp "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is $? 0 "sluice-smtp exits 0"
like "$(cat "$tmpdir/err")" 'to=<bob@raw.test> .*status=sent' "the message is delivered"
is "$(grep -c '^RCPT' "$tmpdir/out")" 0 "and gone from the output"

# check — the capture's line ends, and the data as the server reads it.
"$PY" - "$cap" > "$tmpdir/check" <<'PYEOF'
import re, sys
raw = open(sys.argv[1], "rb").read()
print("bare CR:", len(re.findall(rb"\r(?!\n)", raw)))
print("bare LF:", len(re.findall(rb"(?<!\r)\n", raw)))
lines = raw.split(b"\r\n")
i = lines.index(b"DATA")
j = lines.index(b".", i)
print("commands after the data:", b" ".join(lines[j + 1:]).decode().strip())
print("MAIL commands:", sum(1 for l in lines[:i] + lines[j + 1:] if l.startswith(b"MAIL")))
for l in lines[i + 1:j]:
    print("|" + (l[1:] if l.startswith(b".") else l).decode())
PYEOF
is "$(sed -n 1p "$tmpdir/check")" "bare CR: 0" "no bare CR on the wire"
is "$(sed -n 2p "$tmpdir/check")" "bare LF: 0" "no bare LF on the wire"
is "$(sed -n 3p "$tmpdir/check")" "commands after the data: QUIT" "the data ends once, where the message ends"
is "$(sed -n 4p "$tmpdir/check")" "MAIL commands: 1" "nothing in the body became a command"
is "$(sed -n '5,$p' "$tmpdir/check")" "|Subject: smuggle
|X-Injected: yes
|
|x
|.
|MAIL FROM:<evil@example.org>
|RCPT TO:<victim@example.org>
|DATA
|
|.
|
|starts with CR
|a
|
|b
|ends with two CRs
|$long
|$long2
|last" "every text survives, each bare CR a line end, dot-stuffed on the wire"
grep -q -a $'\r\n\\.\\.\r\n' "$cap"; ok $? "a \".\" line made by a CR is stuffed on the wire"
done_testing
