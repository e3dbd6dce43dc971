#!/bin/bash
# The documentation says what the code does: every program has a man page;
# every page (those added later too) uses the man(7) macros and the one
# section list of doc/internals.md ("Man pages") in its order, with the
# sections its manual section needs, renders without a groff warning, has
# its link in man/manN/ and is named in the overview sluice(7); every
# setting a program reads is documented in doc/internals.md and listed
# (with its default) in conf/config, and man/sluice-config.5 is what
# t/tools/mkconfigman.py makes from doc/internals.md.
. "$(dirname "$0")/lib.sh"
cd "$top" || bail "no tree"

# A program of several modules is a folder whose main file is named after it.
for src in bin/*.c libexec/*.c bin/*/sluice-*.c libexec/*/sluice-*.c bin/submit/sendmail.c; do
    [ -e "$src" ] || continue
    prog=$(basename "$src" .c)
    page=$(ls man/"$prog".[18] 2>/dev/null | head -1)
    ok $([ -n "$page" ]; echo $?) "$prog has a man page"
done

# The one section list, in its order (doc/internals.md, "Man pages"): a
# page's headings are a subsequence of it.  Between OPTIONS and EXIT STATUS
# a page may have sections of its own topic, from this list too.
order=(NAME SYNOPSIS DESCRIPTION OPTIONS TABLES PROFILES LIMITS SETTINGS
    DIAGNOSTICS "EXIT STATUS" ENVIRONMENT FILES SECURITY LOG EXAMPLES
    STANDARDS "SEE ALSO")
# The sections each manual section must have: programs (1, 8), file
# formats (5), overviews (7).
need_prog=(NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES SECURITY EXAMPLES "SEE ALSO")
need_5=(NAME SYNOPSIS DESCRIPTION FILES "SEE ALSO")
need_7=(NAME DESCRIPTION "SEE ALSO")

# headings PAGE — its .SH headings, one a line, quotes removed.
headings() { sed -n 's/^\.SH[[:space:]]*//p' "$1" | sed 's/^"\(.*\)"[[:space:]]*$/\1/; s/[[:space:]]*$//'; }

for page in man/*.[1-9]; do
    b=${page#man/} sec=${page##*.}
    grep -v '^\.\\"' "$page" | head -1 | grep -q '^\.TH '
    ok $? "$page starts with .TH, after comments (man(7) macros)"
    is "$(grep -cE '^\.(Dd|Dt|Os|Sh|Ss|Nm|Nd|Fl|Ar|Op|Xr|Pa|It|Bl|El)( |$)' "$page")" 0 \
        "$page uses no mdoc(7) macros"
    # Each heading must come after the one before it in the list.
    bad= at=0
    while IFS= read -r h; do
        for ((k = at; k < ${#order[@]}; k++)); do [ "${order[k]}" = "$h" ] && break; done
        if [ $k -ge ${#order[@]} ]; then bad="$bad [$h]"; else at=$((k + 1)); fi
    done < <(headings "$page")
    is "$bad" "" "$page: its sections are of the list, in its order, each once"
    case $sec in
    1|8) need=("${need_prog[@]}") ;;
    5) need=("${need_5[@]}") ;;
    *) need=("${need_7[@]}") ;;
    esac
    missing=
    for h in "${need[@]}"; do headings "$page" | grep -qxF "$h" || missing="$missing [$h]"; done
    is "$missing" "" "$page has the sections of section $sec: ${need[*]}"
    # man/manN/ holds a link to each page, so that `man -M man NAME` finds it.
    [ "$(readlink -f "man/man$sec/$b" 2>/dev/null)" = "$(readlink -f "$page")" ]
    ok $? "man/man$sec/$b links to $page"
    # The overview names every page, so that a new program gets added to it.
    if [ "$page" != man/sluice.7 ]; then
        sed -E 's/\\f[BIRP]//g' man/sluice.7 | grep -qE "(^|[^a-z0-9-])${b%.*} ?\($sec\)"
        ok $? "sluice(7) names ${b%.*}($sec)"
    fi
done

if command -v groff >/dev/null; then
    for page in man/*.[1-9]; do
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
