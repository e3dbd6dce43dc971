#!/bin/bash
# The documentation says what the code does: every program has a man page
# with the sections STYLE.md asks for, every page renders without a groff
# warning, every setting a program reads is documented in doc/internals.md
# and listed (with its default) in conf/config, and man/sluice-config.5 is
# what t/tools/mkconfigman.py makes from doc/internals.md.
. "$(dirname "$0")/lib.sh"
cd "$top" || bail "no tree"

# A program of several modules is a folder whose main file is named after it.
for src in bin/*.c libexec/*.c bin/*/sluice-*.c libexec/*/sluice-*.c bin/submit/sendmail.c; do
    [ -e "$src" ] || continue
    prog=$(basename "$src" .c)
    page=$(ls man/"$prog".[18] 2>/dev/null | head -1)
    ok $([ -n "$page" ]; echo $?) "$prog has a man page"
    [ -n "$page" ] || continue
    missing=
    for sec in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
        grep -qE "^\.S[Hh] \"?$sec" "$page" || missing="$missing [$sec]"
    done
    is "$missing" "" "$page has NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES"
done

# man/manN/ holds a link to each page, so that `man -M man NAME` finds it.
for page in man/*.[158]; do
    b=${page#man/}
    [ "$(readlink -f "man/man${b##*.}/$b" 2>/dev/null)" = "$(readlink -f "$page")" ]
    ok $? "man/man${b##*.}/$b links to $page"
done

if command -v groff >/dev/null; then
    for page in man/*.[158]; do
        is "$(groff -man -ww -z -Tutf8 "$page" 2>&1 | head -3)" "" "$page renders without warnings"
    done
else
    bail "groff is missing (package groff-base, installed by .ci/deps)"
fi

# Settings: the names passed as literals to conf_get/conf_time/conf_size/conf_num.
settings=$(grep -ohsE 'conf_(get|time|size|num)\("[a-z0-9_]+"' lib/*.c libexec/*.c bin/*.c libexec/*/*.c bin/*/*.c |
    sed -E 's/.*\("//; s/"$//' | sort -u)
[ -n "$settings" ] || bail "found no settings in the code"
for s in $settings; do
    grep -qE "^\| \`$s\` " doc/internals.md
    ok $? "setting $s is in doc/internals.md"
    grep -qE "^#?$s[[:space:]]" conf/config
    ok $? "setting $s is in conf/config"
done

# The registry (lib/settings.c), which sluice-mkcdb and every program check
# the config table against, holds exactly the documented settings.
registry=$(grep -oE '^	(STR|NUM|TIME|SIZE|BOOL|ENUM)\("[a-z0-9_]+"' lib/settings.c | sed -E 's/.*\("//; s/"$//' | sort -u)
[ -n "$registry" ] || bail "found no settings in lib/settings.c"
documented=$(grep -oE '^\| `[a-z0-9_]+` \|' doc/internals.md | sed -E 's/^\| `//; s/` \|$//' |
    sed -n '/^hostname$/,$p' | sort -u)
for s in $settings; do
    grep -qx "$s" <<<"$registry"
    ok $? "setting $s is in the registry (lib/settings.c)"
done
is "$(comm -3 <(echo "$registry") <(echo "$documented") | tr -s '\t\n' '  ')" "" \
    "the registry and doc/internals.md's settings table list the same settings"

"$PY" t/tools/mkconfigman.py . > "$tmpdir/sluice-config.5" || bail "mkconfigman failed"
cmp -s "$tmpdir/sluice-config.5" man/sluice-config.5
ok $? "man/sluice-config.5 is up to date with doc/internals.md (run t/tools/mkconfigman.py > man/sluice-config.5)"
done_testing
