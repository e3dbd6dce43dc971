#!/bin/bash
# A root sluice-runq on a spool that holds only its folder (as make install
# leaves it) makes the folders, the trigger FIFO and the lock file for the
# spool's owner, not for root: the stages, sluice-enqueue and sluice-queue
# run as that owner and must write there.  What an earlier root start left
# to root is given back; a lock file that is a hard link to another
# root-owned file is not (the owner, who controls the spool, must not be
# able to make root give it another file).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: a root runner and a user of its own"
for c in useradd userdel runuser stat; do
    command -v $c >/dev/null || bail "needs $c"
done

owner=slo$$
system_user "$owner"
runuser -u "$owner" -- test -x "$top/libexec/sluice-local" ||
    skip_all "the user $owner cannot reach this checkout ($top)"
chmod 0755 "$tmpdir"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
unset SLUICE_ALLOW_ROOT
mkdir -m 0755 "$SLUICE_CONF" "$tmpdir/mail"
mkdir -m 0700 "$SLUICE_SPOOL"
chown "$owner:" "$SLUICE_SPOOL" "$tmpdir/mail"
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $tmpdir/mail
postmaster postmaster@example.test
EOT
echo example.test > "$SLUICE_CONF/domains"
printf 'user@example.test user/\npostmaster@example.test user/\n' > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
chmod 0644 "$SLUICE_CONF"/*

sluice-runq -1 </dev/null 2>"$tmpdir/runq.log"
is "$?" 0 "a root run-once on the bare spool ends well"
for f in tmp incoming deferred bad dead quarantine flush delivered hold trigger msglock; do
    is "$(stat -c %U "$SLUICE_SPOOL/$f" 2>&1)" "$owner" "$f belongs to the spool's owner"
done
like "$(cat "$tmpdir/runq.log")" "gave .*/spool/incoming to the spool's owner" \
    "the runner logs what it gave"

# The owner queues and the root runner delivers, as after make install.
printf 'Subject: after install\n\nhello\n' |
    runuser -u "$owner" -- sendmail -f user@example.test user@example.test
is "$?" 0 "the owner queues into the spool the runner made"
sluice-runq -1 </dev/null 2>>"$tmpdir/runq.log"
is "$(grep -l 'Subject: after install' "$tmpdir"/mail/user/new/* 2>/dev/null | wc -l)" 1 \
    "and the root runner delivers it"
runuser -u "$owner" -- sluice-queue list >/dev/null 2>"$tmpdir/queue.err"
is "$?:$(cat "$tmpdir/queue.err")" "0:" \
    "sluice-queue, as the owner, opens the lock file"

# Left to root by an older runner: given back.  A hard link: not.
chown root: "$SLUICE_SPOOL/hold" "$SLUICE_SPOOL/trigger"
rm -f "$SLUICE_SPOOL/msglock"
touch "$tmpdir/rootfile"; chmod 0600 "$tmpdir/rootfile"
ln "$tmpdir/rootfile" "$SLUICE_SPOOL/msglock"
sluice-runq -1 </dev/null 2>>"$tmpdir/runq.log"
is "$(stat -c %U "$SLUICE_SPOOL/hold")" "$owner" "a folder left to root is given back"
is "$(stat -c %U "$SLUICE_SPOOL/trigger")" "$owner" "the FIFO too"
is "$(stat -c %U "$tmpdir/rootfile")" root "a lock file linked to another file stays root's"
done_testing
