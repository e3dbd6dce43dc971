#!/bin/bash
# sluice-scan's memory does not grow with message size: its peak resident
# memory for a 50 MB message (a base64 attachment, decoded and scanned) is
# within 1 MB of that for a 1 MB message, with clamd and with an external
# scanner, and stays under 16 MB.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"

[ -x /usr/bin/time ] || bail "/usr/bin/time is missing (package time, .ci/deps)"
clamd_start
content_conf clamd scan_clamd "$CLAMD_SOCK" scan_max_size 100M
content_conf command scan_method command scan_command "/usr/bin/test -f %f" scan_max_size 100M
export TMPDIR=$tmpdir

# msg MB: a stream transaction of about MB megabytes, most of it one attachment.
msg() {
    "$PY" - "$1" <<'PYEOF'
import base64, os, sys
n = int(sys.argv[1]) * 1024 * 1024 * 3 // 4
data = (os.urandom(65536) * (n // 65536 + 1))[:n]
b = base64.encodebytes(data)
sys.stdout.buffer.write(b"MAIL FROM:<a@example.test>\nRCPT TO:<b@example.test>\nDATA\n"
    b"Subject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n"
    b"--x\n\nhello\n--x\nContent-Type: application/octet-stream; name=big.bin\n"
    b"Content-Transfer-Encoding: base64\n\n" + b + b"--x--\n.\n")
PYEOF
}
msg 1 > "$tmpdir/1.in"
msg 50 > "$tmpdir/50.in"

for m in clamd command; do
    for s in 1 50; do
        SLUICE_CONF=$tmpdir/$m /usr/bin/time -f %M -o "$tmpdir/rss-$m-$s" \
            sluice-scan < "$tmpdir/$s.in" > "$tmpdir/$m-$s.out" 2>> "$tmpdir/scan.log"
        st=$?
        cmp -s "$tmpdir/$s.in" "$tmpdir/$m-$s.out"
        ok $(( st + $? )) "$m, $s MB: scanned and passed unchanged"
    done
    small=$(tail -1 "$tmpdir/rss-$m-1") big=$(tail -1 "$tmpdir/rss-$m-50")
    note "$m: peak RSS $small KB for 1 MB, $big KB for 50 MB"
    ok $([ $((big - small)) -lt 1024 ] && [ "$big" -lt 16384 ]; echo $?) \
        "$m: peak memory flat in message size ($small KB, $big KB)"
done
like "$(grep -c 'verdict=clean objects=3' "$tmpdir/scan.log")" '^4$' \
    "each message was scanned whole: the raw message, the text and the attachment"
done_testing
