#!/bin/bash
# A double bounce whose postmaster is an alias (postmaster -> root ->
# a command that fails) must not be bounced again to the postmaster: after
# alias expansion its first recipient is root, no longer the postmaster, so
# each failure made a new double bounce, for ever (a mail loop).  It must
# go to dead/ instead, once.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
conf=$SLUICE_CONF sp=$SLUICE_SPOOL
mkdir -p "$conf"
{
    printf 'hostname mx.example.test\nmailroot %s\npostmaster postmaster@example.test\n' "$tmpdir/mail"
    echo "chain sluice-envelope | sluice-alias | sluice-route | sluice-local"
    echo "delay_warning 0"
} > "$conf/config"
sluice-mkcdb "$conf/config" || bail "sluice-mkcdb config"
echo example.test > "$conf/domains"
printf 'sender@example.test sender/\n' > "$conf/users"
cat > "$conf/aliases" <<EOT
postmaster@example.test	root@example.test
root@example.test	"|/bin/false"
EOT
for t in domains users aliases; do sluice-mkcdb "$conf/$t" || bail "sluice-mkcdb $t"; done

plan 3
# A double bounce, as sluice-runq or a stage writes it.
printf 'MAIL FROM:<> X-NOTICE=bounce\nRCPT TO:<postmaster@example.test>\nDATA\nSubject: double\n\nbody\n.\n' |
    sluice-enqueue 2>>"$tmpdir/enqueue.log" || bail "sluice-enqueue: $(cat "$tmpdir/enqueue.log")"
# A loop would keep a run-once busy for ever: bound it.
timeout 60 sluice-runq -1 </dev/null 2>>"$tmpdir/runq.log"
rc=$?
ok $([ "$rc" -ne 124 ]; echo $?) "sluice-runq -1 ends (no bounce loop; exit $rc)"
n=$(grep -c 'status=bounced' "$tmpdir/runq.log")
is "$(grep -o 'to=<root@example.test> status=bounced' "$tmpdir/runq.log" | wc -l)" 1 "the command runs once for the double bounce"
is "$(find "$sp/dead" -type f | wc -l)" 1 "the failed double bounce is kept in dead/"
[ "$rc" -eq 124 ] && diag "$(tail -5 "$tmpdir/runq.log")"
