#!/bin/bash
# sluice-import -d removes a source only once what was made of it is safe:
# after the program named after the options (sluice-import -d ... --
# sluice-enqueue) has read the whole output and exited 0, or after a
# regular file on standard output was written and synced.  A pipe on
# standard output cannot say that, so -d refuses one.  When the next
# program fails, is killed or cannot run, every source stays.  And
# sluice-envelope's old importer options still work, through sluice-import.
. "$(dirname "$0")/lib.sh"

d=$top/t/data/import
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL"
printf 'qualify_domain Example.NET\n' > "$SLUICE_CONF/config"
sluice-mkcdb "$SLUICE_CONF/config" || bail "sluice-mkcdb failed"

fresh() { rm -rf "$tmpdir/w" "$SLUICE_SPOOL"; mkdir -p "$SLUICE_SPOOL"; cp -r "$d" "$tmpdir/w"; w=$tmpdir/w; }
box_kept() { cmp -s "$d/mbox/inbox" "$w/mbox/inbox"; }

# ---- standard output a pipe: refused before anything is read ----
fresh
rc=0; sluice-import -d -m "$w/mbox/inbox" -r x@example.com 2>"$tmpdir/log" | cat > "$tmpdir/out" || rc=$?
rc=${PIPESTATUS[0]}
is "$rc" 100 "-d with a pipe on standard output: exit 100"
box_kept && [ ! -s "$tmpdir/out" ]; ok $? "and the mbox stays, nothing written"
like "$(cat "$tmpdir/log")" "not a regular file.*sluice-import -d \\.\\.\\. -- sluice-enqueue" "the reason names the safe form"
fresh
rc=0; sluice-import -d -w "$w/smtpserv" > /dev/full 2>/dev/null || rc=$?
is "$rc" 100 "-d with a device on standard output: exit 100"
[ -e "$w/smtpserv/5321.WRK" ] && [ -e "$w/smtpserv/99.WRK" ] && [ ! -e "$w/malformed" ]
ok $? "and nothing is removed or moved"

# ---- standard output a regular file: synced, then the sources go ----
fresh
rc=0; sluice-import -d -w "$w/smtpserv" > "$tmpdir/out" 2>/dev/null || rc=$?
is "$rc" 0 "-d with a regular file on standard output: exit 0"
cmp -s "$d/smtpserv.out" "$tmpdir/out" && [ ! -e "$w/smtpserv/5321.WRK" ]
ok $? "the stream is in the file and the imported pairs are gone"

# ---- the next program: the sources go when it exits 0 ----
fresh
rc=0; sluice-import -d -m "$w/mbox/inbox" -r x@example.com -- sluice-enqueue 2>"$tmpdir/log" || rc=$?
is "$rc" 0 "-- sluice-enqueue: exit 0"
is "$(ls "$SLUICE_SPOOL/incoming" | wc -l)" "$(grep -c '^MAIL FROM' "$d/mbox-r.out")" "every converted message is queued"
[ ! -e "$w/mbox/inbox" ]; ok $? "and then the mbox is removed"
like "$(tail -1 "$tmpdir/log")" "sluice-import: imported=[0-9]+ malformed=1 source=.* removed=yes" "the summary comes after the next program's log"

fresh
sluice-import -m "$w/mbox/inbox" -r x@example.com -r y sh -c 'cat > "$1"' sh "$tmpdir/out" 2>/dev/null
cmp -s "$d/mbox-r.out" "$tmpdir/out"; ok $? "the next program (no -- needed) reads the whole stream on standard input"

for c in 'cat >/dev/null; exit 111' 'exit 100' 'kill -9 $$' 'exit 1'; do
    fresh
    rc=0; sluice-import -d -m "$w/mbox/inbox" -r x@example.com -- sh -c "$c" 2>"$tmpdir/log" || rc=$?
    want=111; [ "$c" = 'exit 100' ] && want=100
    is "$rc" "$want" "a next program that does '$c': exit $want"
    box_kept; ok $? "and the mbox stays"
done
like "$(cat "$tmpdir/log")" "sh failed \\(exit 1\\): nothing removed" "the reason is logged"
fresh
rc=0; sluice-import -d -w "$w/smtpserv" -- no-such-program-here 2>/dev/null || rc=$?
[ $rc = 111 ] && [ -e "$w/smtpserv/5321.WRK" ]; ok $? "a next program that cannot run: exit 111, the sources stay"

# ---- sluice-envelope's importer options, for old scripts ----
fresh
rc=0; sluice-envelope -m "$w/mbox/inbox" -r x@example.com -r y > "$tmpdir/out" 2>"$tmpdir/log" || rc=$?
is "$rc" 0 "sluice-envelope -m still imports"
cmp -s "$d/mbox-r.out" "$tmpdir/out"; ok $? "the same stream as sluice-import's"
like "$(cat "$tmpdir/log")" "sluice-envelope: warning: .*deprecated.*sluice-import -m" "with a warning naming sluice-import"
rc=0; sluice-envelope -d -m "$w/mbox/inbox" -r x@example.com 2>"$tmpdir/log" | cat >/dev/null
is "${PIPESTATUS[0]}" 100 "sluice-envelope -d into a pipe is refused as sluice-import's is"
box_kept; ok $? "and the mbox stays"
rc=0; sluice-envelope extra < /dev/null 2>/dev/null || rc=$?
is "$rc" 100 "sluice-envelope takes no other argument"

done_testing
