#!/bin/bash
# mailq is a program of its own (bin/mailq.c), no longer sendmail under
# another name: sendmail -bp runs the mailq installed beside it, with its
# order; mailq refuses the sendmail options that would make it do
# something other than list; and a mailq left as a link to sendmail by an
# older build stops with a reason instead of running itself forever.
. "$(dirname "$0")/lib.sh"

spool=$tmpdir/spool
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$spool
mkdir -p "$SLUICE_CONF" "$spool"/{incoming,deferred}
for i in 1 2; do
    q=06b0000000000000000${i}a
    printf 'XFORWARD IDENT=%s\nMAIL FROM:<a@example.org>\nRCPT TO:<b%s@example.net>\nDATA\nSubject: %s\n\n%s\n.\n' \
        "$q" "$i" "$i" "$(head -c $((i * 2000)) /dev/zero | tr '\0' z)" > "$spool/incoming/$q"
done

[ -f "$top/bin/mailq" ] && [ ! -L "$top/bin/mailq" ] && ! cmp -s "$top/bin/mailq" "$top/bin/sendmail"
ok $? "bin/mailq is a program, not a link to sendmail"
is "$(sendmail -bp)" "$(mailq)" "sendmail -bp lists as mailq does"
is "$(sendmail -bp -S size | grep -oE '^[0-9a-f]{21}' | head -1)" 06b00000000000000002a "sendmail -bp -S size passes the order on"
is "$(mailq -o size | grep -oE '^[0-9a-f]{21}' | head -1)" 06b00000000000000002a "mailq -o size: largest first"
is "$(PATH=/usr/bin:/bin "$top/bin/sendmail" -bp)" "$(mailq)" \
    "sendmail -bp finds its own mailq without PATH (not another MTA's)"
mailq -v -i >/dev/null; is $? 0 "sendmail options that do not concern mailq are ignored"
for o in -q -bs -bd -I; do
    rc=0; mailq $o >/dev/null 2>&1 || rc=$?
    is "$rc" 64 "mailq $o: refused (EX_USAGE)"
done
mkdir "$tmpdir/other"
printf 'spool %s\n' "$spool" > "$tmpdir/other/config"
sluice-mkcdb "$tmpdir/other/config" || bail "sluice-mkcdb failed"
like "$(env -u SLUICE_SPOOL SLUICE_CONF=/nonexistent mailq -C "$tmpdir/other")" "in 2 requests" "-C names the configuration folder (its spool setting)"

# An older build's bin/mailq was a link to sendmail.
mkdir "$tmpdir/old"
cp "$top/bin/sendmail" "$tmpdir/old/" && ln -s sendmail "$tmpdir/old/mailq"
rc=0; timeout 10 "$tmpdir/old/mailq" > /dev/null 2> "$tmpdir/log" || rc=$?
is "$rc" 70 "a mailq that is a link to sendmail stops with EX_SOFTWARE"
like "$(cat "$tmpdir/log")" "mailq is a link to sendmail.*install it again" "and says why"
rc=0; timeout 10 "$tmpdir/old/sendmail" -bp > /dev/null 2>&1 || rc=$?
is "$rc" 70 "so does sendmail -bp beside it"

done_testing
