#!/bin/bash
# sluice-alias is built from libexec/alias/, one job per file (file =
# module = function prefix) and no file over 800 lines, with main in
# libexec/alias/sluice-alias.c.
. "$(dirname "$0")/lib.sh"

[ -x "$top/libexec/sluice-alias" ] || bail "libexec/sluice-alias is not built"

ok "$([ ! -e "$top/libexec/sluice-alias.c" ]; echo $?)" \
    "its source is the folder libexec/alias/ alone"
long=$(for f in "$top"/libexec/alias/*.c "$top"/libexec/sluice-alias.c; do
    [ ! -f "$f" ] || wc -l < "$f" | awk -v f="${f#"$top"/}" '$1 > 800 { print f " " $1 }'
done)
is "$long" "" "no source file of it has more than 800 lines"
ok "$(grep -q '^main(' "$top/libexec/alias/sluice-alias.c"; echo $?)" \
    "main is in libexec/alias/sluice-alias.c"
# Each module's external functions carry its file name as their prefix.
bad=$(for f in "$top"/libexec/alias/alias_*.c; do
    awk -v m="$(basename "$f" .c)" '
        /^[a-z_]+\(/ && prev !~ /^static/ && index($0, m "_") != 1 {
            sub(/\(.*/, ""); print m ": " $0 }
        { prev = $0 }' "$f"
done)
is "$bad" "" "each module's external functions are named after its file"
done_testing
