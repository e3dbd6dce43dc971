#!/bin/bash
# Unit tests of lib/dest (the smtp_dest option words) and lib/dns's address
# helpers (t/dest.c).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/dest" ] || bail "t/dest is not built (make check)"
# Not exec: lib.sh's exit handler must run to remove $tmpdir.
"$top/t/dest"
exit $?
