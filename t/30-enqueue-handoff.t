#!/bin/bash
# sluice-enqueue: queue ids, the crash-safe hand-off, all-or-nothing, the trigger.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL"

msg() {	# msg [IDENT] — one transaction
    [ -n "${1:-}" ] && echo "XFORWARD IDENT=$1"
    printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nSubject: t\n\n..dot\n.\n'
}
nin() { ls "$SLUICE_SPOOL/incoming" | wc -l; }

{ msg; msg; } | sluice-enqueue 2>"$tmpdir/log"
is "$?" 0 "two transactions are accepted"
is "$(nin)" 2 "two files in incoming/"
bad=0
for f in "$SLUICE_SPOOL"/incoming/*; do
    q=$(basename "$f")
    [[ $q =~ ^[0-9a-f]{21}$ ]] || bad=1
    [ "$(head -1 "$f")" = "XFORWARD IDENT=$q" ] || bad=1
done
is "$bad" 0 "each file is named by a valid queue id and carries it as IDENT"
is "$(ls -A "$SLUICE_SPOOL/tmp")" "" "tmp/ is empty afterwards"
like "$(cat "$tmpdir/log")" 'sluice-enqueue: qid=[0-9a-f]{21} from=<a@example.org> nrcpt=1 size=[0-9]+' "one log line per message"
f=$(ls "$SLUICE_SPOOL"/incoming/* | head -1)
is "$(sed -n '2,$p' "$f")" "$(msg)" "the stored transaction is the input, dot-stuffing kept"

# The IDENT sluice-smtpd chose is kept; one already in use or invalid is replaced.
id=0691f3a2c0a1b2c000123
msg $id | sluice-enqueue 2>/dev/null
ok $([ -f "$SLUICE_SPOOL/incoming/$id" ]; echo $?) "a valid IDENT becomes the queue id"
msg $id | sluice-enqueue 2>/dev/null
is "$(nin)" 4 "the same IDENT again makes a new file"
is "$(grep -l "IDENT=$id" "$SLUICE_SPOOL"/incoming/* | wc -l)" 1 "an id in use is not reused"
msg 'nothex' | sluice-enqueue 2>/dev/null
is "$(nin)" 5 "an invalid IDENT is replaced"

# Many at once, and several writers at once: all ids unique.
for i in $(seq 200); do msg; done | sluice-enqueue 2>/dev/null
is "$(nin)" 205 "200 transactions in one input make 200 files"
for i in $(seq 20); do msg | sluice-enqueue 2>/dev/null & done; wait
is "$(nin)" 225 "20 concurrent writers make 20 files"
is "$(cat "$SLUICE_SPOOL"/incoming/* | grep -c '^XFORWARD IDENT=')" 225 "every file holds one transaction"

# A truncated stream: 111, and nothing of this input stays.
{ msg; printf 'MAIL FROM:<a@example.org>\nRCPT TO:<b@example.test>\nDATA\nSubject: t\n'; } |
    sluice-enqueue 2>"$tmpdir/log"
is "$?" 111 "a truncated stream is a temporary failure"
is "$(nin)" 225 "nothing of a truncated input is queued, not even its complete first message"
is "$(ls -A "$SLUICE_SPOOL/tmp")" "" "tmp/ is cleaned up"
like "$(cat "$tmpdir/log")" 'fatal: .*truncated' "one reason line"
printf 'MAIL FROM:<a@example.org>\nBOGUS\n' | sluice-enqueue 2>/dev/null
is "$?" 100 "bad input is a permanent failure"
is "$(nin)" 225 "nothing queued from bad input"
: | sluice-enqueue
is "$?" 0 "an empty stream is fine"

# A fresh spool: the folders are made.
SLUICE_SPOOL=$tmpdir/fresh; mkdir "$SLUICE_SPOOL"
msg | sluice-enqueue 2>/dev/null
is "$(nin)" 1 "tmp/ and incoming/ are made when missing"

# The trigger wakes a runner; without one, enqueue does not wait.
mkfifo "$SLUICE_SPOOL/trigger"
msg | timeout 10 sluice-enqueue 2>/dev/null
is "$?" 0 "no reader on the trigger: no wait, no error"
"$PY" -c 'import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
open(sys.argv[2], "w").close()
select.select([fd], [], [], 20)
sys.stdout.buffer.write(os.read(fd, 1))' "$SLUICE_SPOOL/trigger" "$tmpdir/ready" > "$tmpdir/woke" &
reader=$!
wait_for "[ -e $tmpdir/ready ]" 20
msg | sluice-enqueue 2>/dev/null
wait $reader
is "$(od -An -c "$tmpdir/woke" | tr -d ' ')" '\0' "one byte is written to the trigger"

# The order of the hand-off: fsync the file, rename, then one fsync of incoming/.
if command -v strace >/dev/null; then
    { msg; msg; } | strace -f -e trace=fsync,rename,renameat,renameat2 -o "$tmpdir/st" sluice-enqueue 2>/dev/null
    # (a take of a kept file that is not there is a rename that fails: not counted)
    seq=$(grep -E ' = 0$' "$tmpdir/st" | grep -oE '^[0-9]+ +(fsync|rename[a-z0-9]*)' | awk '{print $2}' | sed 's/rename.*/rename/' | tr '\n' ' ')
    is "$seq" "fsync fsync rename rename fsync " "fsync each file, rename all, then one fsync of the folder"
else
    ok 1 "strace is installed (.ci/deps installs it) to check the order of fsync and rename"
fi

# Root's submissions belong to the spool's owner, so the runner can read them.
if [ "$(id -u)" = 0 ]; then
    own=$tmpdir/owned
    mkdir -p "$own" && chown nobody:nogroup "$own"
    q=$(msg | SLUICE_SPOOL=$own sluice-enqueue 2>&1 | sed -n 's/.*qid=\([0-9a-f]*\).*/\1/p')
    is "$(stat -c %U "$own/incoming/$q" 2>/dev/null)" nobody "a file enqueued by root belongs to the spool's owner"
    is "$(stat -c %U "$own/tmp" "$own/incoming" | sort -u)" nobody "and so do the folders it had to make"
fi
done_testing
