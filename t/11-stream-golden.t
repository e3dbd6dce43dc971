#!/bin/bash
# The stream reader and writer on golden files (t/README): t/data/stream/NAME.in
# gives either NAME.out (the canonical form, exit 0) or NAME.err, the fatal
# error, with the exit status NAME.status and nothing on standard output.
# The same through sluice-envelope with t/data/envelope/.
. "$(dirname "$0")/lib.sh"

[ -x "$top/t/streamcat" ] || bail "t/streamcat is not built (make check)"
golden_each "$top/t/data/stream" streamcat "$top/t/streamcat"

# CRLF and export forms of the writer.
sed 's/$/\r/' "$top/t/data/stream/batch.out" > "$tmpdir/batch.crlf"
"$top/t/streamcat" -c < "$top/t/data/stream/batch.in" > "$tmpdir/out"
cmp -s "$tmpdir/out" "$tmpdir/batch.crlf"; ok $? "streamcat -c writes CRLF line ends"
"$top/t/streamcat" -e < "$top/t/data/stream/xparams.in" > "$tmpdir/out"
is "$(cat "$tmpdir/out")" "MAIL FROM:<>
RCPT TO:<b@example.net>
RCPT TO:<c@example.net>
DATA
." "streamcat -e leaves out the private X- parameters"
"$top/t/streamcat" -e < "$top/t/data/stream/xforward.in" > "$tmpdir/out"
unlike "$(cat "$tmpdir/out")" "XFORWARD" "streamcat -e leaves out XFORWARD"
"$top/t/streamcat" -e < "$top/t/data/stream/params.in" > "$tmpdir/out"
like "$(head -1 "$tmpdir/out")" "SIZE=1834 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<>" \
    "streamcat -e keeps the standard parameters"

# sluice-envelope, with a qualify_domain of its own.
mkdir "$tmpdir/conf"
printf 'qualify_domain Example.NET\n' > "$tmpdir/conf/config"
sluice-mkcdb "$tmpdir/conf/config" || bail "sluice-mkcdb failed"
export SLUICE_CONF=$tmpdir/conf
golden_each "$top/t/data/envelope" sluice-envelope sluice-envelope

# Its warnings: 8-bit marking and a raised SIZE are logged; a clean message is not.
e=$top/t/data/envelope
sluice-envelope < "$e/eightbit-mark.in" 2>&1 >/dev/null | grep -q 'line=1 8-bit body without BODY=8BITMIME: marked BODY=8BITMIME'
ok $? "sluice-envelope logs that it marked an 8-bit body"
sluice-envelope < "$e/size-warn.in" 2>&1 >/dev/null | grep -q 'SIZE=10 but the message has 10000 octets'
ok $? "sluice-envelope logs a SIZE far below the real size"
is "$(sluice-envelope < "$e/sevenbit.in" 2>&1 >/dev/null)" "" "sluice-envelope is silent on a clean message"

# All or nothing past the 1 MiB held in memory: 40 messages of 50 KB.
"$PY" - "$tmpdir/big.in" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(40):
        f.write("MAIL FROM:<s%d@Example.ORG>\nRCPT TO:<r%d>\nDATA\n" % (i, i))
        for j in range(500):
            f.write("..%d %s\n" % (j, "z" * 96))
        f.write(".\n")
PY
rc=0; sluice-envelope < "$tmpdir/big.in" > "$tmpdir/big.out" 2>/dev/null || rc=$?
sed -e 's/^RCPT TO:<r\([0-9]*\)>$/RCPT TO:<r\1@example.net>/' -e 's/@Example.ORG>/@example.org>/' \
    "$tmpdir/big.in" > "$tmpdir/big.want"
[ $rc = 0 ] && cmp -s "$tmpdir/big.out" "$tmpdir/big.want"
ok $? "a 2 MB batch goes through the temporary file intact"
cat "$tmpdir/big.in" > "$tmpdir/bigtrunc.in"
printf 'MAIL FROM:<x@example.org>\nRCPT TO:<y@example.org>\nDATA\nno end\n' >> "$tmpdir/bigtrunc.in"
rc=0; sluice-envelope < "$tmpdir/bigtrunc.in" > "$tmpdir/bigtrunc.out" 2>/dev/null || rc=$?
[ $rc = 111 ] && [ ! -s "$tmpdir/bigtrunc.out" ]
ok $? "a truncated 2 MB batch exits 111 and writes nothing"

done_testing
