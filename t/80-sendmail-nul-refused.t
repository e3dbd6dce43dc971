#!/bin/bash
# sendmail refuses a message with a NUL in its header, and an address with
# a NUL in it, with a message that names the address and a non-zero exit
# status; nothing is queued (a NUL used to cut x@[tag:f\0oo] short, and the
# message ended in bad/ with sendmail's exit 0).
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf spool=$tmpdir/spool
mkdir -p "$conf" "$spool"/{tmp,incoming,deferred,bad}
printf 'qualify_domain example.test\nhostname mx.example.test\n' > "$conf/config"
sluice-mkcdb "$conf/config" || bail "mkcdb"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool SLUICE_LIBEXEC=$top/libexec
unset SLUICE_QUEUE

queued() { find "$spool" -type f ! -name trigger | wc -l; }

# submit NAME INPUT ARGS... — sendmail into the real queue; $rc and $err.
submit() {
    local name=$1 input=$2
    shift 2
    rc=0
    printf "$input" | sendmail "$@" 2> "$tmpdir/err" || rc=$?
    err=$(cat "$tmpdir/err")
}

submit "-t, NUL in a literal" 'To: x@[tag:f\0oo]\nSubject: s\n\nbody\n' -t -f a@example.test
is "$rc" 65 "-t with x@[tag:f\\0oo]: exit 65 (EX_DATAERR)"
like "$err" 'line 1: NUL octet in the header, in x@\[tag:f\\0oo\]' "the message names the address, its NUL shown"
is "$(queued)" 0 "nothing is queued"

submit "-t, NUL in a local part" 'To: Bob <b\0ob@example.test>, c@example.test\n\nbody\n' -t
is "$rc" 65 "-t with a NUL in a local part: exit 65"
like "$err" 'in b\\0ob@example\.test$' "the message names that address"
is "$(queued)" 0 "nothing is queued"

submit "NUL in a continuation" 'To: c@example.test,\n d\0@example.test\n\nbody\n' -t
is "$rc" 65 "-t with a NUL in a continuation line of To: exit 65"
like "$err" 'line 2: NUL octet in the header, in d\\0@example\.test$' "named, with its line"

submit "NUL in another field" 'Subject: a\0b\n\nbody\n' c@example.test
is "$rc" 65 "a NUL in Subject: is refused too, without -t"
like "$err" 'line 1: NUL octet in the header' "and said so"
is "$(queued)" 0 "nothing is queued"

# A bad address is named whatever is wrong with it.
submit "bad literal" 'To: x@[tag:f oo\n\nbody\n' -t
is "$rc" 65 "-t with an unclosed literal: exit 65"
like "$err" 'bad address: <x@\[tag:foo>: ' "the message names the address"

# The body may hold a NUL: it is text to no one here, and passes unchanged.
submit "NUL in the body" 'Subject: s\n\na\0b\n' c@example.test
is "$rc" 0 "a NUL in the body is queued"
is "$(queued)" 1 "one message queued"
grep -q -a -P 'a\x00b' "$spool"/incoming/* ; ok $? "with its NUL"
done_testing
