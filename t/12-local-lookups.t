#!/bin/bash
# Unit tests of lib/local.c (t/local.c): postmaster, users with +detail,
# local domains, on tables compiled by sluice-mkcdb.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/local" ] || bail "t/local is not built (make check)"
printf 'bob@example.test bob/\ncarol+x@example.test carol-detail/\ncarol@example.test carol/\n' > "$tmpdir/users"
printf 'example.test\n.sub.example.test\n[192.0.2.1]\n' > "$tmpdir/domains"
"$top/bin/sluice-mkcdb" "$tmpdir/users" && "$top/bin/sluice-mkcdb" "$tmpdir/domains" ||
    bail "sluice-mkcdb failed"
# Not exec: this shell removes $tmpdir when the program is done.
"$top/t/local" "$tmpdir/users.cdb" "$tmpdir/domains.cdb"
