#!/bin/bash
# sluice-route: a channel for every recipient from the tables routes,
# domains and users.  Golden files (t/README): t/data/route/NAME.in ->
# NAME.out in the summary form of t/tools/summary.sh.  GOLDEN_UPDATE=1
# rewrites them.
. "$(dirname "$0")/lib.sh"

plan 21

data=$top/t/data/route
conf=$tmpdir/conf
mkdir -p "$conf"
export SLUICE_CONF=$conf TMPDIR=$tmpdir
for f in routes domains users; do
    cp "$data/$f" "$conf/$f"
    sluice-mkcdb "$conf/$f" || bail "sluice-mkcdb $f"
done

config() {
    { cat "$data/config"; printf '%s\n' "$@"; } > "$conf/config"
    sluice-mkcdb "$conf/config" || bail "sluice-mkcdb config"
}
config

# golden NAME OUT WHAT: the stage on NAME.in gives OUT.out in summary form.
golden_filter=$tools/summary.sh
g() { golden "$data/$1" "$data/$2" "$3" sluice-route; }

g channels channels "routes: smtp relay and port, smtp MX, bsmtp, pipe, defer, local, per address"
g local local "local domains and *.domain (not the domain itself), users, postmaster, Internet default"
g error error "error: routes bounce with their status (NOTIFY, ORCPT honoured)"
g allerror allerror "a transaction whose every recipient bounces leaves only the bounce"
g invalid invalid "invalid routes entries defer the recipient with 4.3.5"
g keep keep "pipe:, file:, local routes are kept; an old defer: is decided again"
config 'local_default_channel smtp:[mailhub.test]'
g local local-mailhub "local_default_channel takes local recipients with no mailbox"
config 'internet_channel smtp:[smarthost.test]:587'
g local local-smarthost "internet_channel takes every other recipient"
config

# ---- the message passes through unchanged ----
sluice-route < "$data/channels.in" > "$tmpdir/out" 2>/dev/null
sed -n '/^DATA$/,$p' "$data/channels.in" | cmp -s - <(sed -n '/^DATA$/,$p' "$tmpdir/out")
ok $? "the message passes through unchanged, dot-stuffing kept"
sluice-route < "$data/error.in" > "$tmpdir/out" 2>/dev/null
is "$(sed -n '/^DATA$/,/^\.$/p' "$tmpdir/out" | head -n 5 | tr '\n' '|')" \
   "DATA|Subject: error||..dot|body|" "the remaining recipients keep the whole message after a bounce"

# ---- logs ----
err=$(sluice-route < "$data/invalid.in" 2>&1 >/dev/null)
like "$err" 'sluice-route: warning: qid=0691f3a2c0a1b2c0001234 rcpt=x@bad1\.test bad route="frobnicate:x" reason="unknown channel"' "an invalid entry is logged with its reason"
err=$(sluice-route < "$data/channels.in" 2>&1 >/dev/null)
like "$err" 'sluice-route: qid=0691f3a2c0a1b2c0001234 rcpt=x@relay\.test route=smtp:\[relay\.example\]:2525' "each decision is logged with the queue id"

# ---- a second pass decides the same ----
for n in channels local; do
    sluice-route < "$data/$n.in" 2>/dev/null > "$tmpdir/one"
    sluice-route < "$tmpdir/one" 2>/dev/null | cmp -s "$tmpdir/one" -
    ok $? "a second pass over $n changes nothing"
done

# ---- settings that are not routes ----
# sluice-mkcdb refuses it; a table compiled another way is refused at start.
{ cat "$data/config"; echo 'local_default_channel nowhere'; } > "$conf/config"
rc=0; err=$(sluice-mkcdb "$conf/config" 2>&1) || rc=$?
is "$rc" 100 "sluice-mkcdb refuses an invalid local_default_channel"
sluice-mkcdb -o "$conf/config.cdb" - < "$conf/config"
rc=0; err=$(sluice-route < "$data/local.in" 2>&1 >/dev/null) || rc=$?
is "$rc" 111 "an invalid local_default_channel is a temporary failure"
like "$err" 'fatal: .*/config:[0-9]+: setting local_default_channel: bad value "nowhere"' "and says which setting"
config

# ---- streams ----
is "$(sluice-route < /dev/null | wc -c)" 0 "an empty stream gives an empty stream"
head -n -1 "$data/local.in" > "$tmpdir/trunc.in"
rc=0; sluice-route < "$tmpdir/trunc.in" > /dev/null 2>&1 || rc=$?
is "$rc" 111 "a truncated stream is a temporary failure"
cat "$data/local.in" "$data/channels.in" | sluice-route 2>/dev/null | "$tools/summary.sh" > "$tmpdir/got"
cat "$data/local.out" "$data/channels.out" | cmp -s - "$tmpdir/got"
ok $? "two transactions in one stream are each routed"

# ---- the chain: alias then route ----
printf 'example.test\n' > "$conf/domains"; sluice-mkcdb "$conf/domains"
printf 'cmd@example.test\t"|/bin/prog arg"\n' > "$conf/aliases"; sluice-mkcdb "$conf/aliases"
printf 'MAIL FROM:<a@sender.test>\nRCPT TO:<cmd@example.test>\nRCPT TO:<bob@example.test>\nDATA\nx\n.\n' |
    sluice-alias 2>/dev/null | sluice-route 2>/dev/null | grep '^RCPT' > "$tmpdir/got"
printf '%s\n' 'RCPT TO:<cmd@example.test> ORCPT=rfc822;cmd@example.test X-EXPANDED=1 X-ROUTE=pipe:/bin/prog+20arg' \
    'RCPT TO:<bob@example.test> X-ROUTE=local' | diff -u - "$tmpdir/got" > "$tmpdir/diff"
ok $? "sluice-alias | sluice-route: the alias's pipe route is kept" || diag "$(cat "$tmpdir/diff")"
