#!/bin/bash
# Unit tests of the header module lib/header.c (t/header.c): fields, folding,
# address values, the limit; a header from any line source, or line by line.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/header" ] || bail "t/header is not built (make check)"
"$top/t/header"
