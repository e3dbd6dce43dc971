#!/bin/bash
# A queue file that is done goes into a slot of spool/free/ (free/0 ...
# free/511) instead of being removed, and sluice-enqueue writes the next
# message into it instead of creating a file (lib/qfree.h): no inode is
# allocated or freed per message, and the file is written over, its old
# tail cut.  A kept file is used only when it is
# the writer's own regular file with one link: a slot that names a queued
# message too (a crash can leave that until fsck), another user's file or
# a symbolic link is removed from the slot and left whole.  Files over
# 128 KiB are removed, not kept.  A runner or enqueue killed at any of
# the new steps loses nothing and delivers nothing twice.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to run the queue as an unprivileged user"
command -v strace >/dev/null || bail "strace is needed (a test dependency)"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
sp=$SLUICE_SPOOL mr=$tmpdir/mail
mkdir -p "$SLUICE_CONF" "$mr" "$sp"
table config "hostname mx.example.test" "mailroot $mr" "chain sluice-envelope | sluice-local"
table domains example.test
table users "@example.test box/"
chown -R nobody:nogroup "$mr" "$sp"
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- env SLUICE_CONF="$SLUICE_CONF" SLUICE_SPOOL="$SLUICE_SPOOL" SLUICE_LIBEXEC="$SLUICE_LIBEXEC" "$@"; }

