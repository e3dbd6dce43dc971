#!/bin/bash
# Unit tests of lib/table.c (t/table.c): a damaged table is a temporary
# failure, never an empty table; a table of secrets that others can read
# (its .cdb or its text) is refused; a bare name is looked up after local@.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/table" ] || bail "t/table is not built (make check)"
d=$tmpdir
printf 'cdb, but cut' > "$d/damaged.cdb"
for n in private public leaky; do printf 'relay.example.test u:p\n' > "$d/$n"; done
chmod 0640 "$d/private" "$d/leaky"; chmod 0644 "$d/public"
for n in private public leaky; do "$top/bin/sluice-mkcdb" "$d/$n" || bail "mkcdb $n"; done
chmod 0644 "$d/leaky"
printf 'root bare\nbob@ any\nbob bare\ncarol bare\n@example.test catchall\n' > "$d/aliases"
"$top/bin/sluice-mkcdb" "$d/aliases" || bail "mkcdb aliases"
"$top/t/table" "$d"
