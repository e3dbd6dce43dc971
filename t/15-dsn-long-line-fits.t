#!/bin/bash
# The human-readable part of a notice has one line per recipient,
# "<address>: status diagnostic".  A long address (254 octets) with a long
# diagnostic (a command's output, cut to 900 octets) made that line 1158
# octets: longer than a stream text line may be (998, RFC 5321 4.5.3.1.6),
# so the next stage refused the whole stream.  Every line of a notice must
# fit.
. "$(dirname "$0")/lib.sh"

plan 4
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool TMPDIR=$tmpdir
conf=$SLUICE_CONF
mkdir -p "$conf"
printf 'hostname mx.example.test\nmailroot %s/mail\npostmaster postmaster@example.test\n' "$tmpdir" > "$conf/config"
echo example.test > "$conf/domains"
printf 'sender@example.test sender/\n' > "$conf/users"
for t in config domains users; do sluice-mkcdb "$conf/$t" || bail "sluice-mkcdb $t"; done

# A command that fails with 1000 octets of output (it runs as nobody as root).
printf '#!/bin/sh\nhead -c 1000 /dev/zero | tr "\\\\0" x\nexit 1\n' > "$tmpdir/fail"
chmod 0755 "$tmpdir/fail"
rep() { printf "$1%.0s" $(seq "$2"); }
addr=$(rep l 64)@$(rep d 60).$(rep e 60).$(rep f 62).test
is "${#addr}" 254 "the recipient has 254 octets"

printf 'XFORWARD IDENT=06b000000000000000001\nMAIL FROM:<s@remote.test>\nRCPT TO:<%s> X-ROUTE=pipe:%s/fail\nDATA\nSubject: x\n\nhi\n.\n' "$addr" "$tmpdir" |
    sluice-local > "$tmpdir/out" 2> "$tmpdir/err"
like "$(head -1 "$tmpdir/out")" '^MAIL FROM:<> X-NOTICE=bounce' "sluice-local writes a bounce" || diag "$(cat "$tmpdir/err")"
is "$(awk 'length($0) > 998' "$tmpdir/out" | wc -l)" 0 "no line of the notice is longer than 998 octets"
"$top/t/streamcat" < "$tmpdir/out" > /dev/null 2> "$tmpdir/cat.err"
is "$?" 0 "the output is a valid stream" || diag "$(cat "$tmpdir/cat.err")"
