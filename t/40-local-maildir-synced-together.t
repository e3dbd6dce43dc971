#!/bin/bash
# sluice-local syncs the Maildir files of a run together: each is written
# in tmp/ and left there; before the program exits 0, one syncfs puts all
# their data on disk (one cache flush, where an fsync each was one each),
# then each is renamed into new/ and its recipient recorded as delivered,
# then new/ is synced.  Checked in a trace of the system calls, and by
# what a kill -9 or a failed rename at the end leaves: files never renamed,
# nothing recorded, and a retry that delivers each message once.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || bail "strace is needed (a test dependency)"
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
export SLUICE_DELIVERED=$tmpdir/delivered
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp" "$SLUICE_DELIVERED"
mr=$tmpdir/mail md=$tmpdir/mail/box
settings "hostname mx.example.test" "mailroot $mr"
table domains example.test
table users "@example.test box/"

# stream FIRST LAST — messages FIRST..LAST, one recipient each (uN), with
# the queue id 06b0000...N, so that each has its record of deliveries.
stream() {
    local i
    for ((i = $1; i <= $2; i++)); do
        printf 'XFORWARD IDENT=06b%018d\nMAIL FROM:<s@example.org>\n' "$i"
        printf 'RCPT TO:<u%d@example.test>\nDATA\nSubject: msg %d\n\nhello\n.\n' "$i" "$i"
    done
}
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
# subjects — the Subject of every file in new/, sorted, one per line
subjects() { cat "$md"/new/* 2>/dev/null | sed -n 's/^Subject: //p' | sort -n -k2; }
records() { cat "$SLUICE_DELIVERED"/* 2>/dev/null | wc -l; }
reset() { rm -rf "$mr" "$SLUICE_DELIVERED"; mkdir -p "$SLUICE_DELIVERED"; }

# 1. The order of the calls, for a run of 40 messages.
stream 1 40 > "$tmpdir/in40"
strace -f -y -qq -o "$tmpdir/trace" -e trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,write \
    sluice-local < "$tmpdir/in40" > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 0 "40 messages for one Maildir: sluice-local exits 0"
is "$(count "$md/new")" 40 "all 40 are in new/"
is "$(count "$md/tmp")" 0 "and none is left in tmp/"
is "$(records)" 40 "each recipient is recorded as delivered"
# order TRACE — what the trace shows, a line per fact (the checks below)
cat > "$tmpdir/order.py" <<'EOF'
import re, sys
md = sys.argv[2]
syncfs = []; file_syncs = 0; renames = []; dir_syncs = []; recs = []
for i, l in enumerate(open(sys.argv[1])):
    if re.search(r'\b(fsync|fdatasync)\(\d+<%s/tmp/' % re.escape(md), l):
        file_syncs += 1
    elif re.search(r'\bsyncfs\(\d+<%s/tmp/' % re.escape(md), l) and l.rstrip().endswith('= 0'):
        syncfs.append(i)
    elif re.search(r'\brename(at2?)?\(.*%s/tmp/.*%s/new/' % (re.escape(md), re.escape(md)), l):
        renames.append(i)
    elif re.search(r'\bfsync\(\d+<%s/new>' % re.escape(md), l):
        dir_syncs.append(i)
    elif re.search(r'\bwrite\(\d+</.*/delivered/', l):
        recs.append(i)
print("file fsyncs", file_syncs)
print("syncfs", len(syncfs))
print("renamed", len(renames))
print("renames after the syncfs", int(bool(syncfs) and all(r > syncfs[0] for r in renames)))
print("new/ synced after the last rename", int(bool(dir_syncs) and bool(renames) and dir_syncs[-1] > renames[-1]))
print("records", len(recs))
print("each record after its rename", int(len(recs) == len(renames) and all(a > b for a, b in zip(recs, renames))))
print("flushes", len(syncfs) + len(dir_syncs) + file_syncs)
EOF
order() { "$PY" "$tmpdir/order.py" "$1" "$md" > "$tmpdir/order"; }
fact() { sed -n "s/^$1 //p" "$tmpdir/order"; }
order "$tmpdir/trace"
is "$(fact 'file fsyncs')" 0 "no message file is fsynced on its own"
is "$(fact syncfs)" 1 "one syncfs puts the 40 files on disk"
is "$(fact renamed)" 40 "40 renames from tmp/ into new/"
is "$(fact 'renames after the syncfs')" 1 "every rename comes after the syncfs"
is "$(fact 'new\/ synced after the last rename')" 1 "new/ is synced after the last rename"
is "$(fact 'each record after its rename')" 1 \
    "each recipient is recorded after its file is renamed into new/"
is "$(fact flushes)" 2 "two syncs for 40 messages (one each before)"

# 2. More than PEND_MAX (256) files: synced and renamed in two rounds,
# each recipient recorded after its own rename (the 257th too, whose
# delivery began by committing the 256 before it).
reset
stream 1 300 > "$tmpdir/in300"
strace -f -y -qq -o "$tmpdir/trace" -e trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,write \
    sluice-local < "$tmpdir/in300" > /dev/null 2> "$tmpdir/err"
is "$?" 0 "300 messages: exit 0"
is "$(subjects | uniq | wc -l) $(count "$md/new")" "300 300" "300 distinct messages in new/"
order "$tmpdir/trace"
is "$(fact syncfs) $(fact renamed) $(fact records)" "2 300 300" \
    "two syncfs (256 files, then the other 44), 300 renames, 300 records"
is "$(fact 'each record after its rename')" 1 "each of the 300 is recorded after its rename"

# sluice-local reading a FIFO whose writer stays open: it has written the
# files of what it read, and waits for more.  held FIRST LAST
held() {
    rm -f "$tmpdir/fifo" && mkfifo "$tmpdir/fifo"
    sluice-local < "$tmpdir/fifo" > "$tmpdir/out" 2> "$tmpdir/err" &
    lpid=$!
    exec 7> "$tmpdir/fifo"
    stream "$1" "$2" >&7
    wait_for "[ \$(count $md/tmp) -ge $(($2 - $1 + 1)) ]" 10
}

# 3. Killed with SIGKILL while its files wait: none is in new/, none is
# recorded, and the retry delivers each message once.
reset
held 1 3
is "$(count "$md/tmp") $(count "$md/new")" "3 0" "three files written in tmp/, none in new/ yet"
kill -9 "$lpid"; wait "$lpid" 2>/dev/null
exec 7>&-
is "$(count "$md/new") $(records)" "0 0" "killed: nothing in new/, nothing recorded"
stream 1 3 | sluice-local > /dev/null 2>&1
is "$?" 0 "the retry exits 0"
is "$(subjects | tr '\n' ,)" "msg 1,msg 2,msg 3," "the retry delivers each of the three once"
is "$(count "$md/tmp")" 3 "the killed run's files stay in tmp/, for the 36-hour sweep"

# 4. A rename that fails at the end: exit 111, the files of the run removed,
# nothing recorded; the retry delivers each once.
reset
held 1 2
rmdir "$md/new"
exec 7>&-
wait "$lpid"
is "$?" 111 "new/ gone before the end: exit 111"
like "$(cat "$tmpdir/err")" "unable to deliver into the Maildir $md/new" "the failed rename is logged"
is "$(count "$md/tmp") $(records)" "0 0" "the run's files are removed from tmp/, nothing is recorded"
mkdir "$md/new"
stream 1 2 | sluice-local > /dev/null 2>&1
is "$?" 0 "the retry exits 0"
is "$(subjects | tr '\n' ,)" "msg 1,msg 2," "the retry delivers each of the two once"

# 5. A death of its own (here the output, /dev/full, fails while a large
# message for another domain passes through): the files still waiting
# are removed from tmp/, and nothing is in new/ or recorded.
reset
{ stream 1 2
  printf 'XFORWARD IDENT=06b%018d\nMAIL FROM:<s@example.org>\nRCPT TO:<x@remote.test>\nDATA\nSubject: big\n\n' 3
  for ((i = 0; i < 2000; i++)); do echo "a line of a message that is larger than the output buffer, $i"; done
  echo .; } > "$tmpdir/in-big"
sluice-local < "$tmpdir/in-big" > /dev/full 2> "$tmpdir/err"
rc=$?
like "$rc $(cat "$tmpdir/err")" "^111 .*unable to write" "the output fails: exit 111, logged"
is "$(count "$md/tmp") $(count "$md/new") $(records)" "0 0 0" \
    "the two files waiting are removed from tmp/; none in new/, none recorded"

done_testing
