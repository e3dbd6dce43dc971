#!/bin/bash
# lib/text.c's scans, sixteen octets a step, against plain loops (unit
# tests in t/text.c): text_find, and text_drop, which sluice-smtp uses to
# turn its CRLF body spool back into the stream's LF lines.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/text" ] || bail "t/text is not built (make check)"
unit "$top/t/text"
done_testing
