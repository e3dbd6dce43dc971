#!/bin/bash
# sluice-import on fixtures in t/data/import/: SMTPSERV (-w), MS SMTP drop
# folder (-e), mbox (-m) and Maildir (-M).  What cannot be converted is
# moved (or, for mbox, copied) into the malformed folder with the reason
# logged, never lost; sources go only with -d and only after the output
# was written.  (When the output goes to another program:
# t/82-import-removes-sources-once-safe.t.)
. "$(dirname "$0")/lib.sh"

d=$top/t/data/import
mkdir "$tmpdir/conf"
printf 'qualify_domain Example.NET\n' > "$tmpdir/conf/config"
sluice-mkcdb "$tmpdir/conf/config" || bail "sluice-mkcdb failed"
export SLUICE_CONF=$tmpdir/conf

fresh() { rm -rf "$tmpdir/w"; cp -r "$d" "$tmpdir/w"; w=$tmpdir/w; }

# run NAME ARGS... — output in $tmpdir/out, log in $tmpdir/log, status in $rc.
run() { rc=0; sluice-import "$@" > "$tmpdir/out" 2> "$tmpdir/log" || rc=$?; }

same() { cmp -s "$1" "$2" || { diag "$(diff "$1" "$2" | head -20)"; return 1; }; }

# ---- SMTPSERV ----
fresh
run -w "$w/smtpserv"
is "$rc" 0 "-w: exits 0 with malformed pairs set aside"
same "$d/smtpserv.out" "$tmpdir/out"; ok $? "-w: the stream of the complete pairs, in number order"
for f in 99.WRK 99.TXT 100.WRK 100.TXT 101.WRK 102.WRK 102.TXT; do
    cmp -s "$d/smtpserv/$f" "$w/malformed/$f" && [ ! -e "$w/smtpserv/$f" ]
    ok $? "-w: $f moved into ../malformed unchanged"
done
grep -q 'source=.*/99.WRK .*reason=".*99.WRK:2: RCPT address: invalid character in domain at offset 6: <bad@ex_ample.net>"' "$tmpdir/log"
ok $? "-w: the log names the file, line and offset of a bad address"
grep -q '100.TXT:3: text line longer than 998 octets' "$tmpdir/log"; ok $? "-w: an over-long line makes the pair malformed"
grep -q '101.WRK: no message file' "$tmpdir/log"; ok $? "-w: a .WRK without its .TXT is malformed"
[ -e "$w/smtpserv/7.TXT" ] && ! grep -q '7.TXT' "$tmpdir/log"
ok $? "-w: a .TXT without .WRK (still being written) is left alone"
[ -e "$w/smtpserv/5321.WRK" ] && [ -e "$w/smtpserv/5321.TXT" ]; ok $? "-w: sources stay without -d"
grep -q 'imported=2 malformed=7' "$tmpdir/log"; ok $? "-w: a summary line"
run -w "$w/smtpserv" -d
[ $rc = 0 ] && [ ! -e "$w/smtpserv/5321.WRK" ] && [ ! -e "$w/smtpserv/12.TXT" ] && [ -e "$w/smtpserv/7.TXT" ]
ok $? "-d: imported pairs are removed after the output is written"
same "$d/smtpserv.out" "$tmpdir/out"; ok $? "-d: the same stream"

# A failed write keeps every source.
fresh
rc=0; sluice-import -w "$w/smtpserv" > /dev/full 2> "$tmpdir/log" || rc=$?
[ $rc = 111 ] && [ -e "$w/smtpserv/5321.WRK" ] && [ -e "$w/smtpserv/12.WRK" ]
ok $? "when standard output cannot be written, exit 111 (the sources stay)"

# -b names the malformed folder.
fresh
run -w "$w/smtpserv" -b "$tmpdir/bad"
[ -e "$tmpdir/bad/99.WRK" ] && [ ! -e "$w/malformed" ]; ok $? "-b: malformed inputs go where it says"

# ---- MS SMTP drop folder ----
fresh
run -e "$w/drop"
is "$rc" 0 "-e: exits 0"
same "$d/drop.out" "$tmpdir/out"; ok $? "-e: x-sender/x-receiver become the envelope and leave the message"
unlike "$(cat "$tmpdir/out")" "x-sender|x-receiver" "-e: no x-sender: or x-receiver: line is left in the stream"
cmp -s "$d/drop/c.eml" "$w/malformed/c.eml"; ok $? "-e: a file with no envelope is moved aside"
grep -q 'c.eml: no sender' "$tmpdir/log"; ok $? "-e: with the reason logged"
cmp -s "$d/drop/d.eml" "$w/malformed/d.eml"; ok $? "-e: a file with an over-long line is moved aside"
[ -e "$w/drop/notes.txt" ] && [ -e "$w/drop/a.eml" ]; ok $? "-e: other files and (without -d) the sources stay"

