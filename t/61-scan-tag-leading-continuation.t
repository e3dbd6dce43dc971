#!/bin/bash
# sluice-scan puts its X-Sluice-Scan field before the first field of the
# header, after any white-space lines a broken header starts with: such a
# line never becomes the continuation of the verdict (a sender could
# otherwise append words of its own to it).  The same holds for the copy
# kept in quarantine/.  No clamd runs: the scanner error is made
# suspicious, which tags or quarantines the message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"

mkdir -p "$tmpdir/spool/quarantine"
mail clean | sed 's/^DATA$/&\n orphan: by trusted.example (clean)\n\tand its second line/' \
    > "$tmpdir/orphan.in"
# The first three lines of the header: the two orphan lines, then a field.
head3() { sed -n '/^DATA$/{n;p;n;p;n;p}' "$1" | cut -c1-14 | tr '\n' '|'; }

scan_conf tag scan_clamd "$tmpdir/nowhere.sock" scan_error_action suspicious \
    scan_suspicious_action tag
scan tag < "$tmpdir/orphan.in" > "$tmpdir/tag.out"
is "$? $(grep -c '^X-Sluice-Scan: suspicious' "$tmpdir/tag.out")" "0 1" "the message is tagged suspicious"
is "$(head3 "$tmpdir/tag.out")" " orphan: by tr|	and its secon|X-Sluice-Scan:|" \
    "the tag comes after the header's leading white-space lines, not before them"
diff <(sed '/^X-Sluice-Scan:/d' "$tmpdir/tag.out") "$tmpdir/orphan.in" > /dev/null
ok $? "the rest of the message is as it came"

scan_conf quar scan_clamd "$tmpdir/nowhere.sock" scan_error_action suspicious \
    scan_suspicious_action quarantine
scan quar < "$tmpdir/orphan.in" > /dev/null
qf=$(sed -n 's/.*quarantined=//p' "$tmpdir/scan.log" | tail -1)
is "$(head3 "$tmpdir/spool/$qf")" " orphan: by tr|	and its secon|X-Sluice-Scan:|" \
    "in quarantine/ too"

# A header of white-space lines only: the tag still comes after them.
printf 'MAIL FROM:<s@example.org>\nRCPT TO:<r@example.test>\nDATA\n orphan\n\nbody\n.\n' |
    scan tag > "$tmpdir/only.out"
is "$(sed -n '4,6p' "$tmpdir/only.out" | cut -c1-14 | tr '\n' '|')" " orphan|X-Sluice-Scan:||" \
    "a header of a white-space line alone: the tag after it, then the blank line"
done_testing
