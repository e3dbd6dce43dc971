#!/bin/bash
# Least privilege in a running chain: a root sluice-runq runs every stage as
# the owner of the spool, except sluice-local, which becomes that owner
# itself after forking its privileged part (local-priv); that part is the
# only root process besides the runner, and it delivers into a system
# user's mailbox, or runs a command of the aliases table, from a child that
# has become that user (or default_privs) first.  ps shows it while the
# chain is held at two points: a system user's delivery waiting for its
# mailbox's dot-lock, and a pipe: command that sleeps.  sluice-smtpd and
# sluice-smtp refuse to run as root.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: a root runner and users of its own"
for c in useradd userdel runuser setpriv ps; do
    command -v $c >/dev/null || bail "needs $c"
done
getent group mail >/dev/null || skip_all "no group mail"

owner=slq$$ sysu=slx$$
system_user "$owner"
system_user "$sysu"
as_owner() { runuser -u "$owner" -- "$@"; }
as_owner test -x "$top/libexec/sluice-local" ||
    skip_all "the user $owner cannot reach this checkout ($top)"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
unset SLUICE_ALLOW_ROOT
mkdir -m 0755 "$SLUICE_CONF"
mkdir -p "$SLUICE_SPOOL"/{tmp,incoming,deferred,bad,dead,quarantine,flush,delivered} "$tmpdir/mail"
chown -R "$owner:" "$SLUICE_SPOOL" "$tmpdir/mail"
# A mail spool as Debian has it: root:mail, group-writable, set-group-ID.
vm=$tmpdir/varmail
mkdir "$vm"; chown root:mail "$vm"; chmod 2775 "$vm"
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $tmpdir/mail
mail_spool_directory $vm
postmaster postmaster@example.test
chain sluice-envelope | sluice-alias | sluice-route | sluice-local | sluice-smtp
concurrency 1
EOT
echo example.test > "$SLUICE_CONF/domains"
printf 'sys@example.test system:%s\nbig@example.test big/\nsender@example.test sender/\n' "$sysu" > "$SLUICE_CONF/users"
echo 'sleeper@example.test "|/bin/sleep 3"' > "$SLUICE_CONF/aliases"
for t in config domains users aliases; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
chmod 0644 "$SLUICE_CONF"/*

# The first message holds the chain; the big ones behind it fill the pipes,
# so that every stage is still running (blocked) when ps looks.
{ printf 'From: sender@example.test\nSubject: first\n\nhello\n'; } |
    as_owner sendmail -f sender@example.test sys@example.test sleeper@example.test ||
    bail "enqueue"
head -c 400000 /dev/zero | tr '\0' 'x' | fold -w 70 > "$tmpdir/body"
for i in 1 2 3 4 5; do
    { printf 'Subject: big %s\n\n' "$i"; cat "$tmpdir/body"; } |
        as_owner sendmail -f sender@example.test big@example.test || bail "enqueue big"
done
is "$(ls "$SLUICE_SPOOL/incoming" | wc -l)" 6 "six messages queued"

# A fresh dot-lock holds the system user's delivery until it is removed.
touch "$vm/$sysu.lock"
sluice-runq -1 </dev/null 2>"$tmpdir/runq.log" &
runq=$!
_t_pids+=("$runq")

# The chain's processes: "user comm" of the runner and its descendants.
tree() {
    ps -e -o pid=,ppid=,user:32=,comm= | awk -v root="$runq" '
        { pid[NR] = $1; ppid[NR] = $2; line[NR] = $3 " " $4 }
        END {
            keep[root] = 1
            for (changed = 1; changed; ) {
                changed = 0
                for (i = 1; i <= NR; i++)
                    if (keep[ppid[i]] && !keep[pid[i]]) { keep[pid[i]] = 1; changed = 1 }
            }
            for (i = 1; i <= NR; i++) if (keep[pid[i]]) print line[i]
        }' | sort
}
# has TREE LINE NAME — the tree has the line "user comm".
has() { grep -qxF "$2" <<<"$1"; ok $? "$3"; }
# Root is the runner's (and its feeder's) and the privileged part's only.
root_only() {
    ! grep -E '^root ' <<<"$1" | grep -vqE '^root (sluice-runq|local-priv)$'
}

wait_for "tree | grep -q '^$sysu local-priv\$'" 20
t1=$(tree)
note "while the system user's delivery waits for the dot-lock:"
note "$t1"
has "$t1" "$sysu local-priv" "the system user's delivery runs as that user"
ok $(root_only "$t1"; echo $?) "root runs only the runner and the privileged part"
has "$t1" "root local-priv" "the privileged part of sluice-local is root"
for p in sluice-envelope sluice-alias sluice-route sluice-local sluice-smtp; do
    has "$t1" "$owner $p" "$p runs as the owner of the spool"
done

rm -f "$vm/$sysu.lock"
wait_for "tree | grep -q '^nobody sleep\$'" 20
t2=$(tree)
note "while the pipe: command sleeps:"
note "$t2"
has "$t2" "nobody sleep" "the pipe: command runs as default_privs (nobody)"
ok $(root_only "$t2"; echo $?) "root still runs only the runner and the privileged part"
ok $(! grep -q "^$sysu " <<<"$t2"; echo $?) "the system user's child is gone"

wait_for "! kill -0 $runq" 60
wait "$runq"
is "$?" 0 "the runner exits 0"
is "$(find "$SLUICE_SPOOL/incoming" "$SLUICE_SPOOL/deferred" -type f | wc -l)" 0 "every message was delivered"
is "$(stat -c '%U:%G %a' "$vm/$sysu" 2>/dev/null)" "$sysu:mail 660" "the system mailbox is made USER:mail 0660"
like "$(cat "$vm/$sysu" 2>/dev/null)" $'^From sender@example.test .*\nReturn-Path: <sender@example.test>\nDelivered-To: sys@example.test\n' "and holds the message"
is "$(ls "$tmpdir/mail/big/new" | wc -l)" 5 "the big messages are in the owner's Maildir"
is "$(stat -c %U "$tmpdir/mail/big/new")" "$owner" "made by the owner of the spool"

# The programs that face the network refuse root.
for p in sluice-smtpd sluice-smtp; do
    "$top/libexec/$p" </dev/null >/dev/null 2>"$tmpdir/err"
    rc=$?
    is "$rc" 111 "$p exits 111 as root"
    like "$(cat "$tmpdir/err")" "^$p: fatal: refusing to run as root" "$p says why"
done
echo QUIT | setpriv --reuid=nobody --regid=nogroup --clear-groups "$top/libexec/sluice-smtpd" > "$tmpdir/out" 2>/dev/null
like "$(head -1 "$tmpdir/out")" '^220 ' "sluice-smtpd serves as another user"
done_testing
