#!/bin/bash
# Reading and writing a canonical stream is the identity: over random
# canonical streams from t/tools/genstream.py (fixed seed, printed; set
# SLUICE_SEED to reproduce or vary), through t/streamcat in LF, from CRLF,
# and all of them concatenated.
. "$(dirname "$0")/lib.sh"

seed=${SLUICE_SEED:-20251121}
n=${SLUICE_STREAMS:-320}
note "seed=$seed streams=$n (reproduce: SLUICE_SEED=$seed prove t/11-stream-identity.t)"
mkdir "$tmpdir/s"
"$PY" "$top/t/tools/genstream.py" "$seed" "$n" "$tmpdir/s" || bail "generator failed"

sc=$top/t/streamcat
bad=0; badcrlf=0; badexp=0; first=
for f in "$tmpdir"/s/*.bsmtp; do
    if ! "$sc" < "$f" > "$tmpdir/o" 2> "$tmpdir/e" || ! cmp -s "$f" "$tmpdir/o"; then
        bad=$((bad + 1)); [ -n "$first" ] || first="$(basename "$f"): $(head -1 "$tmpdir/e") $(cmp "$f" "$tmpdir/o" 2>&1)"
        continue
    fi
    # The same stream with CRLF ends reads back to the same LF stream.
    "$sc" -c < "$f" > "$tmpdir/c" && "$sc" < "$tmpdir/c" > "$tmpdir/o2" && cmp -s "$f" "$tmpdir/o2" ||
        { badcrlf=$((badcrlf + 1)); [ -n "$first" ] || first="$(basename "$f") (CRLF)"; }
    # The export form is itself canonical.
    "$sc" -e < "$f" > "$tmpdir/x" && "$sc" < "$tmpdir/x" > "$tmpdir/x2" && cmp -s "$tmpdir/x" "$tmpdir/x2" ||
        { badexp=$((badexp + 1)); [ -n "$first" ] || first="$(basename "$f") (export)"; }
done
[ -z "$first" ] || diag "first failure: $first (kept with SLUICE_KEEP=1)"
is "$bad" 0 "read then write gives the same octets for $n random canonical streams"
is "$badcrlf" 0 "the CRLF form of each reads back to the LF canonical form"
is "$badexp" 0 "the export form of each is canonical"

cat "$tmpdir"/s/*.bsmtp > "$tmpdir/all"
"$sc" < "$tmpdir/all" > "$tmpdir/allo" && cmp -s "$tmpdir/all" "$tmpdir/allo"
ok $? "their concatenation is a stream, read and written unchanged"
txns=$(grep -c '^DATA$' "$tmpdir/all")
[ "$txns" -ge 300 ]; ok $? "the corpus has at least 300 transactions ($txns)"
LC_ALL=C grep -q $'[\x80-\xff]' "$tmpdir/all" && grep -q '^\.\.' "$tmpdir/all" && grep -q ' X-' "$tmpdir/all" &&
    [ "$(LC_ALL=C awk 'length($0) >= 990' "$tmpdir/all" | wc -l)" -gt 0 ] &&
    LC_ALL=C grep -q -B0 -A1 '^DATA$' "$tmpdir/all" && [ "$(LC_ALL=C awk 'p == "DATA" && $0 == "." {n++} {p = $0} END {print n + 0}' "$tmpdir/all")" -gt 0 ]
ok $? "the corpus has 8-bit octets, dot-stuffed lines, private parameters, long lines and empty bodies"

done_testing
