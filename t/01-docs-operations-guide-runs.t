#!/bin/bash
# The operations guide's commands run as written: every command block of
# doc/operations.md marked <!-- runnable --> runs, in order, with bash -e,
# in a tree made by make install, the paths /etc/sluice, /var/spool/sluice,
# /var/mail/sluice and /usr/local/ pointing into that tree, over a queue
# holding the messages the guide names.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "the guide's commands are root's"
command -v setuidgid >/dev/null || bail "setuidgid is missing (daemontools, .ci/deps)"
if ! id sluice >/dev/null 2>&1; then
    # The guide's own first command.
    system_user "sluice"
fi

T=$tmpdir/tree
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top" -o all DESTDIR="$T" \
    SLUICE_USER=sluice install > "$tmpdir/make.log" 2>&1 || bail "make install: $(tail -3 "$tmpdir/make.log")"
export SLUICE_CONF=$T/etc/sluice SLUICE_SPOOL=$T/var/spool/sluice \
    SLUICE_LIBEXEC=$T/usr/local/libexec/sluice PATH=$T/usr/local/bin:$PATH
# Local delivery alone: this machine has no network, so the notices the
# guide's commands make stay in the queue for the checks below.
printf 'hostname mx.example.test\nmailroot %s\nlog stderr\nchain sluice-envelope | sluice-local\n' "$T/var/mail/sluice" >> "$SLUICE_CONF/config"
sluice-mkcdb "$SLUICE_CONF/config" || bail "config"
setuidgid sluice "$SLUICE_LIBEXEC/sluice-runq" -1 2>/dev/null || bail "the spool's folders"

# The messages the guide's examples name.
sp=$SLUICE_SPOOL
put() {	# put FOLDER QID FROM RCPT [RCPT-PARAMS]
    printf 'XFORWARD IDENT=%s\nMAIL FROM:<%s>\nRCPT TO:<%s>%s\nDATA\nSubject: from the guide\n\nhello\n.\n' \
        "$2" "$3" "$4" "$5" > "$sp/$1/$2"
    chown sluice: "$sp/$1/$2"; chmod 600 "$sp/$1/$2"
    touch -d '+1 hour' "$sp/$1/$2"
}
put deferred 06b020ea36028d000182b a@example.org bob@example.net \
    ' X-ROUTE=smtp:[127.0.0.1]:2527 X-DEFER=4.4.1+20connection+20refused'
put deferred 06b020eb0f5a1c0001f3e a@example.org carol@example.net
put deferred 06b020eb2a37e90001fa1 a@example.org dave@example.net
put bad 06b020ea36028d000182c a@example.org bob@ex_ample.net
put dead 06b020eaa6e3f300020bf "" postmaster@localhost ' X-DEFER=5.1.1+20no+20such+20user'

# The marked blocks, in order.
/usr/bin/python3 - "$top/doc/operations.md" "$tmpdir/blocks" <<'PY'
import os, sys
lines = open(sys.argv[1]).read().split('\n')
os.makedirs(sys.argv[2])
n, i = 0, 0
while i < len(lines):
    if lines[i].strip() == '<!-- runnable -->':
        assert lines[i + 1].startswith('```'), 'a runnable mark not before a block, line %d' % (i + 1)
        j = lines.index('```', i + 2)
        n += 1
        open('%s/%02d' % (sys.argv[2], n), 'w').write('\n'.join(lines[i + 2:j]) + '\n')
        i = j
    i += 1
PY
blocks=$(ls "$tmpdir/blocks")
ok $([ "$(echo "$blocks" | wc -l)" -ge 10 ]; echo $?) "the guide marks its command blocks runnable"
for b in $blocks; do
    sed -i "s|/etc/sluice|$T/etc/sluice|g; s|/var/spool/sluice|$T/var/spool/sluice|g;
        s|/var/mail/sluice|$T/var/mail/sluice|g; s|/usr/local/|$T/usr/local/|g" "$tmpdir/blocks/$b"
    (cd "$T" && bash -e "$tmpdir/blocks/$b") > "$tmpdir/out" 2>&1
    ok $? "block $b runs: $(head -1 "$tmpdir/blocks/$b" | sed "s|$T||g")" ||
        diag "$(sed "s|$T||g" "$tmpdir/blocks/$b")
--- its output:
$(tail -5 "$tmpdir/out")"
done

# What the blocks did.
ok $([ ! -e "$sp/deferred/06b020eb2a37e90001fa1" ]; echo $?) "the deleted message is gone"
ok $([ ! -e "$sp/bad/06b020ea36028d000182c" ] && [ ! -e "$sp/dead/06b020eaa6e3f300020bf" ]; echo $?) \
    "bad/ and dead/ are emptied by their repairs"
like "$(cat "$tmpdir/queue.log" 2>/dev/null; grep -rh 'X-NOTICE=bounce' "$sp"/incoming "$sp"/deferred 2>/dev/null)" \
    'X-NOTICE=bounce' "the bounced message's notice is queued"

done_testing
