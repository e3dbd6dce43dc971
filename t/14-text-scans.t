#!/bin/bash
# lib/text.c's scans, sixteen octets a step, against plain loops (unit
# tests in t/text.c): text_find, and text_drop, which sluice-smtp uses to
# turn its CRLF body spool back into the stream's LF lines.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/text" ] || bail "t/text is not built (make check)"
# The unit tests' lines are this test's first ones (their plan line aside).
"$top/t/text" > "$tmpdir/unit"
rc=$?
grep -v '^1\.\.' "$tmpdir/unit"
_t_n=$(grep -c '^\(not \)\?ok ' "$tmpdir/unit")
_t_fail=$(grep -c '^not ok ' "$tmpdir/unit")
ok $rc "t/text ran to its end"
done_testing
