#!/bin/bash
# lib/unreach, the memory of unreachable destinations sluice-smtp keeps in
# spool/unreachable/: records, ages and the ttl, forgetting, file names that
# stay inside the folder, and no memory (no error) without a usable folder.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/unreach" ] || bail "t/unreach is not built (make check)"
cd "$tmpdir" || bail "no tmpdir"
"$top/t/unreach" "$tmpdir"
