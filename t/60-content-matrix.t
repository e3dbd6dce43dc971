#!/bin/bash
# The channel action matrix (table content, sluice-content(5)) decides which
# content stage acts on which mail: by source (a relay client, a client from
# the Internet, a local submission, imported mail, a network) and by the
# channel of each recipient (local, smtp, pipe).  In a real chain run
# (sluice-runq: envelope | alias | route | attach | disclaimer | local), a
# message for recipients on several channels is split: each recipient gets
# what its channel's row says, and nobody is lost.  Before the queue
# (sluice-smtpd, SLUICE_QUEUE='STAGE -- sluice-enqueue') no recipient has a
# channel yet, so only "any" rows act there.  sluice-scan asks the matrix
# too: a message it must not scan is not sent to the (unreachable) scanner.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/content.sh"
. "$(dirname "$0")/smtpd.sh"

export SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$tmpdir/spool"/{tmp,incoming,deferred,bad,dead,quarantine} "$tmpdir/mail" "$tmpdir/pipe"
chmod 777 "$tmpdir/pipe"
content_conf c attach_block '*.vbs' disclaimer_text disclaimer.txt mailroot "$tmpdir/mail" \
    chain 'sluice-envelope | sluice-alias | sluice-route | sluice-attach | sluice-disclaimer | sluice-local' \
    delay_warning 0
export SLUICE_CONF=$tmpdir/c
content_table c domains <<< 'example.test'
content_table c users <<'EOF2'
bob@example.test	bob/
dave@example.test	dave/
EOF2
content_table c routes <<EOF2
pipe.test	pipe:/usr/bin/tee -a $tmpdir/pipe/out
EOF2
content_table c access <<'EOF2'
10.1	relay
EOF2
content_table c content <<'EOF2'
# stage       rules
disclaimer    from=relay,local to=smtp,pipe
attach        from=internet to=local; from=imported
EOF2

body=$(sed '1,3d;$d' "$data/mixed.in")     # the body, with run.vbs
txn() {     # txn "XFORWARD line or empty" RCPT...
    local x=$1 r
    shift
    [ -n "$x" ] && printf '%s\n' "$x"
    printf 'MAIL FROM:<alice@example.test>\n'
    for r in "$@"; do printf 'RCPT TO:<%s>\n' "$r"; done
    printf 'DATA\n%s\n.\n' "$body"
}
{
    txn "XFORWARD ADDR=10.1.2.3 PROTO=ESMTP IDENT=relay" bob@example.test carol@remote.test x@pipe.test
    txn "XFORWARD ADDR=203.0.113.9 PROTO=ESMTP" dave@example.test carol@remote.test
} > "$tmpdir/clients.in"
sluice-enqueue < "$tmpdir/clients.in" 2>> "$tmpdir/enq.log" || bail "sluice-enqueue failed"
sluice-runq -1 -f 2>> "$tmpdir/runq.log"
ok $? "the chain runs"

