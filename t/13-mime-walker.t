#!/bin/bash
# The MIME walker (lib/mime.c): the unit tests of t/mime.c (hand-made and
# malformed messages), then messages nobody here wrote: every one is walked
# without a crash and its raw lines are the input again (CRs before LF
# aside), and ClamAV's test mails give back clam.exe, octet for octet, from
# base64, uuencode and BinHex.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/mime" ] && [ -x "$top/t/mimewalk" ] || bail "t/mime or t/mimewalk is not built (make check)"

unit "$top/t/mime"

enmime=/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata
pyemail=/usr/lib/python3.11/test/test_email/data
clamtf=/usr/share/clamav-testfiles
[ -d "$enmime" ] || bail "$enmime is missing (package golang-github-jhillyerd-enmime-dev, .ci/deps)"
[ -d "$pyemail" ] || bail "$pyemail is missing (package libpython3.11-testsuite, .ci/deps)"
[ -d "$clamtf" ] || bail "$clamtf is missing (package clamav-testfiles, .ci/deps)"

# corpus NAME FILES... — each file walks, and walks back to itself.
corpus() {
    local name=$1 f bad= count=0
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        count=$((count + 1))
        if ! "$top/t/mimewalk" -q < "$f" > /dev/null 2> "$tmpdir/err"; then
            bad="$bad $f(exit $?)"
            continue
        fi
        "$top/t/mimewalk" -r < "$f" > "$tmpdir/raw" &&
            sed 's/\r$//' "$f" | cmp -s - "$tmpdir/raw" || bad="$bad $f(not lossless)"
    done
    is "$bad" "" "$name: $count messages walked, each lossless"
}
corpus "enmime testdata" $(find "$enmime" -type f | sort)
corpus "Python test_email data" "$pyemail"/msg_*.txt
corpus "ClamAV test mails" "$clamtf"/clam.mail "$clamtf"/clam.exe.mbox.* "$clamtf"/clam.exe.binhex

want=$(md5sum < "$clamtf/clam.exe")
for f in clam.mail clam.exe.mbox.base64 clam.exe.mbox.uu clam.exe.binhex; do
    rm -rf "$tmpdir/parts"; mkdir "$tmpdir/parts"
    "$top/t/mimewalk" -d "$tmpdir/parts" < "$clamtf/$f" > "$tmpdir/walk"
    got=no
    for p in "$tmpdir"/parts/*; do
        [ "$(md5sum < "$p")" = "$want" ] && got=yes
    done
    is "$got" yes "$f: clam.exe decoded octet for octet"
done

# The same walk, by lines (mime_line) and by blocks (mime_feed).
"$top/t/mimewalk" < "$clamtf/clam.mail" > "$tmpdir/feed"
"$top/t/mimewalk" -L < "$clamtf/clam.mail" > "$tmpdir/lines"
cmp -s "$tmpdir/feed" "$tmpdir/lines"
ok $? "mime_line and mime_feed walk a message the same"
done_testing