# ---- mbox ----
fresh
run -m "$w/mbox/inbox"
is "$rc" 0 "-m: exits 0"
same "$d/mbox.out" "$tmpdir/out"; ok $? "-m: From_ sender, Delivered-To/X-Original-To recipient, mboxrd unquoting, no Return-Path"
like "$(cat "$tmpdir/out")" $'\nFrom the start\n>From quoted twice\n' "-m: >From loses one >"
"$PY" - "$w/mbox/inbox" "$w/mbox/malformed" <<'PY'
import sys
text = open(sys.argv[1], "rb").read()
parts = text.split(b"\nFrom ")
msgs = [parts[0] + b"\n"] + [b"From " + p + b"\n" for p in parts[1:]]
msgs[-1] = msgs[-1][:-1]
for n in (3, 4):
    got = open("%s/inbox.%d" % (sys.argv[2], n), "rb").read()
    if got != msgs[n - 1]:
        sys.exit("inbox.%d differs" % n)
PY
ok $? "-m: messages 3 (no recipient) and 4 (over-long line) are copied whole into malformed/"
grep -q 'message=3 .*no recipient' "$tmpdir/log" && grep -q 'message=4 .*text line longer than 998' "$tmpdir/log"
ok $? "-m: both logged with their reasons"
cmp -s "$d/mbox/inbox" "$w/mbox/inbox"; ok $? "-m: the mbox is untouched without -d"
run -m "$w/mbox/inbox" -r x@example.com -r y
same "$d/mbox-r.out" "$tmpdir/out"; ok $? "-m -r: the -r recipients replace the headers' for every message"
run -m "$w/mbox/inbox" -d -r x@example.com
[ $rc = 0 ] && [ ! -e "$w/mbox/inbox" ]; ok $? "-m -d: the mbox is removed after a good run"
printf 'no From_ line\n\nbody\n' > "$tmpdir/notmbox"
run -m "$tmpdir/notmbox" -r x@example.com
[ $rc = 0 ] && [ ! -s "$tmpdir/out" ] && cmp -s "$tmpdir/notmbox" "$tmpdir/malformed/notmbox.1"
ok $? "-m: text before any From_ line is copied aside, not lost"

# ---- Maildir ----
fresh
run -M "$w/maildir"
is "$rc" 0 "-M: exits 0"
same "$d/maildir.out" "$tmpdir/out"; ok $? "-M: Return-Path: is the sender, Delivered-To: the recipient"
cmp -s "$d/maildir/new/3.host" "$w/malformed/3.host"; ok $? "-M: a message with no Return-Path: is moved aside"
grep -q '3.host: no Return-Path' "$tmpdir/log"; ok $? "-M: with the reason logged"
run -M "$w/maildir" -d
[ $rc = 0 ] && [ -z "$(find "$w/maildir/new" "$w/maildir/cur" -type f)" ]; ok $? "-M -d: imported messages are removed"

# A moved file never replaces one already in the malformed folder.
fresh
mkdir -p "$w/malformed"; echo old > "$w/malformed/c.eml"
run -e "$w/drop"
is "$(cat "$w/malformed/c.eml")" old "malformed/: an older file of the same name is kept"
cmp -s "$d/drop/c.eml" "$w/malformed/c.eml.1"; ok $? "malformed/: the new one gets a suffix"

# -m -d on a live mbox: mail appended while it is imported is not lost; the
# mbox is left in place.  The next program appends, after the importer has
# read the mbox and before it removes it.
big=$tmpdir/live.mbox
for i in $(seq 200); do
    printf 'From a@example.org Sat Nov 21 10:00:00 2026\nSubject: %s\n\n%s\n\n' "$i" "$(head -c 600 /dev/zero | tr '\0' x)"
done > "$big"
sluice-import -m "$big" -r b@example.org -d 2>"$tmpdir/live.err" -- sh -c '
    printf "From a@example.org Sat Nov 21 10:00:00 2026\nSubject: late\n\nlate\n\n" >> "$1"; cat > "$2"' \
    sh "$big" "$tmpdir/live.out"
ok $([ -e "$big" ] && grep -q '^Subject: late$' "$big"; echo $?) "-m -d: an mbox appended to during the import is left in place, with the new mail"
like "$(cat "$tmpdir/live.err")" "changed while it was imported: left in place" "and that is logged"
is "$(grep -c '^MAIL FROM:' "$tmpdir/live.out")" 200 "the 200 messages read were imported"

# Options.
run -r x@example.com -w "$w/smtpserv"
is "$rc" 100 "-r is refused for a format that names its recipients"

done_testing
