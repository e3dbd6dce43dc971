#!/bin/bash
# Unit tests of addr_parse/addr_format, param_parse and xtext (t/addr.c).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/addr" ] || bail "t/addr is not built (make check)"
# Not exec: lib.sh's exit handler must run to remove $tmpdir.
"$top/t/addr"
exit $?
