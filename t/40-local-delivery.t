#!/bin/bash
# sluice-local: Maildir and mbox delivery, bounces, loops, deferrals, system users.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
mr=$tmpdir/mail
touch "$tmpdir/afile"
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $mr
postmaster postmaster@example.test
EOT
printf 'example.test\n.sub.example.test\n' > "$SLUICE_CONF/domains"
cat > "$SLUICE_CONF/users" <<EOT
alice@example.test  alice/
bob@example.test    bob.mbox
carol@example.test  $tmpdir/afile/mbox
@.sub.example.test  catchall/
EOT
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done

txn() {	# txn FROM RCPT... — a message with a fixed body
    local from=$1; shift
    echo "XFORWARD IDENT=06b000000000000000001"
    echo "MAIL FROM:<$from>"
    for r; do echo "RCPT TO:<$r>"; done
    printf 'DATA\nSubject: test\n\nFrom the start\n>From quoted\n>>From twice\n..leading dot\n.\n'
}
run() { sluice-local > "$tmpdir/out" 2> "$tmpdir/err"; }

# Maildir
txn s@example.org alice@example.test | run
is "$?" 0 "delivery exits 0"
is "$(cat "$tmpdir/out")" "" "a delivered message leaves nothing in the stream"
files=("$mr"/alice/new/*)
is "${#files[@]}" 1 "one file in alice/new"
like "$(basename "${files[0]}")" '^[0-9]+\.M[0-9]+P[0-9]+Q1\.mx\.example\.test$' "Maildir name time.M<usec>P<pid>Q<n>.host"
printf 'Return-Path: <s@example.org>\nDelivered-To: alice@example.test\nSubject: test\n\nFrom the start\n>From quoted\n>>From twice\n.leading dot\n' > "$tmpdir/exp"
ok $(cmp -s "${files[0]}" "$tmpdir/exp"; echo $?) "Maildir copy: Return-Path, Delivered-To, the body unstuffed and unquoted"
ok $([ -d "$mr/alice/cur" ] && [ -z "$(ls -A "$mr/alice/tmp")" ]; echo $?) "cur/ made, tmp/ empty"
like "$(cat "$tmpdir/err")" 'qid=06b000000000000000001 to=<alice@example.test> status=sent' "one log line per recipient"

# mbox, mboxrd quoting
txn s@example.org bob@example.test | run
txn '' bob@example.test | run
{
    echo "From s@example.org DATE"
    printf 'Return-Path: <s@example.org>\nDelivered-To: bob@example.test\nSubject: test\n\n>From the start\n>>From quoted\n>>>From twice\n.leading dot\n\n'
    echo "From MAILER-DAEMON DATE"
    printf 'Return-Path: <>\nDelivered-To: bob@example.test\nSubject: test\n\n>From the start\n>>From quoted\n>>>From twice\n.leading dot\n\n'
} > "$tmpdir/exp"
sed -E 's/^(From [^ ]+) [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$/\1 DATE/' "$mr/bob.mbox" > "$tmpdir/got"
ok $(cmp -s "$tmpdir/got" "$tmpdir/exp"; echo $?) "mbox: From_ line with asctime date, >From quoting (mboxrd), blank line after each"
[ $? = 0 ] || diag "$(diff "$tmpdir/exp" "$tmpdir/got")"
ok $([ ! -e "$mr/bob.mbox.lock" ]; echo $?) "the dot-lock is removed"
# A stale dot-lock (older than 5 minutes) is broken. (A fresh one makes the
# recipient wait up to 30 s, then defer: too slow to test here.)
touch -d '-1 hour' "$mr/bob.mbox.lock"
txn s@example.org bob@example.test | run
is "$(grep -c '^From s@example.org' "$mr/bob.mbox")" 2 "a stale dot-lock is removed and delivery goes on"

# Unknown user: a bounce in the output, nothing delivered.
txn s@example.org alice@example.test nobody@example.test | run
is "$?" 0 "a bounce is not a failure of the stage"
head -3 "$tmpdir/out" > "$tmpdir/h"
is "$(cat "$tmpdir/h")" "MAIL FROM:<> X-NOTICE=bounce X-NOTICE-FOR=06b000000000000000001,1
RCPT TO:<s@example.org>
DATA" "the output holds a bounce to the sender"
like "$(cat "$tmpdir/out")" $'Final-Recipient: rfc822; nobody@example.test\nAction: failed\nStatus: 5.1.1' "the bounce says 5.1.1 for the unknown user"
is "$(ls "$mr"/alice/new | wc -l)" 2 "the known recipient still gets the message"
is "$(grep -c '^MAIL FROM' "$tmpdir/out")" 1 "only the notice is in the output"

# Subdomain catch-all and postmaster.
txn s@example.org x@a.sub.example.test postmaster@example.test Postmaster@Sub.Example.Test | run
is "$(ls "$mr"/catchall/new | wc -l)" 1 "@.parent catch-all delivers for a subdomain"
is "$(ls "$mr"/postmaster/new 2>/dev/null | wc -l)" 1 "postmaster@ a local domain is always deliverable (mailroot/postmaster/)"

# Non-local recipients pass through untouched; X-ROUTE decides when present.
txn s@example.org far@remote.test > "$tmpdir/in"
run < "$tmpdir/in"
ok $(cmp -s "$tmpdir/in" "$tmpdir/out"; echo $?) "a non-local message passes through byte for byte"
txn s@example.org far@remote.test | sed 's/^RCPT TO:<far@remote.test>$/& X-ROUTE=local/' | run
like "$(cat "$tmpdir/out")" 'Status: 5.1.1' "X-ROUTE=local makes any domain ours"
txn s@example.org alice@example.test | sed 's/^RCPT TO:<alice@example.test>$/& X-ROUTE=smtp/' > "$tmpdir/in"
run < "$tmpdir/in"
ok $(cmp -s "$tmpdir/in" "$tmpdir/out"; echo $?) "X-ROUTE=smtp keeps a local domain away from local delivery"

# Loop: a Delivered-To for this recipient already in the header.
{ echo "MAIL FROM:<s@example.org>"; echo "RCPT TO:<alice@example.test>";
  printf 'DATA\nDelivered-To: Alice@example.test\nSubject: loop\n\nbody\n.\n'; } | run
n=$(ls "$mr"/alice/new | wc -l)
like "$(cat "$tmpdir/out")" 'Status: 5\.4\.6' "a Delivered-To loop bounces with 5.4.6"
is "$n" 2 "nothing is delivered on a loop"
{ echo "MAIL FROM:<s@example.org>"; echo "RCPT TO:<alice@example.test>";
  printf 'DATA\nSubject: no loop\n\nDelivered-To: alice@example.test\n.\n'; } | run
is "$(ls "$mr"/alice/new | wc -l)" 3 "a Delivered-To line in the body is not a loop"

# A temporary failure (ENOTDIR: the mbox's folder is a file): kept with X-DEFER.
txn s@example.org carol@example.test alice@example.test | run
is "$?" 0 "a temporary failure is not a failure of the stage"
like "$(grep '^RCPT' "$tmpdir/out")" '^RCPT TO:<carol@example.test> X-DEFER=4\.[0-9]\.[0-9]\+20.*Not\+20a\+20directory$' "the recipient stays with X-DEFER=4.x.x reason (xtext)"
is "$(grep -c '^RCPT' "$tmpdir/out")" 1 "the delivered recipient is removed from the transaction"
like "$(sed -n 1p "$tmpdir/out")" '^XFORWARD IDENT=06b000000000000000001$' "the remainder keeps its IDENT"

# NOTIFY=SUCCESS: a success notice.
txn s@example.org alice@example.test | sed 's/^RCPT TO:<alice@example.test>$/& NOTIFY=SUCCESS/' | run
like "$(cat "$tmpdir/out")" $'MAIL FROM:<> X-NOTICE=success X-NOTICE-FOR=06b000000000000000001,1\nRCPT TO:<s@example.org>' "NOTIFY=SUCCESS adds a success notice"
like "$(cat "$tmpdir/out")" 'Action: delivered' "with Action: delivered"

# Bad input.
printf 'MAIL FROM:<a@b>\nRCPT TO:<alice@example.test>\nDATA\nx\n' | run
is "$?" 111 "a truncated stream is a temporary failure"
printf 'HELLO\n' | run
is "$?" 100 "an unparseable stream is a permanent failure"
: | run
is "$?" 0 "an empty stream is fine"

# A system user with home_mailbox Maildir/: a forked child drops to the
# user, delivers to ~/Maildir/ (the mail spool: t/40-local-system-mbox.t).
if [ "$(id -u)" = 0 ]; then
    echo "home_mailbox Maildir/" >> "$SLUICE_CONF/config"
    sluice-mkcdb "$SLUICE_CONF/config"
    u=sluicet$$
    useradd -M -d "$tmpdir/home-$u" -s /usr/sbin/nologin "$u" || bail "useradd"
    at_exit "userdel $u"
    mkdir "$tmpdir/home-$u"; chown "$u:" "$tmpdir/home-$u"; chmod 700 "$tmpdir/home-$u"
    echo "sys@example.test system:$u" >> "$SLUICE_CONF/users"
    sluice-mkcdb "$SLUICE_CONF/users"
    txn s@example.org sys@example.test | run
    f=$(ls "$tmpdir/home-$u"/Maildir/new/* 2>/dev/null | head -1)
    ok $([ -n "$f" ]; echo $?) "system:NAME with home_mailbox Maildir/ delivers to ~NAME/Maildir/new"
    is "$(stat -c %U "$f" 2>/dev/null)" "$u" "the file belongs to the user"
    is "$(stat -c %U "$tmpdir/home-$u/Maildir/new" 2>/dev/null)" "$u" "so does the Maildir it made"
    # Not root: system: recipients wait, with the reason.
    chmod 755 "$tmpdir"
    chmod -R a+rwX "$mr" "$SLUICE_SPOOL"
    txn s@example.org sys@example.test | setpriv --reuid=nobody --regid=nogroup --clear-groups "$top/libexec/sluice-local" > "$tmpdir/out" 2>/dev/null
    like "$(grep '^RCPT' "$tmpdir/out")" 'X-DEFER=4\.3\.0\+20.*needs\+20root' "not root: a system user is deferred with an explanation"
else
    skip "not root: cannot create a system user" 4
fi
done_testing
