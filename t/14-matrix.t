#!/bin/bash
# Unit tests of lib/cidr.c and lib/matrix.c (t/matrix.c): address ranges,
# and which stage acts on which source and channel, from a real content
# table and access table.
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/matrix" ] || bail "t/matrix is not built (make check)"
export SLUICE_CONF=$tmpdir
cat > "$tmpdir/content" <<'EOF2'
attach      from=internet to=local; from=imported
disclaimer  from=relay,auth,local to=smtp
scan        off
default     from=192.0.2.0/24
EOF2
printf '10.1\trelay\n' > "$tmpdir/access"
sluice-mkcdb "$tmpdir/content" && sluice-mkcdb "$tmpdir/access" || bail "sluice-mkcdb failed"
"$top/t/matrix"
