#!/bin/bash
# Unit tests of addr_parse/addr_format, param_parse and xtext (t/addr.c).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/addr" ] || bail "t/addr is not built (make check)"
exec "$top/t/addr"
