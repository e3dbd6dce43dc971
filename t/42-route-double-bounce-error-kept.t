#!/bin/bash
# A double bounce whose postmaster is routed to error: (table
# routes) could be told to nobody, and sluice-route dropped its recipient
# (logged failed-double-bounce-lost): the message was gone.  As sluice-alias,
# -local and -smtp do, the recipient must stay with its 5.x.x X-DEFER, so
# that sluice-runq keeps the message in dead/ for the postmaster.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
conf=$SLUICE_CONF sp=$SLUICE_SPOOL
mkdir -p "$conf"
{
    printf 'hostname mx.example.test\nmailroot %s\npostmaster postmaster@example.test\n' "$tmpdir/mail"
    echo "chain sluice-envelope | sluice-route | sluice-local"
    echo "delay_warning 0"
} > "$conf/config"
sluice-mkcdb "$conf/config" || bail "sluice-mkcdb config"
echo example.test > "$conf/domains"
printf 'sender@example.test sender/\n' > "$conf/users"
printf 'postmaster@example.test error:5.1.1 this mailbox is gone\n' > "$conf/routes"
for t in domains users routes; do sluice-mkcdb "$conf/$t" || bail "sluice-mkcdb $t"; done

plan 4
dbl='MAIL FROM:<> X-NOTICE=bounce\nRCPT TO:<postmaster@example.test>\nDATA\nSubject: double\n\nbody\n.\n'
# The stage alone.
printf "XFORWARD IDENT=06b000000000000000001\n$dbl" | sluice-route > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 0 "sluice-route exits 0"
like "$(cat "$tmpdir/out")" 'RCPT TO:<postmaster@example.test>.* X-DEFER=5\.1\.1' \
    "the failed double bounce's recipient stays, with its 5.1.1 X-DEFER"

# End to end.
printf "$dbl" | sluice-enqueue 2>>"$tmpdir/enqueue.log" || bail "sluice-enqueue: $(cat "$tmpdir/enqueue.log")"
timeout 60 sluice-runq -1 </dev/null 2>>"$tmpdir/runq.log"
is "$(find "$sp/dead" -type f | wc -l)" 1 "the failed double bounce is kept in dead/"
is "$(find "$sp/incoming" "$sp/deferred" -type f | wc -l)" 0 "and nothing waits in the queue"
[ -s "$sp/dead" ] || diag "$(cat "$tmpdir/err" "$tmpdir/runq.log")"
