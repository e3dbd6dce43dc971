#!/bin/bash
# Unit tests of lib/sha256.c (SHA-256, HMAC-SHA-256) and lib/b64.c (strict
# base64), on which the BSMTP tunnel's MAC and body rest (t/tunnelcrypto.c).
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/tunnelcrypto" ] || bail "t/tunnelcrypto is not built (make check)"
"$top/t/tunnelcrypto"
