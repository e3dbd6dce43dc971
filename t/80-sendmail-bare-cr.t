#!/bin/bash
# Local submission puts no bare CR into the queue, and loses no text: CRs
# just before a line end belong to it, and any other CR ends a line, whose
# rest is a line of its own, dot-stuffed like any other and never the "."
# that ends the input.  ("x\r.\rMAIL FROM:<...>" used to be queued as it
# was, for sluice-smtp to relay byte for byte: SMTP smuggling material.)
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf spool=$tmpdir/spool
mkdir -p "$conf" "$spool"/{tmp,incoming,deferred,bad}
printf 'qualify_domain example.test\nhostname mx.example.test\n' > "$conf/config"
sluice-mkcdb "$conf/config" || bail "mkcdb"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool SLUICE_LIBEXEC=$top/libexec
unset SLUICE_QUEUE

# submit INPUT ARGS... — into the real queue; $q is the queued file.
submit() {
    local input=$1
    shift
    rm -f "$spool"/incoming/*
    printf "$input" | sendmail -f a@example.test "$@" 2> "$tmpdir/err"
    ok $? "sendmail $* takes it"
    q=$(ls "$spool"/incoming/* 2>/dev/null | head -1)
}
# The body as queued: after DATA and the header, stuffing kept.
body() { sed -n '/^DATA$/,$p' "$q" | sed '1,/^$/d'; }

submit 'Subject: s\n\nx\r.\rMAIL FROM:<evil@example.org>\r\r\nRCPT TO:<v@example.org>\r\nlast\n' b@example.test
is "$(grep -c -a $'\r' "$q")" 0 "no CR anywhere in the queued message"
is "$(body)" "x
..
MAIL FROM:<evil@example.org>
RCPT TO:<v@example.org>
last
." "each bare CR ends a line; the lone dot is stuffed; CR CR LF is one line end"

# Old Mac text: CR alone as the line end, header and body.
submit 'Subject: mac\rX-Note: two\r\rline one\rline two\r' b@example.test
is "$(grep -c -a $'\r' "$q")" 0 "CR-only text: no CR queued"
like "$(sed -n '/^DATA$/,$p' "$q")" $'\nSubject: mac\nX-Note: two\n' "its header fields are fields"
is "$(body)" "line one
line two
." "its body lines are lines"

# A "." after a bare CR is text, not the end of the input (without -i).
submit 'Subject: s\n\na\r.\rstill here\n.\nafter the end\n' b@example.test
is "$(body)" "a
..
still here
." "only a whole input line \".\" ends the message"

# A bare CR in a header field's text ends the field: the rest is text.
submit 'Subject: one\rtwo\n\nbody\n' b@example.test
is "$(grep -c -a $'\r' "$q")" 0 "a CR inside a header field: none queued"
like "$(sed -n '/^DATA$/,$p' "$q")" $'\nSubject: one\n' "the field ends at the CR"
like "$(body)" $'^two\n\nbody\n' "and nothing after it is lost (the header ended before it)"

# At the limit: 998 octets and CR CR LF is still one line of 998.
long=$(printf '%0998d' 0)
submit "Subject: s\n\n$long\r\r\n" b@example.test
is "$(body | head -1)" "$long" "a 998-octet line ended by CR CR LF"
# Each line cut by a CR is a line of the message, with its own limit.
half=$(printf '%0499d' 0)
submit "Subject: s\n\n$half\r$half\n" b@example.test
is "$(body | head -2 | tr '\n' '|')" "$half|$half|" "999 octets cut by a CR: two lines of 499"
rc=0; printf 'Subject: s\n\nx\r%s\n' "${long}y" | sendmail -f a@example.test b@example.test 2> "$tmpdir/err" || rc=$?
is "$rc" 65 "a 999-octet line after a CR is refused (65)"
like "$(cat "$tmpdir/err")" 'line 3 is longer than 998 octets' "naming its input line"
# CR-only text longer than a line: taken (up to 64 KB without an LF).
mac=$(for i in $(seq 1 40); do printf 'line %d of a text with CR line ends, padded to be long enough\r' "$i"; done)
submit "Subject: mac\r\r$mac" b@example.test
is "$(body | wc -l)" 41 "a CR-only text of $(printf %s "$mac" | wc -c) octets: 40 lines and the dot"
is "$(body | sed -n 40p)" "line 40 of a text with CR line ends, padded to be long enough" "its last line whole"
done_testing
