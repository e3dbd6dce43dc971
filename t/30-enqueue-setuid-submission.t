#!/bin/bash
# Local submission by an ordinary user: make install makes sluice-enqueue
# set-user-ID to the spool's owner, and the enqueue then trusts nothing but
# the stream: not the caller's environment, not its XFORWARD, AUTH= or X-
# claims; it records the real uid, enforces message_size_limit, and a
# truncated input still commits nothing.  A private copy of the tree is
# built with its own compiled-in folders, so the real /etc/sluice and
# /var/spool/sluice are never touched.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: makes users and a set-user-ID program"
# Part of every Debian system (passwd, util-linux): missing is a failure, not a
# skip. (cpio, used to copy the tree, has a tar fallback below.)
for c in useradd userdel runuser; do
    command -v $c >/dev/null || bail "needs $c"
done
unset SLUICE_CONF SLUICE_SPOOL SLUICE_LIBEXEC SLUICE_QUEUE
umask 022

# Two users of our own: the spool's owner and an ordinary user.
# Names of their own per run, so two runs at once do not share (and delete) them.
owner=sluq$$ user=slut$$
for u in $owner $user; do
    if ! id -u $u >/dev/null 2>&1; then
        system_user "$u"
    fi
done
uid=$(id -u $user)

# The private tree: compiled-in folders under $tmpdir.
tree=$tmpdir/tree etc=$tmpdir/etc spool=$tmpdir/spool prefix=$tmpdir/prefix
mkdir "$tree"
# The working tree as make sees it: tracked files and new ones not ignored.
if (cd "$top" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
    cpio -0pd --quiet "$tree" 2>/dev/null) &&
    [ -f "$tree/Makefile" ]; then :; else
    rm -rf "$tree"; mkdir "$tree"
    tar -C "$top" --exclude=./var --exclude=./.git --exclude='*.o' --exclude='*.a' -cf - . |
        tar -C "$tree" -xf -
    make -C "$tree" clean >/dev/null 2>&1
fi
# The production build, even under `make check SAN=1`: a sanitizer runtime
# refuses to run set-user-ID, and what is installed set-user-ID is the
# plain (static musl) build.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN -u ASAN_OPTIONS -u UBSAN_OPTIONS \
    make -C "$tree" SAN= SYSCONFDIR="$etc" SPOOLDIR="$spool" PREFIX="$prefix" \
    SLUICE_USER=$owner install >"$tmpdir/install.log" 2>&1
ok $? "make install of a private tree, as root" || { diag "$(tail -20 "$tmpdir/install.log")"; bail "no private install"; }
enq=$prefix/libexec/sluice/sluice-enqueue
sm=$prefix/bin/sendmail
is "$(stat -c '%U %a' "$enq")" "$owner 4755" "sluice-enqueue is set-user-ID to the spool's owner"
is "$(stat -c '%U %a' "$spool")" "$owner 750" "the spool belongs to its owner, mode 0750"
note "$(file -b "$enq" | cut -d, -f1-4)"

# The private tables: a small size limit, so that it can be tested, and a
# syslog socket of our own, as the administrator's log.
printf 'message_size_limit 4k\nsyslog_socket %s\n' "$tmpdir/log.sock" >>"$etc/config"
start_syslog "$tmpdir/log.sock" "$tmpdir/syslog"
"$tree/bin/sluice-mkcdb" -o "$etc/config.cdb" "$etc/config" || bail "config"

