#!/bin/bash
# sluice-smtpd is built from libexec/smtpd/, one job per file and no file
# over 800 lines, into one program that is linked statically (it is
# executed once per connection) and without OpenSSL; c-ares, for the DNS
# lookups of the access rules, is linked in statically too (a session that
# needs no lookup never starts it: t/20-smtpd-access-dns.t).  A sanitizer
# build is dynamic: only the libraries are checked then.
. "$(dirname "$0")/lib.sh"

bin=$top/libexec/sluice-smtpd
[ -x "$bin" ] || bail "libexec/sluice-smtpd is not built"

ok "$([ ! -e "$top/libexec/sluice-smtpd.c" ]; echo $?)" \
    "its source is the folder libexec/smtpd/ alone"
long=$(for f in "$top"/libexec/smtpd/*.c "$top"/libexec/sluice-smtpd.c; do
    [ ! -f "$f" ] || wc -l < "$f" | awk -v f="${f#"$top"/}" '$1 > 800 { print f " " $1 }'
done)
is "$long" "" "no source file of it has more than 800 lines"
ok "$([ -f "$top/libexec/smtpd/sluice-smtpd.c" ] &&
    grep -q '^main(' "$top/libexec/smtpd/sluice-smtpd.c"; echo $?)" \
    "main is in libexec/smtpd/sluice-smtpd.c"

if grep -aq __asan_init "$bin"; then
    skip "a sanitizer build is dynamic"
else
    ok "$(readelf -l "$bin" | grep -q INTERP; [ $? = 1 ]; echo $?)" \
        "it is linked statically (no program interpreter)"
fi
needed=$(readelf -d "$bin" 2>/dev/null | grep NEEDED | grep -Eo 'lib(ssl|crypto)[^]]*')
is "$needed" "" "it needs no OpenSSL library"
ok "$(grep -aqE 'SSL_CTX_new' "$bin"; [ $? = 1 ]; echo $?)" \
    "it contains no OpenSSL code"
done_testing
