#!/bin/bash
# sluice-queue, the administrator's queue verbs (postsuper, postcat and
# postqueue's jobs): a held message is listed by mailq with a mark and never
# run until released; delete removes a message and its record; requeue drops
# a message's old routing so that it goes through the current tables; bounce
# returns it with the administrator's reason as an RFC 3464 notice; show
# prints the envelope, header and body; flush and sendmail -q work with and
# without a running runner.  A message in a running chain is refused with
# "try again", never lost or doubled.  Each change is logged with the queue
# id and the uid.  Only root and the spool's owner may change the queue.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
sp=$SLUICE_SPOOL mr=$tmpdir/mail

mk() { local t=$1; shift; printf '%s\n' "$@" > "$SLUICE_CONF/$t"; sluice-mkcdb "$SLUICE_CONF/$t"; }
config() {
    mk config "hostname mx.example.test" "mailroot $mr" "postmaster postmaster@example.test" \
        "log stderr" "retry_min 60s" "delay_warning 0" \
        "chain ${1:-sluice-envelope | sluice-alias | sluice-route | sluice-local}"
}
qid_at() { printf '%09x%05x%07x' "$1" "$((RANDOM % 100000))" "$$"; }
msg() {	# msg IDENT RCPT [RCPT-PARAMS]
    printf 'XFORWARD IDENT=%s\nMAIL FROM:<sender@example.test>\nRCPT TO:<%s>%s\nDATA\nSubject: queue tool\n\nthe body\n.\n' \
        "$1" "$2" "$3"
}
count() { ls "$1" 2>/dev/null | wc -l; }
deferred() {	# deferred QID RCPT [PARAMS]: a message waiting, due in an hour
    mkdir -p "$sp/deferred"
    msg "$1" "$2" "$3" > "$sp/deferred/$1"
    touch -d '+1 hour' "$sp/deferred/$1"
}
q() { sluice-queue "$@" 2>>"$tmpdir/queue.log"; }

mk domains example.test
mk users "bob@example.test bob/" "sender@example.test sender/" "postmaster@example.test pm/"
mk routes "nothing.test local"
config
sluice-runq -1 2>/dev/null   # makes the spool's folders
now=$(date +%s)

# hold: out of the runner's reach, listed by mailq with a mark.
a=$(qid_at $((now - 100))); deferred "$a" bob@example.test
q hold "$a"; is "$?" 0 "hold exits 0"
ok $([ -e "$sp/hold/$a" ] && [ ! -e "$sp/deferred/$a" ]; echo $?) "a held message is in hold/"
like "$(mailq)" "$a! .*held: sluice-queue release $a" "mailq lists it with the mark !"
sluice-runq -1 -f 2>/dev/null
ok $([ -e "$sp/hold/$a" ] && [ "$(count "$mr/bob/new")" = 0 ]; echo $?) \
    "the runner never picks a held message, even with -f"
like "$(tail -1 "$tmpdir/queue.log")" "sluice-queue: qid=$a action=hold from=deferred uid=$(id -u)" \
    "hold is logged with the queue id and the uid"
q release "$a"; is "$?" 0 "release exits 0"
ok $([ -e "$sp/incoming/$a" ] && [ ! -e "$sp/hold/$a" ]; echo $?) "a released message goes to incoming/"
sluice-runq -1 2>/dev/null
is "$(count "$mr/bob/new")" 1 "and is delivered by the next run"
q release "$a"; is "$?" 100 "releasing a message that is not held fails (100)"
like "$(tail -1 "$tmpdir/queue.log")" "qid=$a: no such message" "and says so"

# delete: the message and its record of delivered recipients.
b=$(qid_at $((now - 100))); deferred "$b" bob@example.test
printf 'x@example.test\tlocal\t\n' > "$sp/delivered/$b"
q delete "$b"; is "$?" 0 "delete exits 0"
ok $([ ! -e "$sp/deferred/$b" ] && [ ! -e "$sp/delivered/$b" ]; echo $?) "the file and its record are gone"
like "$(tail -1 "$tmpdir/queue.log")" "qid=$b action=delete from=deferred uid=$(id -u)" "delete is logged"
q delete 123; is "$?" 100 "a malformed queue id is refused (100)"

