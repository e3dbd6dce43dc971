#!/bin/bash
# sendmail and mailq answer --help with their usage on standard output and
# exit 0; bad usage prints the usage on standard error and exits EX_USAGE
# (64): their callers read a <sysexits.h> status (sendmail(1), EXIT
# STATUS).  Every page they name exists: sendmail's is sendmail(1).
. "$(dirname "$0")/lib.sh"

for p in sendmail mailq; do
    "$p" --help > "$tmpdir/out" 2> "$tmpdir/err"
    is "$?" 0 "$p --help exits 0"
    like "$(cat "$tmpdir/out")" "^usage: $p " "$p --help prints the usage on standard output"
    is "$(cat "$tmpdir/err")" "" "$p --help writes nothing on standard error"
    "$p" -z < /dev/null > "$tmpdir/out" 2> "$tmpdir/err"
    is "$?" 64 "$p -z (an unknown option) exits 64, EX_USAGE"
    like "$(cat "$tmpdir/err")" "^$p: unknown option -z
usage: $p " "$p -z names the option, then prints the usage"
    is "$(cat "$tmpdir/out")" "" "on standard error only"
done
sendmail -f < /dev/null 2> "$tmpdir/err"
is "$?" 64 "sendmail -f without its argument exits 64"
like "$(cat "$tmpdir/err")" "^sendmail: -f needs an argument
usage: sendmail " "and says so, with the usage"

# The pages named in messages and usage texts exist.
pages=$( { sendmail --help; mailq --help; sendmail -z; mailq -z; sendmail -bd; } 2>&1 </dev/null |
    grep -oE '[a-z-]+\([0-9]\)' | sort -u)
like "$pages" "sendmail\\(1\\)" "sendmail's messages name sendmail(1)"
for pg in $pages; do
    n=${pg%(*} s=${pg#*(}; s=${s%)}
    ok $([ -e "$top/man/$n.$s" ]; echo $?) "the page $pg named in a message exists"
done
unlike "$(grep -rho 'sendmail(8)' "$top/bin" "$top/man" "$top/doc" --include=*.c --include=*.h --include=*.[158] --include=*.md)" . \
    "no source or page names sendmail(8)"

done_testing
