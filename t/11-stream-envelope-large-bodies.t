#!/bin/bash
# sluice-envelope's large bodies (more than its 64 KB in memory): from a
# pipe they go through one temporary file, from a regular file a body the
# output leaves as it is is copied from the input itself, and one it does
# change (CRLF, a dot that was not stuffing) is read again.  Every way
# gives what the stream writer gives (t/streamcat), and a failure late in
# a large body still writes nothing.
. "$(dirname "$0")/lib.sh"

[ -x "$top/t/streamcat" ] || bail "t/streamcat is not built (make check)"

# Envelopes sluice-envelope leaves alone (SIZE above the real size, 8-bit
# declared, addresses qualified), so that only the bodies are compared.
"$PY" - "$tmpdir/in" <<'PY' || bail "cannot write the stream"
import sys
def head(f, i):
    f.write(b"MAIL FROM:<s%d@example.org> SIZE=999999999 BODY=8BITMIME\n"
            b"RCPT TO:<r%d@example.org>\nDATA\n" % (i, i))
with open(sys.argv[1], "wb") as f:
    # 1: 400 KB the copy leaves as it is: stuffed dots, 8-bit, CR inside
    # a line, CR CR LF (a CR that stays), a 998-octet line.
    head(f, 1)
    for j in range(4000):
        f.write(b"..%d caf\xc3\xa9 a\rb %s\n" % (j, b"z" * 70))
        if j % 500 == 0:
            f.write(b"kept cr\r\r\n" + b"y" * 998 + b"\n")
    f.write(b".\n")
    # 2: 300 KB with CRLF line ends and an unstuffed dot: rewritten.
    head(f, 2)
    for j in range(3000):
        f.write(b"line %d %s\r\n" % (j, b"w" * 90))
    f.write(b".not stuffed\n.\r\n")
    # 3: small.
    head(f, 3)
    f.write(b"small\n.\n")
    # 4: 200 KB, the last, as it is.
    head(f, 4)
    for j in range(2000):
        f.write(b"last %d %s\n" % (j, b"v" * 94))
    f.write(b".\n")
PY
"$top/t/streamcat" < "$tmpdir/in" > "$tmpdir/want" || bail "streamcat failed"
off=$(grep -abo '^MAIL FROM:<s2@' "$tmpdir/in" | cut -d: -f1)
tail -c +$((off + 1)) "$tmpdir/in" | "$top/t/streamcat" > "$tmpdir/want2" || bail "streamcat failed"

rc=0; sluice-envelope < "$tmpdir/in" > "$tmpdir/out" 2> "$tmpdir/err" || rc=$?
is "$rc" 0 "sluice-envelope takes large bodies from a regular file"
cmp -s "$tmpdir/out" "$tmpdir/want"
ok $? "what it copies from the input and what it rewrites is what the writer writes"
rc=0; cat "$tmpdir/in" | sluice-envelope > "$tmpdir/out" 2> "$tmpdir/err" || rc=$?
[ $rc = 0 ] && cmp -s "$tmpdir/out" "$tmpdir/want"
ok $? "the same from a pipe, through its temporary file"
rc=0; sluice-envelope < "$tmpdir/in" | cat > "$tmpdir/out" || rc=$?
[ $rc = 0 ] && cmp -s "$tmpdir/out" "$tmpdir/want"
ok $? "the same into a pipe"
# Standard input already part-way into the file: offsets from there.
rc=0
"$PY" -c 'import os, sys; f = os.open(sys.argv[1], os.O_RDONLY); os.lseek(f, int(sys.argv[2]), 0)
os.dup2(f, 0); os.execvp("sluice-envelope", ["sluice-envelope"])' "$tmpdir/in" "$off" \
    > "$tmpdir/out" 2> "$tmpdir/err" || rc=$?
[ $rc = 0 ] && cmp -s "$tmpdir/out" "$tmpdir/want2"
ok $? "from a file whose offset is not 0, the bodies are taken from that offset on"

# Failures late in a large body: nothing is written, from a file or a pipe.
head -c $(( $(stat -c %s "$tmpdir/in") - 1000 )) "$tmpdir/in" > "$tmpdir/trunc"
rc=0; sluice-envelope < "$tmpdir/trunc" > "$tmpdir/out" 2>/dev/null || rc=$?
[ $rc = 111 ] && [ ! -s "$tmpdir/out" ]
ok $? "input cut short in the last large body: exit 111, nothing written"
rc=0; cat "$tmpdir/trunc" | sluice-envelope > "$tmpdir/out" 2>/dev/null || rc=$?
[ $rc = 111 ] && [ ! -s "$tmpdir/out" ]
ok $? "the same from a pipe"
{ cat "$tmpdir/in"; printf 'MAIL FROM:<x@example.org>\nRCPT TO:<y@example.org>\nDATA\n'
    for i in $(seq 2000); do printf 'filler line %s\n' "$i"; done
    printf '%01000d\n.\n' 0; } > "$tmpdir/long"
rc=0; sluice-envelope < "$tmpdir/long" > "$tmpdir/out" 2>/dev/null || rc=$?
[ $rc = 100 ] && [ ! -s "$tmpdir/out" ]
ok $? "a 1000-octet line at the end of a large body: exit 100, nothing written"

done_testing
