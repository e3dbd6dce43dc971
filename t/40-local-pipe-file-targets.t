#!/bin/bash
# sluice-local: pipe and file targets of the aliases table (X-ROUTE=pipe:,
# file:), end to end through sluice-envelope | sluice-alias | sluice-route |
# sluice-local run by sluice-runq -1, and the stage alone for what the chain
# cannot show (remote domains, the Delivered-To loop, bad routes).
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
conf=$SLUICE_CONF sp=$SLUICE_SPOOL mr=$tmpdir/mail
drop=$tmpdir/drop files=$tmpdir/files
mkdir -p "$conf" "$drop" "$files"
# The commands and files run as nobody when we are root: let them write here.
chmod 1777 "$drop" "$files"
if [ "$(id -u)" = 0 ]; then
    runas=nobody; runas_uid=$(id -u nobody)
else
    runas=$(id -un); runas_uid=$(id -u)
fi

# The command: records its stdin, environment, argv, uid and folder under
# the name in its second word, then does what its first word says.
cat > "$tmpdir/rec" <<EOT
#!/bin/sh
d=$drop
mode=\$1 name=\$2
cat > "\$d/\$name.stdin"
tr '\\0' '\\n' < /proc/\$\$/environ | sort > "\$d/\$name.env"
printf '%s\\n' "\$@" > "\$d/\$name.argv"
id -u > "\$d/\$name.uid"
pwd -P > "\$d/\$name.cwd"
case \$mode in
ok) exit 0 ;;
tempfail) echo "mailbox busy, try later" >&2; exit 75 ;;
fail) echo "no such list: foo"; echo "second line"; exit 1 ;;
exit) echo "exiting \$3"; exit "\$3" ;;
sleep) sleep 60 & echo \$! > "\$d/\$name.bgpid"; sleep 60 ;;
esac
EOT
chmod 0755 "$tmpdir/rec"
: > "$files/target"
chmod 0666 "$files/target"
ln -s "$files/target" "$files/link.mbox"

config() {	# config [LINES...]: the settings of this test plus these
    {
        printf 'hostname mx.example.test\nmailroot %s\npostmaster postmaster@example.test\n' "$mr"
        echo "chain sluice-envelope | sluice-alias | sluice-route | sluice-local"
        echo "delay_warning 0"
        printf '%s\n' "$@"
    } > "$conf/config"
    sluice-mkcdb "$conf/config" || bail "sluice-mkcdb config"
}
config
echo example.test > "$conf/domains"
printf 'sender@example.test sender/\n' > "$conf/users"
cat > "$conf/aliases" <<EOT
pipe@example.test	"|$tmpdir/rec ok pipe a;b \$(id) * >x 'q'"
tempfail@example.test	"|$tmpdir/rec tempfail tempfail"
fail@example.test	"|$tmpdir/rec fail fail"
slow@example.test	"|$tmpdir/rec sleep slow"
box@example.test	$files/box.mbox
md@example.test		$files/md/
link@example.test	$files/link.mbox
EOT
for t in domains users aliases; do sluice-mkcdb "$conf/$t" || bail "sluice-mkcdb $t"; done