# as_user CMD ARGS... — runs as the ordinary user, with what the user sets.
as_user() { runuser -u $user -- "$@"; }
nin() { ls "$spool/incoming" 2>/dev/null | wc -l; }
newest() { ls -t "$spool"/incoming/* | head -1; }

# 1. sendmail, as the ordinary user.
printf 'Subject: hello\n\nbody\n' |
    as_user env -i PATH=/usr/bin:/bin "$sm" bob@example.org 2>"$tmpdir/log"
is "$?" 0 "an ordinary user's sendmail exits 0"
is "$(nin)" 1 "the message is in incoming/"
f=$(newest)
is "$(stat -c '%U %a' "$f")" "$owner 600" "the queue file belongs to the spool's owner, mode 0600"
q=$(basename "$f")
x=$(head -1 "$f")
like "$x" "^XFORWARD .*PROTO=LOCAL" "XFORWARD says PROTO=LOCAL"
like "$x" "IDENT=$q" "IDENT is the queue id"
body=$(sed -n '/^DATA$/,$p' "$f" | sed -n '2,3p')
like "$body" "^Received: by [^ ]+ \\(sluice-enqueue, from userid $uid\\)
	id $q; " "the first header line is sluice-enqueue's Received: with the real uid"
is "$(cat "$tmpdir/log")" "" "nothing is written on the submitter's standard error"
wait_for "grep -q 'qid=$q' '$tmpdir/syslog'" 5
like "$(cat "$tmpdir/syslog")" "^<22>.* sluice-enqueue\\[[0-9]+\\]: qid=$q from=<$user@[^>]+> nrcpt=1 size=[0-9]+ uid=$uid\$" \
    "the log line, in the administrator's syslog, names the submitting uid"

# 2. The caller's environment does not choose the spool or the configuration.
mkdir -m 1777 "$tmpdir/evil" "$tmpdir/evilconf"
printf 'spool %s\nmessage_size_limit 100M\n' "$tmpdir/evil" >"$tmpdir/evilconf/config"
"$tree/bin/sluice-mkcdb" -o "$tmpdir/evilconf/config.cdb" "$tmpdir/evilconf/config"
chmod 644 "$tmpdir/evilconf/config.cdb"
printf 'Subject: elsewhere\n\nbody\n' |
    as_user env -i PATH=/usr/bin:/bin SLUICE_SPOOL="$tmpdir/evil" "$sm" bob@example.org 2>/dev/null
is "$?" 0 "sendmail with SLUICE_SPOOL set exits 0"
is "$(nin)" 2 "SLUICE_SPOOL is ignored: the message is in the compiled-in spool"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nhi\n.\n' |
    as_user env -i SLUICE_CONF="$tmpdir/evilconf" TZ=/etc/passwd "$enq" 2>/dev/null
is "$?" 0 "sluice-enqueue with SLUICE_CONF set exits 0"
is "$(nin)" 3 "SLUICE_CONF's spool setting is ignored too"
is "$(ls -A "$tmpdir/evil")" "" "nothing was written into the caller's spool"

# 3. Claims in the stream are dropped.
claimed=0691f3a2c0a1b2c000123
printf '%s\n' "XFORWARD ADDR=192.0.2.7 NAME=mx.example.org HELO=mx.example.org PROTO=ESMTP SOURCE=REMOTE IDENT=$claimed" \
    'MAIL FROM:<a@example.org> AUTH=<a@example.org> X-NOTICE=bounce X-NOTICE-FOR=0691f3a2c0a1b2c000124,1' \
    'RCPT TO:<b@example.test> X-ROUTE=pipe:/bin/sh X-EXPANDED=1' DATA \
    'Received: by forged (sluice-enqueue, from userid 0)' '' hi . |
    as_user "$enq" 2>/dev/null
is "$?" 0 "a stream with claims is queued"
ok $([ ! -e "$spool/incoming/$claimed" ]; echo $?) "the claimed IDENT is not the queue id"
f=$(newest); q=$(basename "$f")
is "$(sed -n 1,3p "$f")" "XFORWARD PROTO=LOCAL IDENT=$q SOURCE=LOCAL
MAIL FROM:<a@example.org>
RCPT TO:<b@example.test>" "no ADDR, NAME, HELO, AUTH= or X- parameter survives"
like "$(sed -n 5p "$f")" "^Received: by [^ ]+ \\(sluice-enqueue, from userid $uid\\)" \
    "the real uid's Received: comes before the forged one"

# 4. All or nothing, and the size limit.
n=$(nin)
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nhi\n.\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\ncut' |
    as_user "$enq" 2>"$tmpdir/log"
is "$?" 111 "a truncated input is a temporary failure"
is "$(nin)" "$n" "nothing of a truncated input is committed"
is "$(ls -A "$spool/tmp")" "" "tmp/ is cleaned up"
{ printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\n'
  for i in $(seq 100); do echo "line $i of a message larger than four kilobytes, ok"; done
  echo .; } | as_user "$enq" 2>"$tmpdir/log"
is "$?" 100 "a message over message_size_limit is refused"
like "$(cat "$tmpdir/log")" "message_size_limit" "with a reason"
is "$(nin)" "$n" "and not queued"

# 5. Closed descriptors and a hostile umask change nothing.
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nhi\n.\n' >"$tmpdir/m"
as_user sh -c 'umask 777; exec "$1" <"$2" >&- 2>&-' sh "$enq" "$tmpdir/m"
is "$?" 0 "queued with stdout and stderr closed, umask 777"
f=$(newest)
is "$(stat -c '%U %a' "$f")" "$owner 600" "the file is still mode 0600, for the runner"
is "$(grep -c 'sluice-enqueue' "$f")" 1 "no log line went into the queue file"

# 6. Trusted callers are as before: the owner's claims stand, root is root.
printf '%s\n' 'XFORWARD ADDR=192.0.2.7 PROTO=ESMTP' 'MAIL FROM:<a@example.org>' \
    'RCPT TO:<b@example.test>' DATA hi . | runuser -u $owner -- "$enq" 2>/dev/null
is "$?" 0 "the spool's owner queues"
like "$(head -1 "$(newest)")" "ADDR=192.0.2.7" "and its XFORWARD is kept"
mkdir "$tmpdir/rootspool"
SLUICE_SPOOL=$tmpdir/rootspool "$enq" <"$tmpdir/m" 2>/dev/null
is "$?" 0 "root queues into the spool it names"
is "$(stat -c %U "$tmpdir"/rootspool/incoming/*)" root "as root, not as the spool's owner"

# 7. Without the set-user-ID bit (make install as a user), the user is refused.
chmod 0755 "$enq"
printf 'Subject: x\n\nbody\n' | as_user env -i PATH=/usr/bin:/bin "$sm" bob@example.org 2>"$tmpdir/log"
is "$?" 75 "without the bit an ordinary user gets EX_TEMPFAIL"
like "$(cat "$tmpdir/log")" "Permission denied" "with the reason"

done_testing
