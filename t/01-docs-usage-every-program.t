#!/bin/bash
# Every program answers --help with its usage on standard output and exit
# 0, and bad usage with its usage on standard error and exit 100 (sendmail
# and mailq: 64, EX_USAGE, as every sendmail's); the usage names the
# program's page, and every page a program's message names exists in man/.
. "$(dirname "$0")/lib.sh"
cd "$top" || bail "no tree"
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool
mkdir -p "$SLUICE_CONF"

for p in bin/* libexec/*; do
    [ -f "$p" ] && [ -x "$p" ] || continue
    name=${p##*/}
    out=$(timeout 10 "$p" --help </dev/null 2>"$tmpdir/err"); rc=$?
    is "$rc" 0 "$name --help exits 0"
    like "$out" "^usage: $name " "$name --help prints its usage on standard output"
    is "$(cat "$tmpdir/err")" "" "$name --help writes nothing on standard error"
    page=$(grep -oiE "see [a-z0-9-]+\([1-8]\)" <<<"$out" | sed -E 's/[Ss]ee ([^(]+)\(([1-8])\)/\1.\2/')
    ok $([ -n "$page" ] && [ -e "man/$page" ]; echo $?) "$name's usage names its page, which exists (${page:-none})"

    case $name in sendmail|mailq) want=64 ;; *) want=100 ;; esac
    case $name in
    sluice-queue|sluice-check|sluice-logsum|sluice-import|sluice-mkcdb|sendmail|mailq|\
    sluice-runq|sluice-retry|sluice-pop3|sluice-bsmtp-decode|sluice-dnsbl|sluice-tlsd|sluice-auth|\
    sluice-iconv)
        bad=(-Z) ;;	# programs with options: an unknown one
    *)  bad=(extra-argument) ;;	# filters and listeners take none
    esac
    timeout 10 "$p" "${bad[@]}" </dev/null >"$tmpdir/out" 2>"$tmpdir/err"; rc=$?
    is "$rc" "$want" "$name ${bad[*]} is bad usage: exit $want"
    like "$(cat "$tmpdir/err")" "usage: $name " "$name ${bad[*]} prints the usage on standard error"
done

# Pages named in the programs' messages: NAME(N) in a string of the code.
pages=$(grep -ohE '"[^"]*[a-z][a-z0-9_.-]*\([1-8]\)[^"]*"' bin/*.c bin/*/*.c libexec/*.c libexec/*/*.c lib/*.c |
    grep -oE '[a-z][a-z0-9_.-]*\([1-8]\)' | sort -u)
[ -n "$pages" ] || bail "found no page names in the code"
for pg in $pages; do
    f=man/$(sed -E 's/\(([1-8])\)$/.\1/' <<<"$pg")
    ok $([ -e "$f" ]; echo $?) "the page $pg named in a message exists ($f)"
done

done_testing