msg() {	# msg RCPT [RCPT-PARAMS] [HEADER]: a message from sender@example.test
    echo "MAIL FROM:<sender@example.test>"
    echo "RCPT TO:<$1>${2:-}"
    echo "DATA"
    [ -n "${3:-}" ] && echo "$3"
    printf 'Subject: pipe test\n\nFrom the start\n..leading dot\nlast line\n.\n'
}
runq() { sluice-runq -1 "$@" </dev/null 2>>"$tmpdir/runq.log"; }
count() { find "$1" -type f 2>/dev/null | wc -l; }
queued() { count "$sp/incoming"; }
deferred() { count "$sp/deferred"; }
# The bounce in sender/new that names RCPT, on one line.
bounce_for() {
    local f
    for f in "$mr"/sender/new/*; do
        grep -q "^Final-Recipient: rfc822; *$1" "$f" 2>/dev/null &&
            tr '\n' ' ' < "$f" | tr -s ' '
    done
}

# ---- a pipe alias, end to end ----
msg pipe@example.test ' ORCPT=rfc822;Orig+2Bpipe@example.test' | sluice-enqueue 2>>"$tmpdir/enqueue.log" ||
    bail "sluice-enqueue failed: $(cat "$tmpdir/enqueue.log")"
runq
is "$?" 0 "sluice-runq -1 exits 0"
is "$(queued)$(deferred)" "00" "the message is delivered: nothing left in the queue"
like "$(cat "$tmpdir/runq.log")" "sluice-local: qid=[0-9a-f]+ to=<pipe@example.test> status=sent dsn=2.0.0 delivered to command $tmpdir/rec" "sluice-local logs the delivery to the command"
is "$(head -2 "$drop/pipe.stdin" 2>/dev/null)" "Return-Path: <sender@example.test>
Delivered-To: pipe@example.test" "stdin starts with Return-Path and Delivered-To"
is "$(sed -n '/^$/,$p' "$drop/pipe.stdin" 2>/dev/null)" "
From the start
.leading dot
last line" "the body follows, dot-stuffing undone, no From_ quoting"
ok $(! grep -q $'\r' "$drop/pipe.stdin" 2>/dev/null && [ -s "$drop/pipe.stdin" ]; echo $?) "LF line ends"
is "$(cat "$drop/pipe.env" 2>/dev/null)" "HOME=/
LOGNAME=$runas
ORIGINAL_RECIPIENT=Orig+pipe@example.test
PATH=/usr/bin:/bin
RECIPIENT=pipe@example.test
SENDER=sender@example.test
USER=$runas" "the environment is exactly the fixed set, ORIGINAL_RECIPIENT from ORCPT"
is "$(cat "$drop/pipe.argv" 2>/dev/null)" 'ok
pipe
a;b
$(id)
*
>x
'"'q'" "argv split on white space, passed literally: no shell"
ok $([ ! -e "$tmpdir/x" ] && [ ! -e "/x" ]; echo $?) "no redirection happened"
is "$(cat "$drop/pipe.uid" 2>/dev/null)" "$runas_uid" "the command runs as $runas (default_privs when root)"
is "$(cat "$drop/pipe.cwd" 2>/dev/null)" "/" "the command runs in /"

# ---- exit 75: deferred with the output, still in the queue ----
msg tempfail@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
runq
is "$(deferred)" 1 "exit 75 (EX_TEMPFAIL): the message waits in deferred/"
f=$(find "$sp/deferred" -type f | head -1)
like "$(grep '^RCPT TO:<tempfail@example.test>' "$f" 2>/dev/null)" 'X-DEFER=4\.3\.0\+20command\+20[^ ]*exited\+20with\+20status\+2075[^ ]*mailbox\+20busy,\+20try\+20later' "X-DEFER says 4.3.0 and carries the command's output"
like "$(grep '^RCPT TO:<tempfail@example.test>' "$f" 2>/dev/null)" 'X-ROUTE=pipe:' "the recipient keeps its pipe route for the next try"
rm -f "$sp"/deferred/*

# ---- exit 1: bounced with the output ----
msg fail@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
runq; runq -f
is "$(queued)$(deferred)" "00" "exit 1: the message leaves the queue"
b=$(bounce_for fail@example.test)
like "$b" 'Action: failed Status: 5\.3\.0' "the sender gets a bounce with 5.3.0"
like "$b" 'Diagnostic-Code: [^:]*; *command exited with status 1: no such list: foo second line' "the bounce carries the command's output, not its path"

# ---- the time limit: the process group is killed, deferred ----
config "command_time_limit 2s"
msg slow@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
start=$(date +%s)
runq
took=$(( $(date +%s) - start ))
ok $([ "$took" -lt 40 ]; echo $?) "a command past command_time_limit (2s) does not hold the run (${took}s)"
is "$(deferred)" 1 "a timed-out command defers the recipient"
f=$(find "$sp/deferred" -type f | head -1)
like "$(grep '^RCPT TO:<slow@example.test>' "$f" 2>/dev/null)" 'X-DEFER=4\.3\.0\+20command\+20[^ ]*exceeded\+20the\+20time\+20limit' "X-DEFER says the time limit was exceeded"
bg=$(cat "$drop/slow.bgpid" 2>/dev/null)
gone() { local s; s=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ]; }
ok $([ -n "$bg" ] && wait_for "gone $bg" 10; echo $?) "what the command started in the background is killed too"
rm -f "$sp"/deferred/*
config

# ---- file targets ----
msg box@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
msg box@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
msg md@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
runq
is "$(queued)$(deferred)" "00" "file targets: delivered"
like "$(head -1 "$files/box.mbox" 2>/dev/null)" '^From sender@example\.test [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$' "a /file alias appends an mbox message with a From_ line"
is "$(grep -c '^From sender@example.test ' "$files/box.mbox" 2>/dev/null)" 2 "two messages appended to the mbox"
like "$(tr '\n' '|' < "$files/box.mbox" 2>/dev/null)" '^From [^|]*\|Return-Path: <sender@example.test>\|Delivered-To: box@example.test\|.*\|\|>From the start\|\.leading dot\|last line\|\|From ' "mbox copy: Return-Path, Delivered-To, mboxrd quoting, a blank line after it"
is "$(stat -c %u "$files/box.mbox" 2>/dev/null)" "$runas_uid" "the mbox is made by $runas"
ok $([ ! -e "$files/box.mbox.lock" ]; echo $?) "the dot-lock is removed"
is "$(count "$files/md/new")" 1 "a /dir/ alias delivers into a Maildir"

# ---- a symbolic link is never followed: bounced 5.2.0 ----
msg link@example.test | sluice-enqueue 2>>"$tmpdir/enqueue.log"
runq; runq -f
is "$(stat -c %s "$files/target")" 0 "nothing is written through the symbolic link"
is "$(queued)$(deferred)" "00" "a symlinked target leaves the queue"
like "$(bounce_for link@example.test)" 'Status: 5\.2\.0 .*mailbox is a symbolic link: refused' "the sender gets a 5.2.0 bounce saying why"

# ---- the stage alone ----
stage() {	# stage RCPT-LINE [HEADER]: one message through sluice-local
    {
        echo "XFORWARD IDENT=06b000000000000000001"
        echo "MAIL FROM:<s@remote.test>"
        echo "$1"
        echo "DATA"
        [ -n "${2:-}" ] && echo "$2"
        printf 'Subject: x\n\nhi\n.\n'
    } | sluice-local > "$tmpdir/out" 2> "$tmpdir/err"
}
route() { printf 'X-ROUTE=pipe:%s' "$(printf '%s' "$1" | sed 's/ /+20/g')"; }
stage "RCPT TO:<far@remote.test> $(route "$tmpdir/rec ok far")"
is "$?$(cat "$tmpdir/out")" "0" "X-ROUTE=pipe: is sluice-local's whatever the domain"
is "$(sed -n 2p "$drop/far.stdin" 2>/dev/null)" "Delivered-To: far@remote.test" "the command got the message"
stage "RCPT TO:<loop@remote.test> $(route "$tmpdir/rec ok loop")" "Delivered-To: loop@remote.test"
like "$(tr '\n' ' ' < "$tmpdir/out")" 'Final-Recipient: rfc822; loop@remote.test Action: failed Status: 5\.4\.6' "Delivered-To loop: bounced 5.4.6"
ok $([ ! -e "$drop/loop.argv" ]; echo $?) "the command does not run for a looping message"
stage "RCPT TO:<e67@remote.test> $(route "$tmpdir/rec exit e67 67")"
like "$(tr '\n' ' ' < "$tmpdir/out")" 'Status: 5\.1\.1 .*status 67 \(user unknown\): exiting 67' "exit 67 (EX_NOUSER) bounces 5.1.1, as Postfix's sysexits table says"
stage "RCPT TO:<e71@remote.test> $(route "$tmpdir/rec exit e71 71")"
like "$(cat "$tmpdir/out")" 'RCPT TO:<e71@remote.test> .*X-DEFER=4\.3\.0' "exit 71 (EX_OSERR) is temporary"
stage "RCPT TO:<e7@remote.test> $(route "$tmpdir/rec exit e7 7")"
like "$(tr '\n' ' ' < "$tmpdir/out")" 'Status: 5\.3\.0 .*exited with status 7: exiting 7' "any other non-zero exit bounces 5.3.0"
stage "RCPT TO:<rel@remote.test> X-ROUTE=pipe:bin/cmd"
like "$(cat "$tmpdir/out")" 'RCPT TO:<rel@remote.test> .*X-DEFER=4\.3\.5' "a relative command is never run: deferred 4.3.5"
stage "RCPT TO:<none@remote.test> $(route "$tmpdir/no-such-cmd x")"
like "$(cat "$tmpdir/out")" "X-DEFER=4\\.3\\.0.*unable\\+20to\\+20run\\+20the\\+20command:\\+20No\\+20such" "a missing command defers, saying so (its path is in the log only)"
stage "RCPT TO:<null@remote.test> X-ROUTE=file:/dev/null"
is "$?$(cat "$tmpdir/out")" "0" "file:/dev/null discards: nothing left in the stream"
like "$(cat "$tmpdir/err")" 'to=<null@remote.test> status=sent dsn=2\.0\.0 discarded' "and the log says it was discarded"

# ---- whom it runs as: default_privs as root, else sluice-local's own user ----
# Only not being root skips these: the daemon user (base-passwd) and setpriv
# (util-linux) are on every Debian system, and the tests fail without them.
if [ "$(id -u)" = 0 ]; then
    config "default_privs daemon"
    stage "RCPT TO:<d@remote.test> $(route "$tmpdir/rec ok privs")"
    is "$(cat "$drop/privs.uid" 2>/dev/null) $(grep LOGNAME "$drop/privs.env" 2>/dev/null)" "$(id -u daemon) LOGNAME=daemon" "as root, the command runs as the default_privs user"
    rm -f "$drop"/privs.*
    stage "RCPT TO:<d@remote.test> X-ROUTE=file:$files/daemon.mbox"
    is "$(stat -c %U "$files/daemon.mbox" 2>/dev/null)" daemon "as root, a file is written as the default_privs user"
    # Unprivileged: its own user, whatever default_privs says.
    printf 'MAIL FROM:<s@remote.test>\nRCPT TO:<d@remote.test> %s\nDATA\nhi\n.\n' \
        "$(route "$tmpdir/rec ok privs")" |
        setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR=/tmp \
        sluice-local > "$tmpdir/out" 2> "$tmpdir/err"
    is "$(cat "$drop/privs.uid" 2>/dev/null) $(grep LOGNAME "$drop/privs.env" 2>/dev/null)" "$(id -u nobody) LOGNAME=nobody" "not root: the command runs as sluice-local's own user"
    config "default_privs root"
    stage "RCPT TO:<r@remote.test> $(route "$tmpdir/rec ok asroot")"
    like "$(cat "$tmpdir/out")" 'X-DEFER=4\.3\.0\+20will\+20not\+20run\+20pipes\+20and\+20files\+20as\+20root' "default_privs root is refused: deferred"
    ok $([ ! -e "$drop/asroot.argv" ]; echo $?) "nothing runs as root"
    config
else
    skip "needs root" 5
fi

done_testing
