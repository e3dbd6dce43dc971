#!/bin/bash
# sluice-alias: lookup order, domain aliases, +detail, lists, nesting, depth,
# cycles, :include:, pipes and files, postmaster, unknown users, loops,
# splitting.  Golden files (t/README): t/data/alias/NAME.in -> NAME.out,
# compared in the summary form of t/tools/summary.sh (envelopes and RFC 3464
# fields).  GOLDEN_UPDATE=1 rewrites the .out files (review the diff).
. "$(dirname "$0")/lib.sh"

plan 47

. "$top/t/alias.sh"
cp "$data/list.txt" "$conf/"
for i in $(seq 1500); do echo "member$i@remote.test"; done > "$conf/big.txt"
# Include files writable by others are refused: not at the mercy of a umask.
chmod 644 "$conf/list.txt" "$conf/big.txt"


# golden NAME OUT WHAT: the stage on NAME.in gives OUT.out in summary form.
golden_filter=$tools/summary.sh
g() { golden "$data/$1" "$data/$2" "$3" sluice-alias; }

g order order "lookup order: exact, local@, @domain, @.parent; users are not caught"
g domalias domalias "domain alias is one way and keeps the user's own mailbox"
g detail detail "+detail: exact key with detail first, then the base; unknown base bounces"
config 'recipient_delimiter +-'
g detail detail-delims "recipient_delimiter lists several delimiter characters"
config 'recipient_delimiter'
g detail detail-off "an empty recipient_delimiter turns +detail off"
config
g multi multi "several targets, nested, unqualified names, NOTIFY and ORCPT kept"
g depth depth "nesting within alias_max_depth is followed"
config 'alias_max_depth 3'
g depth depth3 "nesting beyond alias_max_depth bounces 5.4.6"
config
g cycle cycle "a cycle delivers to the alias's own address once"
g include include ":include: lists; pipes and files only from the table"
g unknown unknown "postmaster passes, unknown local users bounce 5.1.1 (NOTIFY, ORCPT honoured)"
g loop-dt loop-dt "Delivered-To loop bounces 5.4.6 to the sender"
g loop-rcv loop-rcv "more than max_received of our Received: fields bounce 5.4.6"
g noloop noloop "max_received of our Received: fields is not yet a loop"
config 'loop_to_postmaster yes'
g loop-rcv loop-rcv-pm "loop_to_postmaster sends loop bounces to the postmaster"
g loop-dt loop-dt-pm "loop_to_postmaster covers Delivered-To loops"
config 'local_default_channel smtp:[mailhub.test]'
g unknown unknown-mailhub "with another local_default_channel unknown users pass on"
config

# ---- the message itself ----
sluice-alias < "$data/multi.in" > "$tmpdir/out" 2>/dev/null
sed -n '/^DATA$/,$p' "$data/multi.in" > "$tmpdir/body.in"
sed -n '/^DATA$/,$p' "$tmpdir/out" > "$tmpdir/body.out"
cmp -s "$tmpdir/body.in" "$tmpdir/body.out"
ok $? "the message passes through unchanged, dot-stuffing kept"

grep -q '^RCPT TO:<cmd@example.test> ORCPT=rfc822;cmd@example.test X-EXPANDED=1 X-ROUTE=pipe:/usr/bin/procmail+20-a+20x,+20y$' <(sluice-alias < "$data/include.in" 2>/dev/null)
ok $? "a |command becomes X-ROUTE=pipe:, quoted commas kept"
err=$(sluice-alias < "$data/include.in" 2>&1 >/dev/null)
like "$err" 'target="\|/bin/evil" refused=' "a pipe in an include file is refused and logged"
like "$err" 'target="/etc/passwd" refused=' "a file in an include file is refused and logged"
like "$err" 'target=":include:/etc/shadow" refused=' "an include in an include file is refused"
like "$err" 'alias=badcmd@example.test target="\|relative/cmd" refused=' "a pipe needs an absolute path"

# An escaped quote inside a quoted local part does not end the quotes.
printf 'MAIL FROM:<s@example.org>\nRCPT TO:<qesc@example.test>\nDATA\nx\n.\n' > "$tmpdir/qesc.in"
is "$(sluice-alias < "$tmpdir/qesc.in" 2>/dev/null | grep -o '^RCPT TO:<[^>]*>' | tr '\n' ' ')" \
    'RCPT TO:<"a\",b"@remote.test> RCPT TO:<plain@remote.test> ' \
    'a comma after an escaped quote inside quotes does not split the target'

# ---- a missing include file holds the mail: exit 111 ----
sed 's/<list@/<missing@/' "$data/include.in" > "$tmpdir/missing.in"
rc=0; err=$(sluice-alias < "$tmpdir/missing.in" 2>&1 >/dev/null) || rc=$?
is "$rc" 111 "a missing include file is a temporary failure"
like "$err" 'sluice-alias: fatal: 4\.3\.0 unable to open include file .*/no-such-file' "and says which file"
# A FIFO where the list should be must not hang the chain: refused, mail waits.
mkfifo "$conf/no-such-file"
rc=0; err=$(timeout 20 sluice-alias < "$tmpdir/missing.in" 2>&1 >/dev/null) || rc=$?
is "$rc" 111 "an include file that is a FIFO is a temporary failure, not a hang"
like "$err" 'include file .*/no-such-file for missing@example\.test is not a regular file' "and says why"
rm -f "$conf/no-such-file"

