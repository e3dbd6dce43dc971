#!/bin/bash
# The stream writer refuses a line with a line end inside it (t/streamw.c).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/streamw" ] || bail "t/streamw is not built (make check)"
"$top/t/streamw"
