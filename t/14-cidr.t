#!/bin/bash
# Unit tests of the address ranges lib/cidr.c (t/cidr.c): every textual form
# of IPv4 and IPv6 addresses, CIDR blocks, ranges a-b, DNS-BL names.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/cidr" ] || bail "t/cidr is not built (make check)"
"$top/t/cidr"