# requeue: the old route (a host that is gone) and the last error go; the
# routes table now in force sends it to the local mailbox.
c=$(qid_at $((now - 100)))
deferred "$c" bob@example.test ' X-ROUTE=smtp:[127.0.0.1]:9 X-DEFER=4.4.1+20connect+20refused'
sluice-runq -1 -f 2>/dev/null
ok $([ -e "$sp/deferred/$c" ] && [ "$(count "$mr/bob/new")" = 1 ]; echo $?) \
    "before the requeue the message keeps its old route and waits"
q requeue "$c"; is "$?" 0 "requeue exits 0"
unlike "$(cat "$sp/incoming/$c")" 'X-ROUTE|X-DEFER' "the requeued file has no X-ROUTE nor X-DEFER"
ok $([ ! -e "$sp/deferred/$c" ]; echo $?) "it went from deferred/ to incoming/"
like "$(tail -1 "$tmpdir/queue.log")" "qid=$c action=requeue from=deferred to=incoming nrcpt=1 dropped=2 uid=" \
    "requeue is logged"
sluice-runq -1 2>/dev/null
is "$(count "$mr/bob/new")" 2 "requeued, it goes through the current tables and is delivered"

# bounce: an RFC 3464 notice with the reason, queued; the message goes.
d=$(qid_at $((now - 100))); deferred "$d" bob@example.test
q bounce -r '5.7.1 spam, removed by the postmaster' "$d"; is "$?" 0 "bounce exits 0"
ok $([ ! -e "$sp/deferred/$d" ]; echo $?) "the bounced message left the queue"
n=$(grep -l 'X-NOTICE=bounce' "$sp"/incoming/* 2>/dev/null)
ok $([ -n "$n" ]; echo $?) "a notice is queued"
like "$(cat $n)" 'RCPT TO:<sender@example.test>' "to the sender"
like "$(cat $n)" 'report-type=delivery-status' "as a multipart/report"
like "$(cat $n)" 'Status: 5\.7\.1' "with the status given"
like "$(cat $n)" 'spam, removed by the postmaster' "and the reason"
like "$(cat $n)" 'Final-Recipient: rfc822; ?bob@example.test' "naming the recipient"
like "$(tail -1 "$tmpdir/queue.log")" "qid=$d action=bounce status=bounced nrcpt=1 uid=$(id -u)" "bounce is logged"
sluice-runq -1 2>/dev/null
is "$(count "$mr/sender/new")" 1 "the runner delivers the bounce to the sender"

# show: postcat's -e, -h, -b.
e=$(qid_at $((now - 100))); deferred "$e" bob@example.test ' X-DEFER=4.2.0+20mailbox+20busy'
like "$(q show -e "$e")" "^next retry: .*
XFORWARD IDENT=$e
MAIL FROM:<sender@example.test>
RCPT TO:<bob@example.test> X-DEFER=4.2.0\+20mailbox\+20busy
DATA
last error for <bob@example.test>: 4.2.0 mailbox busy$" "show -e prints the envelope and the last error"
is "$(q show -h "$e")" "Subject: queue tool" "show -h prints the header block"
is "$(q show -b "$e")" "the body" "show -b prints the body"
like "$(q show "$e")" "\*\*\* ENVELOPE deferred/$e \*\*\*.*\*\*\* HEADER \*\*\*.*\*\*\* BODY \*\*\*.*\*\*\* END \*\*\*" \
    "show alone prints all three, with banners"

# Only root and the spool's owner change the queue.
if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$top/bin/sluice-queue" hold "$e" 2>"$tmpdir/err"
    is "$?" 100 "another user may not change the queue"
    like "$(cat "$tmpdir/err")" "only root and the owner of" "and is told why"
else
    skip "not root" 2
fi

# A message in a running chain: refused with "try again", then delivered once.
cat > "$tmpdir/slow" <<EOS
#!/bin/sh
touch "$tmpdir/chain-running"
sleep 3
exec cat
EOS
chmod +x "$tmpdir/slow"
config "$tmpdir/slow | sluice-envelope | sluice-alias | sluice-route | sluice-local"
rm -f "$sp/deferred/$e"
spawn rq sluice-runq
wait_for "grep -q start $tmpdir/sluice-runq.log" 10
f=$(qid_at $((now - 50)))
msg "$f" bob@example.test | sluice-enqueue 2>/dev/null
wait_for "[ -e $tmpdir/chain-running ]" 10
for verb in hold delete requeue bounce; do
    q $verb "$f"; rc=$?
    is "$rc" 111 "$verb of a message in a running chain fails (111)"
done
like "$(tail -1 "$tmpdir/queue.log")" "qid=$f is in a running chain, try again" "and says to try again"
wait_for "[ \$(ls $mr/bob/new | wc -l) = 3 ]" 15
ok $? "the message is delivered"
sleep 1
is "$(count "$mr/bob/new")" 3 "once"
ok $([ ! -e "$sp/incoming/$f" ] && [ ! -e "$sp/hold/$f" ] && [ ! -e "$sp/deferred/$f" ]; echo $?) \
    "and left the queue"

# flush and sendmail -q beside the daemon: a request, carried out at once.
config
stop_pid "$rq"
spawn rq sluice-runq
wait_for "[ \$(grep -c start $tmpdir/sluice-runq.log) = 2 ]" 10
g=$(qid_at $((now - 100))); deferred "$g" bob@example.test
q flush; is "$?" 0 "sluice-queue flush beside a running runner exits 0"
wait_for "[ \$(ls $mr/bob/new | wc -l) = 4 ]" 10
ok $? "the runner flushes the deferred message at once"
h=$(qid_at $((now - 100))); deferred "$h" bob@example.test
sendmail -q 2>"$tmpdir/err"; is "$?" 0 "sendmail -q beside a running runner exits 0"
wait_for "[ \$(ls $mr/bob/new | wc -l) = 5 ]" 10
ok $? "and the runner runs the queue"
stop_pid "$rq"
i=$(qid_at $((now - 100))); deferred "$i" bob@example.test
sendmail -q 2>/dev/null; is "$?" 0 "sendmail -q without a runner exits 0"
is "$(count "$mr/bob/new")" 6 "and runs the queue itself"
j=$(qid_at $((now - 100))); deferred "$j" bob@example.test
q flush; is "$?" 0 "sluice-queue flush without a runner exits 0"
is "$(count "$mr/bob/new")" 7 "and runs the queue itself"
like "$(cat "$tmpdir/queue.log")" "action=flush dest=all uid=$(id -u)" "flush is logged"

# list is mailq; ALL.
k1=$(qid_at $((now - 100))); deferred "$k1" bob@example.test
k2=$(qid_at $((now - 90))); deferred "$k2" bob@example.test
like "$(q list)" "$k1 .*$k2 " "list is mailq"
q hold ALL; is "$(count "$sp/hold")" 2 "hold ALL holds every queued message"
q delete ALL; is "$(count "$sp/hold")$(count "$sp/deferred")" 00 "delete ALL removes them"

sluice-queue --help > "$tmpdir/out"; is "$?" 0 "--help exits 0"
like "$(cat "$tmpdir/out")" '^usage: sluice-queue' "and prints the usage"
sluice-queue frob 2>"$tmpdir/err"; is "$?" 100 "an unknown verb exits 100"
like "$(cat "$tmpdir/err")" 'unknown verb.*usage: sluice-queue' "with the usage"

done_testing
