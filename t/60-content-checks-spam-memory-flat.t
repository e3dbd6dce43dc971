#!/bin/bash
# sluice-checks and sluice-spam keep their memory flat in message size:
# the peak resident memory for a 50 MB message is within 1 MB of that for a
# 1 MB message, and under 16 MB.  sluice-checks matches every decoded line
# of a large base64 text part and every header field; sluice-spam spools
# the message, finds it over spam_max_size and passes it tagged (a copy of
# the same size, without spamd, whose own memory is not ours).
. "$(dirname "$0")/lib.sh"

[ -x /usr/bin/time ] || bail "/usr/bin/time is missing (package time, .ci/deps)"
export TMPDIR=$tmpdir
mkdir -p "$tmpdir/c" "$tmpdir/s"
printf 'spool %s\n' "$tmpdir" > "$tmpdir/c/config"
printf '/^[A-Za-z-]+:/ WARN\n' > "$tmpdir/c/header_checks"
printf '/never matched [0-9]+ times/ REJECT\n' > "$tmpdir/c/body_checks"
printf 'spool %s\nspam_spamd 127.0.0.1:9\nspam_max_size 100k\n' "$tmpdir" > "$tmpdir/s/config"
sluice-mkcdb -o "$tmpdir/c/config.cdb" "$tmpdir/c/config"
sluice-mkcdb -o "$tmpdir/s/config.cdb" "$tmpdir/s/config"

# msg MB: a stream transaction of about MB megabytes, most of it one base64 text part.
msg() {
    "$PY" - "$1" <<'PYEOF'
import base64, sys
n = int(sys.argv[1]) * 1024 * 1024 * 3 // 4
line = b"All work and no play makes Jack a dull boy, line after line.\r\n"
b = base64.encodebytes((line * (n // len(line) + 1))[:n])
sys.stdout.buffer.write(b"MAIL FROM:<a@example.test>\nRCPT TO:<b@example.test>\nDATA\n"
    b"Subject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n"
    b"--x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
    + b + b"--x--\n.\n")
PYEOF
}
msg 1 > "$tmpdir/1.in"
msg 50 > "$tmpdir/50.in"

for p in checks spam; do
    for s in 1 50; do
        SLUICE_CONF=$tmpdir/${p:0:1} /usr/bin/time -f %M -o "$tmpdir/rss-$p-$s" \
            "sluice-$p" < "$tmpdir/$s.in" > "$tmpdir/$p-$s.out" 2>> "$tmpdir/$p.log"
        is "$? $(grep -c '^\.$' "$tmpdir/$p-$s.out")" "0 1" "sluice-$p, $s MB: passed"
    done
    small=$(tail -1 "$tmpdir/rss-$p-1") big=$(tail -1 "$tmpdir/rss-$p-50")
    note "sluice-$p: peak RSS $small KB for 1 MB, $big KB for 50 MB"
    ok $([ $((big - small)) -lt 1024 ] && [ "$big" -lt 16384 ]; echo $?) \
        "sluice-$p: peak memory flat in message size ($small KB, $big KB)"
done
cmp -s "$tmpdir/50.in" "$tmpdir/checks-50.out"
ok $? "sluice-checks passed the 50 MB message unchanged"
like "$(grep -c 'action=WARN' "$tmpdir/checks.log")" '^10$' "every header field was matched (5 a message, the part's included)"
like "$(grep '^X-Spam-Status' "$tmpdir/spam-50.out")" 'unscanned \(larger than spam_max_size' "sluice-spam tagged it unscanned"
done_testing