# has FILE: "vbs" when run.vbs is still there, "disc" when the disclaimer is
has() {
    local v=no d=no
    grep -q 'filename="run.vbs"' "$1" && v=vbs
    grep -q 'confidential' "$1" && d=disc
    echo "$v $d"
}
bob=$(ls "$tmpdir"/mail/bob/new/* 2>/dev/null | head -1)
dave=$(ls "$tmpdir"/mail/dave/new/* 2>/dev/null | head -1)
is "$(has "$bob")" "vbs no" "relay client, local channel: neither stage acts"
is "$(has "$tmpdir/pipe/out")" "vbs disc" "relay client, pipe channel: the disclaimer only"
is "$(has "$dave")" "no no" "Internet client, local channel: the attachment is removed, no disclaimer"
deferred=$(ls "$tmpdir/spool/deferred" | wc -l)
is "$deferred" 2 "the two remote copies wait in deferred/ (nobody is lost)"
for f in "$tmpdir"/spool/deferred/*; do
    case $(grep -m1 '^XFORWARD' "$f") in
    *ADDR=10.1.2.3*) is "$(grep -c '^RCPT' "$f") $(has "$f")" "1 vbs disc" \
        "relay client, smtp channel: the disclaimer, the attachment kept" ;;
    *) is "$(grep -c '^RCPT' "$f") $(has "$f")" "1 vbs no" \
        "Internet client, smtp channel: neither" ;;
    esac
done
like "$(cat "$tmpdir/runq.log")" 'sluice-attach: qid=[0-9a-f]+ stage=attach acts_on=1 passed=1' \
    "attach acted on one of the Internet message's two recipients"
msgcheck "$bob" "$dave" "$tmpdir"/spool/deferred/* > "$tmpdir/read"
unlike "$(cat "$tmpdir/read")" unreadable "Python reads every copy"

# Local submission and imported mail (no client address).
rm -f "$tmpdir"/spool/deferred/*
{
    txn "XFORWARD PROTO=LOCAL SOURCE=LOCAL" carol@remote.test
    txn "" dave@example.test
} | sluice-enqueue 2>> "$tmpdir/enq.log"
sluice-runq -1 -f 2>> "$tmpdir/runq.log"
f=$(ls "$tmpdir"/spool/deferred/* | head -1)
is "$(has "$f")" "vbs disc" "local submission, smtp channel: the disclaimer"
dave2=$(ls -t "$tmpdir"/mail/dave/new/* | head -1)
is "$(ls "$tmpdir"/mail/dave/new | wc -l) $(has "$dave2")" "2 no no" \
    "imported mail: the attachment removed on any channel"

# A table that does not parse stops the stage (111), before it reads.
content_table c content <<< 'attach from=everybody'
sluice-attach < "$tmpdir/clients.in" > /dev/null 2> "$tmpdir/bad.err"
like "$? $(cat "$tmpdir/bad.err")" '^111 .*4\.3\.5 table content: row attach: not understood: "everybody"' \
    "a bad row: 4.3.5 and exit 111"
# No table: every stage acts on everything, as before.
rm -f "$tmpdir/c/content.cdb"
sluice-attach < "$tmpdir/clients.in" 2>/dev/null | grep -c '^X-Sluice-Attach' > "$tmpdir/n"
is "$(cat "$tmpdir/n")" 2 "with no table, sluice-attach acts on every message"

# sluice-scan asks the matrix: what it must not scan passes without clamd.
content_conf s scan_clamd "$tmpdir/nowhere.sock"
content_table s access <<< '10.1 relay'
content_table s content <<< 'scan from=internet'
SLUICE_CONF=$tmpdir/s sluice-scan < <(txn "XFORWARD ADDR=10.1.2.3 PROTO=ESMTP" bob@example.test) \
    > "$tmpdir/s.out" 2>/dev/null
ok $? "sluice-scan passes a relay client's message it is not to scan (clamd is unreachable)"
SLUICE_CONF=$tmpdir/s sluice-scan < <(txn "XFORWARD ADDR=203.0.113.9 PROTO=ESMTP" bob@example.test) \
    > /dev/null 2>&1
is $? 111 "and defers an Internet client's message, which it must scan"

# ---- before the queue, through sluice-smtpd
send() {    # send PORT: one message with run.vbs over SMTP; "CODE TEXT"
    bq_send "$1" alice@example.test bob@example.test < "$data/mixed.in"
}
bq() {      # bq NAME ACCESS CONTENT-ROW QUEUE: a server with that table
    smtpd_conf "$1" attach_block '*.vbs' attach_action reject \
        disclaimer_text "$data/disclaimer.txt"
    printf '%s\n' "$2" > "$tmpdir/$1/access"
    sluice-mkcdb -o "$tmpdir/$1/access.cdb" "$tmpdir/$1/access"
    content_table "$1" content <<< "$3"
    bq_start port "$1" "$4"
}
bq b1 '' 'attach from=internet' sluice-attach
like "$(send "$port")" "^554 5\.7\.1 message refused: it holds parts not accepted here: 'run.vbs'" \
    "before the queue, a client the access table does not know: 554 5.7.1"
is "$(bq_queued)" 0 "nothing queued"
bq b2 '127 relay' 'attach from=internet' sluice-attach
is "$(send "$port")" "250 queued" "a relay client: accepted"
f=$(ls "$tmpdir"/spool/incoming/* | head -1)
is "$(bq_queued) $(has "$f")" "1 vbs no" "queued with its attachment"
rm -f "$tmpdir"/spool/incoming/*
bq b3 '127 relay' 'disclaimer from=relay to=smtp' sluice-disclaimer
send "$port" > /dev/null
f=$(ls "$tmpdir"/spool/incoming/* | head -1)
is "$(has "$f")" "vbs no" "before the queue no recipient has a channel: a to=smtp row does not act"
rm -f "$tmpdir"/spool/incoming/*
bq b4 '127 relay' 'disclaimer from=relay,auth' sluice-disclaimer
send "$port" > /dev/null
f=$(ls "$tmpdir"/spool/incoming/* | head -1)
is "$(has "$f")" "vbs disc" "a row for any channel acts before the queue"
done_testing
