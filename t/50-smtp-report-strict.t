#!/bin/bash
# sluice-smtp's worker report line (libexec/smtp/smtp.h): what a worker
# writes reads back the same, and a malformed or over-long line is refused
# with a reason, never cut or taken in part (t/smtp-report.c).  What the
# parent then does with the recipient (4.3.0, the message kept) is in
# t/50-smtp-long-reply.t and sluice-smtp(8).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/smtp-report" ] || bail "t/smtp-report is not built (make check)"
# Not exec: lib.sh's exit handler must run to remove $tmpdir.
"$top/t/smtp-report"
exit $?
