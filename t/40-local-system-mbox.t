#!/bin/bash
# system:NAME in the users table delivers into NAME's mbox in the mail spool
# (setting mail_spool_directory, /var/mail by default), as Debian's mail
# readers expect it: made NAME:mail 0660 by a child that has become NAME
# (with the group mail), written under both a dot-lock (NAME.lock) and an
# fcntl lock, which it waits for; a mailbox that is a link, has two names,
# or is not NAME's own file is refused, never written through.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: a system user of its own"
getent group mail >/dev/null || skip_all "no group mail"
command -v useradd >/dev/null || bail "needs useradd"

u=slm$$
system_user "$u"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
vm=$tmpdir/varmail
mkdir "$vm"; chown root:mail "$vm"; chmod 2775 "$vm"
printf 'hostname mx.example.test\nmailroot %s\nmail_spool_directory %s\n' "$tmpdir/mail" "$vm" > "$SLUICE_CONF/config"
echo example.test > "$SLUICE_CONF/domains"
echo "sys@example.test system:$u" > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done

box=$vm/$u
msg() { printf 'MAIL FROM:<s@example.org>\nRCPT TO:<sys@example.test>\nDATA\nSubject: %s\n\nFrom here\n.\n' "$1"; }
deliver() { msg "$1" | sluice-local > "$tmpdir/out" 2> "$tmpdir/err"; }
count() { grep -c '^From s@example.org ' "$box" 2>/dev/null; }

deliver one
is "$?" 0 "sluice-local exits 0"
is "$(stat -c '%U:%G %a' "$box" 2>/dev/null)" "$u:mail 660" "the mailbox is made NAME:mail 0660"
like "$(cat "$box")" $'^From s@example.org [A-Z][a-z][a-z] .*\nReturn-Path: <s@example.org>\nDelivered-To: sys@example.test\nSubject: one\n\n>From here$' "in mbox form, quoted"
is "$(runuser -u "$u" -- cat "$box" | grep -c '^Subject: one')" 1 "its user can read it"
deliver two
is "$(count)" 2 "a second message is appended"
ok $([ ! -e "$box.lock" ]; echo $?) "the dot-lock is gone after each delivery"

# A dot-lock held by a reader: the delivery waits until it goes.
touch "$box.lock"
deliver three &
d=$!
sleep 1.5
is "$(count)" 2 "nothing is written while NAME.lock exists"
rm -f "$box.lock"
wait "$d"
is "$(count)" 3 "the delivery goes on once it is removed"

# An fcntl lock held by a reader (mutt, Dovecot): the same.
"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(2)' "$box" "$tmpdir/locked" &
l=$!
wait_for "[ -e '$tmpdir/locked' ]" 10
deliver four &
d=$!
sleep 1
is "$(count)" 3 "nothing is written while another process holds an fcntl lock"
wait "$l" "$d"
is "$(count)" 4 "the delivery goes on once it is released"

# Names in the shared folder that are not NAME's own file.
mv "$box" "$tmpdir/saved"
echo precious > "$tmpdir/victim"
ln -s "$tmpdir/victim" "$box"
deliver link
like "$(cat "$tmpdir/out")" 'Status: 5\.2\.0' "a mailbox that is a symbolic link bounces"
rm "$box"
ln "$tmpdir/victim" "$box"
chown "$u" "$tmpdir/victim"
deliver hardlink
like "$(grep '^RCPT' "$tmpdir/out")" 'X-DEFER=4\.2\.0.*not\+20the\+20user' "one with two names is refused (deferred)"
rm "$box"
install -o root -g mail -m 0660 /dev/null "$box"
deliver notmine
like "$(grep '^RCPT' "$tmpdir/out")" 'X-DEFER=4\.2\.0' "one that is another user's file is refused (deferred)"
is "$(cat "$tmpdir/victim")" precious "the files behind them are untouched"
is "$(stat -c %s "$box")" 0 "and so is the other user's mailbox"
done_testing
