#!/bin/bash
# A body line that ends in a CR (CR CR LF in the input) keeps its CR through
# every stage: what the writer emits reads back to the same line, in the
# LF form as in the CRLF form, however many stages it passes.
# (Found by the stream fuzz target, t/fuzz/corpus/stream/crash-cr-before-crlf.)
. "$(dirname "$0")/lib.sh"
[ -x "$top/t/streamcat" ] || bail "t/streamcat is not built (make check)"

printf 'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nend in CR\r\r\n\r\r\n.\r\n' > "$tmpdir/in"
# The body lines as the reader gives them, CRs shown.
body() { sed -n '/^DATA/,$p' | sed 1d | od -An -c | tr -s ' ' | tr -d '\n'; }

"$top/t/streamcat" < "$tmpdir/in" > "$tmpdir/once"
"$top/t/streamcat" < "$tmpdir/once" > "$tmpdir/twice"
is "$(body < "$tmpdir/twice")" "$(body < "$tmpdir/once")" "LF form: a second stage writes what the first wrote"
"$top/t/streamcat" -c < "$tmpdir/in" > "$tmpdir/crlf"
is "$(body < "$tmpdir/crlf")" "$(body < "$tmpdir/in")" "CRLF form: the body is the input's"
like "$(body < "$tmpdir/once")" 'C R \\r \\r \\n \\r \\r \\n' "LF form: each line keeps its CR, then CRLF"
done_testing
