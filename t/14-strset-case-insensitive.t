#!/bin/bash
# Unit tests of the case-insensitive string set lib/strset.c (t/strset.c).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/strset" ] || bail "t/strset is not built (make check)"
"$top/t/strset"
