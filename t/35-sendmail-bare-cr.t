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
done_testing
