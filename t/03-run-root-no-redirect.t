#!/bin/bash
# make run as root (t/tools/run.sh) writes nothing through a path its server
# user controls.  That user owns VAR and all in it, so it can plant symbolic
# links for the next start: conf/config.new, conf/ tables, spool/, spool's
# folders and FIFO, mail/, a Maildir, VAR itself in a sticky folder.  Root's
# files behind them stay untouched, and make run either refuses, saying why,
# or does the right thing.  It also refuses a VAR under a folder the user
# owns or may write.  (make run writes no log or pid file of its own.)
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: make run as root, and a user of its own"
for c in useradd userdel runuser setpriv; do
    command -v $c >/dev/null || bail "needs $c"
done

# A server user of this run's own, so parallel runs do not share it.
user=slur$$
system_user "$user"
as_user() { runuser -u $user -- "$@"; }
as_user test -x "$top/libexec/sluice-smtpd" -a -x "$top/t/tools/run.sh" ||
    skip_all "the user $user cannot reach this checkout ($top)"

# Root's files that the plants point at.
victim=$tmpdir/victim
mkdir -m 0755 "$victim"
echo precious > "$victim/file"
echo precious > "$tmpdir/victim-file"
echo secret-text > "$tmpdir/secret"
chmod 0600 "$tmpdir/secret"
snap() {
    find "$victim" "$tmpdir/victim-file" "$tmpdir/secret" -printf '%p %u:%g %m %s\n' | sort
    cat "$victim/file" "$tmpdir/victim-file" "$tmpdir/secret"
}
snap > "$tmpdir/before"
untouched() {
    snap | diff "$tmpdir/before" - >&2
    ok $? "$1: root's files behind it are untouched"
}

# start VAR — run.sh as root on a fresh port until it serves (0) or exits (1);
# its output is in $log.  stop ends a serving one.
log=$tmpdir/run.log
start() {
    port=$(free_port)
    VAR=$1 PORT=$port SLUICE_USER=$user "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$top/t/tools/run.sh" </dev/null >"$log" 2>&1 &
    run=$!
    _t_pids+=("$run")
    wait_for "port_open $port || ! kill -0 $run" 30
    port_open "$port"
}
stop() {
    kill -INT "$run" 2>/dev/null
    wait_for "! kill -0 $run" 20
    wait "$run" 2>/dev/null
}
# refuses VAR REGEX NAME — make run exits at once with a message.
refuses() {
    if start "$1"; then
        stop
        ok 1 "$3: make run refuses"
    else
        like "$(cat "$log")" "$2" "$3: make run refuses, saying why"
    fi
}

mkdir -m 0755 "$tmpdir/a"
var=$tmpdir/a/var
start "$var"
ok $? "a first start serves" || diag "$(cat "$log")"
stop
is "$(stat -c %U "$var/conf/config" "$var/spool")" "$user
$user" "VAR is the server user's"

# conf/config.new: written through by the old script.
as_user ln -s "$tmpdir/victim-file" "$var/conf/config.new"
start "$var"
ok $? "with a planted conf/config.new, make run serves" || diag "$(cat "$log")"
stop
untouched "conf/config.new"
like "$(grep '^spool' "$var/conf/config")" "^spool	$var/spool$" "conf/config is written all the same"
ok $([ ! -L "$var/conf/config.new" ]; echo $?) "the planted link is removed"

# A table that is a link to a file only root may read.
as_user ln -s "$tmpdir/secret" "$var/conf/stolen"
refuses "$var" "conf/stolen is a symbolic link" "conf/stolen linked to a root-only file"
untouched "conf/stolen"
ok $(! grep -rqs secret-text "$var"; echo $?) "nothing of the root-only file reaches VAR"
as_user rm "$var/conf/stolen"

# spool/ and mail/ as links to a root folder.
for d in spool mail; do
    as_user mv "$var/$d" "$var/$d.real"
    as_user ln -s "$victim" "$var/$d"
    refuses "$var" "$d is a symbolic link" "$d/ linked to a root folder"
    untouched "$d/"
    as_user rm "$var/$d"
    as_user mv "$var/$d.real" "$var/$d"
done

# The spool's folders and its FIFO.
for d in tmp incoming deferred bad dead quarantine trigger; do
    as_user mv "$var/spool/$d" "$var/spool/$d.real"
    as_user ln -s "$victim" "$var/spool/$d"
    refuses "$var" "spool/$d is a symbolic link" "spool/$d linked to a root folder"
    untouched "spool/$d"
    as_user rm "$var/spool/$d"
    as_user mv "$var/spool/$d.real" "$var/spool/$d"
done

# A Maildir linked to a root folder: the delivery is the user's, and fails.
as_user mkdir -p "$var/mail"
as_user ln -s "$victim" "$var/mail/test"
start "$var"
ok $? "with a planted Maildir link, make run serves" || diag "$(cat "$log")"
swaks -s 127.0.0.1 -p "$port" -f a@example.test -t test@example.test \
    --body 'to a planted link' >"$tmpdir/swaks.log" 2>&1
ok $? "a message to it is accepted" || diag "$(cat "$tmpdir/swaks.log")"
wait_for "grep -q 'to=<test@example.test>.*status=deferred' '$log'" 30
ok $? "its delivery is deferred" || diag "$(cat "$log")"
stop
untouched "the Maildir link"
as_user rm "$var/mail/test"

# VAR itself in a sticky folder such as /tmp: the user's link to a root folder.
mkdir -m 1777 "$tmpdir/sticky"
as_user ln -s "$victim" "$tmpdir/sticky/var"
refuses "$tmpdir/sticky/var" "sticky/var is a symbolic link" "VAR linked to a root folder"
untouched "VAR"

# VAR under a folder the user owns, or may write.
mkdir "$tmpdir/mine"
chown $user: "$tmpdir/mine"
refuses "$tmpdir/mine/var" "mine belongs to $user" "VAR under a folder of the user's"
ok $([ ! -e "$tmpdir/mine/var" ]; echo $?) "root made nothing there"
mkdir -m 0777 "$tmpdir/open"
refuses "$tmpdir/open/var" "open is writable by $user" "VAR under a folder the user may write"
ok $([ ! -e "$tmpdir/open/var" ]; echo $?) "root made nothing there"

# A VAR of root's (a run as root alone) is not given away.
mkdir -p "$tmpdir/rootvar/conf"
refuses "$tmpdir/rootvar" "rootvar belongs to root, not to $user" "VAR of root's"
is "$(stat -c %U "$tmpdir/rootvar" "$tmpdir/rootvar/conf")" "root
root" "it stays root's"

# Everything as root (the user cannot reach VAR): nothing in VAR may be the user's.
mkdir -m 0700 "$tmpdir/private"
mkdir -p "$tmpdir/private/var/spool"
chown $user: "$tmpdir/private/var/spool"
refuses "$tmpdir/private/var" "spool belongs to $user or is writable by it or by all" \
    "running as root, a folder of the user's in VAR"

done_testing
