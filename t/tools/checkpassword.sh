#!/bin/bash
# t/tools/checkpassword.sh — a checkpassword-compatible program for the tests
# (Debian has no checkpassword package): it reads "user\0password\0timestamp\0"
# on descriptor 3 and exits 0 when they are CP_USER and CP_PASS (from the
# environment), 111 for the user "tempfail", else 1; on success it runs the
# rest of its arguments, as checkpassword does.  Each call appends
# "user timestamp" to CP_LOG when that is set.
IFS= read -r -d '' user <&3 || exit 2
IFS= read -r -d '' pass <&3 || exit 2
IFS= read -r -d '' stamp <&3 || exit 2
[ -z "${CP_LOG:-}" ] || printf '%s %s\n' "$user" "$stamp" >> "$CP_LOG"
[ "$user" = tempfail ] && exit 111
[ "$user" = "${CP_USER:-}" ] && [ "$pass" = "${CP_PASS:-}" ] || exit 1
[ $# -eq 0 ] || exec "$@"
exit 0