msg() {	# msg SUBJECT [BODY-LINES] — one transaction to one recipient
    printf 'MAIL FROM:<a@example.org>\nRCPT TO:<%s@example.test>\nDATA\nSubject: %s\n\n' "$1" "$1"
    for ((i = 0; i < ${2:-1}; i++)); do echo "line $i of the body of message $1, long enough"; done
    echo .
}
enq() { asnobody sluice-enqueue 2>>"$tmpdir/enq.log"; }
runq() { asnobody sluice-runq -1 -f </dev/null 2>>"$tmpdir/runq.log"; }
inodes() { stat -c %i "$@" 2>/dev/null | sort; }
nfree() { find "$sp/free" -type f | wc -l; }
copies() { grep -h '^Delivered-To: ' "$mr"/box/new/* 2>/dev/null | sort; }
empty_queue() { find "$sp"/{tmp,incoming,deferred,bad,dead} -type f | wc -l; }

# ---- delivered files are kept, the next messages are written into them ----
for s in m1 m2 m3; do msg $s 400; done | enq || bail "enqueue"
before=$(inodes "$sp"/incoming/*)
runq
is "$?" 0 "the runner delivers the first three"
is "$(copies | wc -l)" 3 "three copies"
is "$(empty_queue)" 0 "nothing is left in the queue folders"
is "$(stat -c %U:%a "$sp/free")" "nobody:700" "free/ is the spool owner's, mode 0700"
is "$(nfree)" 3 "the three queue files are kept in free/"
is "$(inodes "$sp"/free/*)" "$before" "the same files (inodes)"
is "$(find "$sp/free" -type f ! -regex '.*/free/[0-9]+' -o -regex '.*/free/0[0-9]+' | wc -l)" 0 \
    "named by their slots' numbers"

# ---- a large one is removed, not kept ----
msg big 3000 | enq
big=$(inodes "$sp"/incoming/*) n0=$(nfree)
ok $([ "$(stat -c %s "$sp"/incoming/*)" -gt 131072 ]; echo $?) "a message over 128 KiB"
runq
is "$(nfree)" "$n0" "is not kept"
is "$(inodes "$sp"/free/* | grep -cx "$big")" 0 "its file is gone"

# ---- at most 512 slots ----
for i in $(seq 520); do msg s$i; done | enq
runq
is "$(copies | wc -l)" 524 "520 more are delivered"
is "$(nfree)" 512 "512 files are kept, no more"
is "$(empty_queue)" 0 "the rest are removed"

# ---- the next message is written into a kept file ----
kept=$(inodes "$sp"/free/*)
msg m4 | enq
is "$?" 0 "the next message is accepted"
q=$(ls "$sp/incoming")
like "$(inodes "$sp/incoming/$q")" "^($(echo $kept | tr ' ' '|'))\$" \
    "it is written into one of the kept files"
is "$(nfree)" 511 "which leaves its slot"
is "$(sed 1d "$sp/incoming/$q")" "$(msg m4)" "the file holds the new message alone, nothing of the old"
is "$(stat -c %U:%a "$sp/incoming/$q")" "nobody:600" "owned by the spool owner, mode 0600"
is "$(ls -A "$sp/tmp")" "" "tmp/ is empty afterwards"
runq
is "$(copies | grep -c m4)" 1 "it is delivered, once"
is "$(grep -l 'Subject: m4' "$mr"/box/new/* | xargs grep -c '^line 0 of')" 1 "with its own body alone"

# ---- written over, not emptied: the old file's tail is cut ----
# Every kept file is a 400-line message; the next is shorter.  The file
# is the same inode, its first block written over (no block freed or
# allocated: doc/performance.md), and what is left of the old message
# past the new one's end is cut before the fsync.
rm -rf "$sp/free"; mkdir "$sp/free"; chown nobody:nogroup "$sp/free"; chmod 700 "$sp/free"
for s in l1 l2 l3; do msg $s 400; done | enq; runq
kept=$(inodes "$sp"/free/*)
is "$(nfree)" 3 "three long messages are kept"
msg short 2 | enq
q=$(ls "$sp/incoming")
like "$(inodes "$sp/incoming/$q")" "^($(echo $kept | tr ' ' '|'))\$" \
    "a short message is written into one of them"
is "$(sed 1d "$sp/incoming/$q")" "$(msg short 2)" "which holds the short message alone"
is "$(stat -c %s "$sp/incoming/$q")" "$(( $(head -1 "$sp/incoming/$q" | wc -c) + $(msg short 2 | wc -c) ))" \
    "and is no longer than it"
runq
is "$(grep -l 'Subject: short' "$mr"/box/new/* | xargs grep -c '^line ')" 2 "it is delivered with its own two lines"
# The other way: a long message into a short message's file.
for i in 1 2 3 4; do msg tiny$i 0; done | enq; runq
kept=$(inodes "$sp"/free/*)
msg long 300 | enq
q=$(ls "$sp/incoming")
like "$(inodes "$sp/incoming/$q")" "^($(echo $kept | tr ' ' '|'))\$" "a long message goes into a kept file too"
is "$(sed 1d "$sp/incoming/$q")" "$(msg long 300)" "and holds it whole"
runq

# ---- root's sluice-enqueue takes one too, and leaves it the owner's ----
kept=$(inodes "$sp"/free/*) n0=$(nfree)
msg root | sluice-enqueue 2>/dev/null
q=$(ls "$sp/incoming")
is "$(nfree)" "$((n0 - 1))" "sluice-enqueue as root takes a kept file"
like "$(inodes "$sp/incoming/$q")" "^($(echo $kept | tr ' ' '|'))\$" "(one of them)"
is "$(stat -c %U:%a "$sp/incoming/$q")" "nobody:600" "which stays the spool owner's"
runq; is "$(copies | grep -c "root@")" 1 "root's message is delivered"

# ---- slots that are not ours to reuse ----
refill() {	# refill KIND — every slot made a file of KIND
    rm -rf "$sp/free" && mkdir "$sp/free" && chown nobody:nogroup "$sp/free" && chmod 700 "$sp/free"
    for ((i = 0; i < 64; i++)); do
        case $1 in
        link) ln "$sp/incoming/$held" "$sp/free/$i" ;;
        root) echo "root's $i" > "$sp/free/$i"; chmod 600 "$sp/free/$i" ;;
        symlink) ln -s "$tmpdir/target" "$sp/free/$i" ;;
        esac
    done
}
# A queued message also named by every slot, as a crash before fsync
# could leave one: the slots' names go, the message stays whole.
msg held 50 | enq
held=$(ls "$sp/incoming")
sum=$(md5sum < "$sp/incoming/$held")
refill link
msg after-link | enq
is "$?" 0 "a message is accepted while every slot names a queued message"
is "$(md5sum < "$sp/incoming/$held")" "$sum" "the queued message is not touched"
is "$(stat -c %h "$sp/incoming/$held")" "$(( 65 - 8 ))" "the eight slots tried lose their name (8 links fewer)"
is "$(inodes "$sp"/incoming/* | uniq | wc -l)" 2 "the new message has a file of its own"
runq
is "$(copies | grep -c -e held -e after-link)" 2 "both are delivered, once each"

refill root
msg after-root | enq
is "$?" 0 "a message is accepted while every slot is root's file"
is "$(cat "$sp"/free/* | grep -c "^root's")" 56 "56 of root's files (not the spool owner's) are untouched in their slots"
is "$(find "$sp/free" -type f ! -user root | wc -l)" 0 "none of them was given the message"
like "$(grep -c 'Subject: after-root' "$sp"/incoming/*)" '^1$' "which is in a file of its own"
runq; is "$(copies | grep -c after-root)" 1 "and delivered"

echo "not to be written" > "$tmpdir/target"
refill symlink
msg after-symlink | enq
is "$?" 0 "a message is accepted while every slot is a symbolic link"
is "$(cat "$tmpdir/target")" "not to be written" "the link's target is not written"
runq; is "$(copies | grep -c after-symlink)" 1 "and it is delivered"
rm -rf "$sp/free"; mkdir "$sp/free"; chown nobody:nogroup "$sp/free"; chmod 700 "$sp/free"

# ---- a remainder written back to deferred/ goes into a kept file too ----
for i in $(seq 20); do msg d$i; done | enq; runq
cat > "$tmpdir/defer" <<'EOT'
#!/bin/sh
exec sed -E '/^RCPT TO:<[^>]*@remote\.test>/s/$/ X-DEFER=4.4.1+20connection+20refused/'
EOT
chmod 755 "$tmpdir/defer"
table config "hostname mx.example.test" "mailroot $mr" "retry_min 1h" \
    "chain $tmpdir/defer | sluice-envelope | sluice-local"
printf 'MAIL FROM:<a@example.org>\nRCPT TO:<far@remote.test>\nDATA\nSubject: far\n\nx\n.\n' | enq
kept=$(inodes "$sp"/free/*)
runq
q=$(ls "$sp/deferred")
is "$(echo "$q" | wc -l)" 1 "a deferred message is written back to deferred/"
like "$(inodes "$sp/deferred/$q")" "^($(echo $kept | tr ' ' '|'))\$" \
    "into one of the kept files"
is "$(grep -c 'RCPT TO:<far@remote.test>' "$sp/deferred/$q")" 1 "holding the message"
rm -f "$sp/deferred/$q"
table config "hostname mx.example.test" "mailroot $mr" "chain sluice-envelope | sluice-local"

# ---- killed at each new step ----
# kill_at SYSCALL N CMD... — CMD (a runner or an enqueue, as nobody) is
# killed at its Nth call of SYSCALL; its children are not traced (under
# make check SAN=1 LeakSanitizer cannot run in a traced process).
kill_at() {
    local sc=$1 n=$2
    shift 2
    asnobody strace -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when="$n" "$@"
}
for s in k1 k2 k3; do msg $s; done | enq
# The runner's move of the first done file into free/: killed there, its
# inputs stay, and the next run delivers nothing twice.
kill_at renameat2 1 sluice-runq -1 -f </dev/null 2>>"$tmpdir/runq.log"
ok $([ $? -ne 0 ]; echo $?) "a runner killed at its first move into free/"
runq
is "$(copies | grep -c -e k1 -e k2 -e k3)" 3 "the three are delivered once each after the restart"
is "$(empty_queue)" 0 "and nothing is left in the queue"
# sluice-enqueue killed after taking a kept file: at the cut of the old
# tail (ftruncate), and at the fsync after writing over it.  The message
# was not accepted, and its tmp/ file is the runner's to remove.
for i in $(seq 64); do msg f$i 20; done | enq; runq
n0=$(nfree)
is "$n0" 64 "(the 64 are kept: the three kept before were taken first)"
for at in ftruncate fsync; do
    n0=$(nfree)
    msg k4 | kill_at "$at" 1 sluice-enqueue 2>/dev/null
    ok $([ $? -ne 0 ]; echo $?) "an enqueue killed at its $at of a kept file fails"
    is "$(ls "$sp/incoming" | wc -l)" 0 "nothing is queued"
    is "$(( n0 - $(nfree) ))" 1 "the file it took left free/"
    runq
    is "$(ls -A "$sp/tmp")" "" "the runner removes what it left in tmp/"
done
msg k4 | enq && runq
is "$(copies | grep -c k4)" 1 "sent again, it is delivered once"
is "$(copies | uniq -d | wc -l)" 0 "no recipient has two copies"
done_testing
