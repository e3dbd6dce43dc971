#!/bin/bash
# sluice-local removes from the tmp/ of a Maildir it delivers into the files
# untouched for 36 hours (maildir(5)), what killed deliveries left there, and
# keeps the fresh ones (deliveries in progress).  It reads tmp/ at most once
# an hour per Maildir: the atime of tmp/ stamps its last look.
. "$(dirname "$0")/lib.sh"
plan 8

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
mr=$tmpdir/mail
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $mr
EOT
echo example.test > "$SLUICE_CONF/domains"
echo "alice@example.test alice/" > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done

deliver() {
    printf 'MAIL FROM:<s@example.org>\nRCPT TO:<alice@example.test>\nDATA\nSubject: %s\n\nhi\n.\n' "$1" |
        sluice-local > "$tmpdir/out" 2> "$tmpdir/err"
}
md=$mr/alice
mkdir -p "$md"/{tmp,new,cur}
echo leftover > "$md/tmp/1700000000.M1P1Q1.mx.example.test"
touch -d '2 days ago' "$md/tmp/1700000000.M1P1Q1.mx.example.test"
echo writing > "$md/tmp/fresh"
touch -d '30 hours ago' "$md/tmp/fresh"
# tmp/ last looked at two hours ago.
touch -a -d '2 hours ago' "$md/tmp"

deliver one
is "$?" 0 "a delivery exits 0"
is "$(ls "$md/new" | wc -l)" 1 "the message is in new/"
ok $([ ! -e "$md/tmp/1700000000.M1P1Q1.mx.example.test" ]; echo $?) "the file untouched for two days is removed from tmp/"
ok $([ -e "$md/tmp/fresh" ]; echo $?) "the file touched 30 hours ago is kept"
like "$(cat "$tmpdir/err")" "removed $md/tmp/1700000000.M1P1Q1.mx.example.test: untouched for 36 hours" \
    "the removal is logged"
is "$(( $(date +%s) - $(stat -c %X "$md/tmp") < 60 ))" 1 "tmp/ is stamped with the time of the look"

# Within the hour tmp/ is not read again: each delivery costs one stat.
echo leftover > "$md/tmp/old2"
touch -d '2 days ago' "$md/tmp/old2"
deliver two
is "$(ls "$md/new" | wc -l)" 2 "the next delivery lands"
ok $([ -e "$md/tmp/old2" ]; echo $?) "and leaves tmp/ alone, looked at less than an hour ago"
