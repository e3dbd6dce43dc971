#!/bin/bash
# The stream reader refuses a NUL at every position of every command line,
# and a CR or a TAB at every position but the CR of a CRLF line end: none
# is ever cut at or passed on (a NUL used to cut a path short silently).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/streamcat" ] || bail "t/streamcat is not built (make check)"

"$PY" - "$top/t/streamcat" > "$tmpdir/res" <<'PYEOF'
import subprocess, sys
env = (b"XFORWARD NAME=mx.example.org ADDR=192.0.2.7 IDENT=06b000000000000000001\n"
       b"MAIL FROM:<\"a b\"@example.org> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1\n"
       b"RCPT TO:<bob@[IPv6:2001:db8::1]> NOTIFY=SUCCESS ORCPT=rfc822;bob@x X-ROUTE=smtp\n"
       b"RCPT TO:<@a.example:c@[tag:foo]>\n"
       b"DATA\n")
body = b"x\n.\n"
assert subprocess.run([sys.argv[1]], input=env + body, capture_output=True).returncode == 0
for c in (b"\0", b"\r", b"\t"):
    taken = [i for i in range(len(env))
             if not (c == b"\r" and env[i:i + 1] == b"\n") and
             subprocess.run([sys.argv[1]], input=env[:i] + c + env[i:] + body,
                            capture_output=True).returncode != 100]
    print("0x%02x %s" % (c[0], " ".join(map(str, taken)) or "none"))
PYEOF
is "$(sed -n 1p "$tmpdir/res")" "0x00 none" "a NUL anywhere in a command line: refused (100)"
is "$(sed -n 2p "$tmpdir/res")" "0x0d none" "a bare CR anywhere in a command line: refused (100)"
is "$(sed -n 3p "$tmpdir/res")" "0x09 none" "a TAB anywhere in a command line: refused (100)"
done_testing
