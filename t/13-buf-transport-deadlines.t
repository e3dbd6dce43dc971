#!/bin/bash
# Unit tests of lib/buf.c (t/buf.c): an rbuf and a wbuf through a transport
# (what sluice-smtp and sluice-pop3 use for TLS), with the idle timeout or
# the deadline given to each read and write; a piece's octet given back;
# non-blocking descriptors waited for, and given up at the deadline.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/buf" ] || bail "t/buf is not built (make check)"
"$top/t/buf"