# ---- whoever can write an include file decides where mail goes ----
chmod 664 "$conf/list.txt"
rc=0; err=$(sluice-alias < "$data/include.in" 2>&1 >/dev/null) || rc=$?
is "$rc" 111 "a group-writable include file is a temporary failure"
like "$err" 'fatal: 4\.3\.0 include file .*/list\.txt for list@example\.test is writable by group or others' "and says why"
chmod 646 "$conf/list.txt"
rc=0; sluice-alias < "$data/include.in" > /dev/null 2>&1 || rc=$?
is "$rc" 111 "a world-writable include file is a temporary failure"
chmod 644 "$conf/list.txt"
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
    chown nobody "$conf/list.txt"
    rc=0; err=$(sluice-alias < "$data/include.in" 2>&1 >/dev/null) || rc=$?
    chown 0 "$conf/list.txt"
    is "$rc" 111 "an include file owned by another user is a temporary failure"
    like "$err" "include file .*/list\\.txt for list@example\\.test is owned by uid $(id -u nobody), neither root nor the user sluice-alias runs as \\(uid 0\\)" "and says why"
else
    skip "chown to another user needs root" 2
fi

# ---- idempotence: a second pass (after a retry) changes nothing ----
for n in multi cycle include domalias; do
    sluice-alias < "$data/$n.in" 2>/dev/null | sed -n '1,/^DATA$/p' > "$tmpdir/one"
    { sluice-alias < "$data/$n.in" 2>/dev/null | awk '/^MAIL FROM:<> X-NOTICE/{exit} {print}' | sluice-alias 2>/dev/null | sed -n '1,/^DATA$/p'; } > "$tmpdir/two"
    # Two empty outputs would compare equal too: the first must carry recipients.
    grep -q '^RCPT TO:' "$tmpdir/one" && cmp -s "$tmpdir/one" "$tmpdir/two"
    ok $? "a second pass over $n changes no recipient (X-EXPANDED)"
done

# ---- splitting above STREAM_RCPT_MAX ----
{ echo 'XFORWARD IDENT=0691f3a2c0a1b2c0001234'; echo 'MAIL FROM:<alice@sender.test>'
  echo 'RCPT TO:<big@example.test>'; echo 'RCPT TO:<robert@example.test>'
  echo DATA; echo 'Subject: big'; echo; echo 'the body'; echo .; } > "$tmpdir/big.in"
rc=0; sluice-alias < "$tmpdir/big.in" > "$tmpdir/out" 2>/dev/null || rc=$?
is "$rc" 0 "1501 recipients expand without error"
is "$(grep -c '^MAIL FROM:<alice@sender.test>$' "$tmpdir/out")" 2 "they are split into two transactions"
is "$(awk '/^MAIL/{n++} /^RCPT/{c[n]++} END{print c[1], c[2]}' "$tmpdir/out")" "1000 501" "of 1000 and 501 recipients"
is "$(grep -c '^the body$' "$tmpdir/out")" 2 "each with the whole message"
is "$(grep '^RCPT' "$tmpdir/out" | sort -u | wc -l)" 1501 "no recipient lost or doubled"
is "$(grep -c '^XFORWARD IDENT=0691f3a2c0a1b2c0001234$' "$tmpdir/out")" 2 "both keep the queue id"

# ---- streams: empty, several transactions, truncated ----
is "$(sluice-alias < /dev/null | wc -c)" 0 "an empty stream gives an empty stream"
cat "$data/order.in" "$data/cycle.in" | sluice-alias 2>/dev/null | "$tools/summary.sh" > "$tmpdir/got"
cat "$data/order.out" "$data/cycle.out" > "$tmpdir/want"
cmp -s "$tmpdir/want" "$tmpdir/got"
ok $? "two transactions in one stream are each expanded"
head -n -1 "$data/order.in" > "$tmpdir/trunc.in"
rc=0; sluice-alias < "$tmpdir/trunc.in" > /dev/null 2>&1 || rc=$?
is "$rc" 111 "a truncated stream is a temporary failure"

# ---- the header limit: a 2 MB header block streams through ----
{ echo 'MAIL FROM:<alice@sender.test>'; echo 'RCPT TO:<robert@example.test>'; echo DATA
  yes 'X-Filler: 0123456789012345678901234567890123456789012345678901234567890123456789' | head -n 28000
  echo; echo body; echo .; } > "$tmpdir/hdr.in"
sluice-alias < "$tmpdir/hdr.in" 2>/dev/null | sed -n '/^DATA$/,$p' > "$tmpdir/hdr.out"
sed -n '/^DATA$/,$p' "$tmpdir/hdr.in" | cmp -s - "$tmpdir/hdr.out"
ok $? "a header block above the 1 MB limit passes through whole"
