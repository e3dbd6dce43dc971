#!/bin/bash
# A header that begins with white-space lines (continuation lines of no
# field, a broken header; mail readers skip them and read the fields that
# follow, as Python's email package does) is read by sluice-scan as a
# header all the same: the parts of such a message are decoded and
# scanned, so that an encoded virus cannot hide behind one such line.  And
# the X-Sluice-Scan field goes before the first field, after those lines:
# they never become the continuation of the verdict (a sender could
# otherwise append words of its own to it), in the message passed on and in
# the copy kept in quarantine/.  The tagging needs no clamd: the scanner
# error is made suspicious, which tags or quarantines the message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"

mkdir -p "$tmpdir/spool/quarantine"
mail clean | sed 's/^DATA$/&\n orphan: by trusted.example (clean)\n\tand its second line/' \
    > "$tmpdir/orphan.in"
# The first three lines of the header: the two orphan lines, then a field.
head3() { sed -n '/^DATA$/{n;p;n;p;n;p}' "$1" | cut -c1-14 | tr '\n' '|'; }

content_conf tag scan_clamd "$tmpdir/nowhere.sock" scan_error_action suspicious \
    scan_suspicious_action tag
scan tag < "$tmpdir/orphan.in" > "$tmpdir/tag.out"
is "$? $(grep -c '^X-Sluice-Scan: suspicious' "$tmpdir/tag.out")" "0 1" "the message is tagged suspicious"
is "$(head3 "$tmpdir/tag.out")" " orphan: by tr|	and its secon|X-Sluice-Scan:|" \
    "the tag comes after the header's leading white-space lines, not before them"
diff <(sed '/^X-Sluice-Scan:/d' "$tmpdir/tag.out") "$tmpdir/orphan.in" > /dev/null
ok $? "the rest of the message is as it came"

content_conf quar scan_clamd "$tmpdir/nowhere.sock" scan_error_action suspicious \
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

# The parts behind the white-space lines are decoded: clamd (its own mail
# scanning off) sees EICAR only if sluice-scan decoded the base64.
clamd_start
content_conf clamd scan_clamd "$CLAMD_SOCK" scan_infected_action tag
mail base64 | sed 's/^DATA$/&\n orphan: clean/' > "$tmpdir/virus.in"
scan clamd < "$tmpdir/virus.in" > "$tmpdir/virus.out"
like "$? $(grep '^X-Sluice-Scan:' "$tmpdir/virus.out")" '^0 X-Sluice-Scan: infected \(Eicar-Test-Signature' \
    "a base64 virus behind a leading white-space line is decoded and found"
done_testing
