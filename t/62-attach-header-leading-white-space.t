#!/bin/bash
# A header that begins with white-space lines (continuation lines of no
# field, a broken header; mail readers skip them and read the fields that
# follow) is read by sluice-attach as a header all the same: a blocked part
# cannot hide behind such a line.  And the X-Sluice-Attach field goes before
# the first field, after those lines: they never become its continuation (a
# sender could otherwise append words of its own to it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/content.sh"

content_conf a attach_block '*.vbs'
sed 's/^DATA$/&\n orphan: nothing removed (clean)\n\tand its second line/' "$data/mixed.in" \
    > "$tmpdir/orphan.in"
SLUICE_CONF=$tmpdir/a sluice-attach < "$tmpdir/orphan.in" > "$tmpdir/orphan.out" 2> "$tmpdir/a.log"
is "$? $(grep -c '^X-Sluice-Attach: removed' "$tmpdir/orphan.out")" "0 1" "run.vbs is removed, and the message says so"
is "$(sed -n '/^DATA$/{n;p;n;p;n;p}' "$tmpdir/orphan.out" | cut -c1-16 | tr '\n' '|')" \
    " orphan: nothing|	and its second |X-Sluice-Attach:|" \
    "the field comes after the header's leading white-space lines, not before them"
done_testing
