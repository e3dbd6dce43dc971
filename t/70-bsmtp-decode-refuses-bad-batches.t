#!/bin/bash
# sluice-bsmtp-decode passes on a whole, well-formed batch from a tunnel
# sender, and refuses everything else with a reason, exit 100, nothing handed
# to the queue, and the input kept as it came in bsmtp/refused/ with the
# reason beside it: a batch cut short, a missing final ".", DATA without RCPT,
# NUL and bare CR octets (in 7bit text and inside base64), over-long lines,
# XFORWARD and private parameters (X-ROUTE=pipe:...), a forged sender, a
# missing or wrong MAC, content altered after the MAC, relaying to a domain
# not served here, and what is not a tunnel message.  A tunnel inside a
# tunnel is unwrapped one level only.
. "$(dirname "$0")/lib.sh"
# The functions that count tests end pipelines: run them in this shell.
shopt -s lastpipe

conf=$tmpdir/conf spool=$tmpdir/spool echo_dir=$tmpdir/queued
mkdir -p "$conf" "$spool" "$echo_dir"
export SLUICE_CONF=$conf SLUICE_SPOOL=$spool ECHO_DIR=$echo_dir
table config "hostname remote.test" "spool $spool"
table domains remote.test
table bsmtp_senders "postmaster@hub.test secret=s3cret" "open@hub.test" \
    "relay@hub.test secret=s3cret relay"
export SLUICE_QUEUE="$top/t/queue-echo.sh"
msg=$tools/tunnelmsg.py

crlf() { printf '%s\r\n' "$@"; }
good_batch() { crlf 'EHLO hub.test' 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<bob@remote.test>' \
    'DATA' 'Subject: ok' '' 'hello' '.' 'QUIT'; }

queued() { find "$echo_dir" -name '*.msg' | wc -l; }
refused() { find "$spool/bsmtp/refused" -type f ! -name '*.reason' 2>/dev/null | wc -l; }

# refuses NAME REASON-REGEX [DECODE-OPTIONS] < input
refuses() {
    local name=$1 re=$2 q0 r0 rc=0 err
    shift 2
    cat > "$tmpdir/input"
    q0=$(queued) r0=$(refused)
    err=$(sluice-bsmtp-decode "$@" < "$tmpdir/input" 2>&1 >/dev/null) || rc=$?
    is "$rc" 100 "$name: refused (exit 100)"
    like "$err" "$re" "$name: the reason says why"
    is "$(queued)" "$q0" "$name: nothing is handed to the queue"
    local kept
    kept=$(ls -t "$spool"/bsmtp/refused/* 2>/dev/null | grep -v '\.reason$' | head -1)
    if [ "$(refused)" = $((r0 + 1)) ] && cmp -s "$kept" "$tmpdir/input" &&
        [ -s "$kept.reason" ]; then ok 0 "$name: the input is kept as it came, with its reason"
    else ok 1 "$name: the input is kept as it came, with its reason"; fi
    # Refused inputs made in one second by one process share a name: move it.
    [ -n "$kept" ] && mv "$kept" "$kept.$RANDOM" && mv "$kept.reason" "$kept.$RANDOM.reason"
}

accepts() {
    local name=$1 q0 rc=0
    shift
    q0=$(queued)
    sluice-bsmtp-decode "$@" > /dev/null 2>"$tmpdir/err" || rc=$?
    is "$rc" 0 "$name: accepted"
    [ $rc = 0 ] || diag "$(cat "$tmpdir/err")"
    is "$(queued)" $((q0 + 1)) "$name: handed to the queue"
}

# The controls: what the checks must let through.
good_batch | "$msg" --secret s3cret | accepts "a good tunnel message"
good_batch | "$msg" --secret s3cret --cte 7bit --id other.1@hub.test | accepts "a good 7bit tunnel message"
good_batch | "$msg" --from open@hub.test --id open.1@hub.test | accepts "a sender without a secret needs no MAC"

# Truncated or incomplete batches.
crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA' 'Subject: cut' '' 'half a bo' |
    "$msg" --secret s3cret --id t1@hub.test | refuses "a batch cut inside a message" 'does not end with QUIT'
crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA' 'Subject: no dot' '' 'body' 'QUIT' |
    "$msg" --secret s3cret --id t2@hub.test | refuses "a missing final dot" 'no final "\."'
crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'DATA' 'Subject: x' '' '.' 'QUIT' |
    "$msg" --secret s3cret --id t3@hub.test | refuses "DATA without RCPT" 'DATA without recipients'
crlf 'EHLO hub.test' 'QUIT' | "$msg" --secret s3cret --id t4@hub.test |
    refuses "a batch with no transaction" 'no transaction'
printf 'EHLO hub.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<bob@remote.test>\r\nDATA\r\nbody\r\n.\r\nQUI' |
    "$msg" --secret s3cret --id t5@hub.test | refuses "a last line without a line end" 'QUIT|line end'
good_batch | "$msg" --secret s3cret --id t6@hub.test | head -c -20 |
    refuses "base64 cut short" 'cut short|not base64|MAC'

# Octets a batch may not hold.
{ crlf 'EHLO hub.test'; printf 'MAIL FROM:<a\0b@sender.test>\r\n'; crlf 'RCPT TO:<bob@remote.test>' 'DATA' 'x' '.' 'QUIT'; } |
    "$msg" --secret s3cret --cte 7bit --id n1@hub.test | refuses "NUL in a 7bit batch" 'NUL'
{ crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA'; printf 'x\0y\r\n'; crlf '.' 'QUIT'; } |
    "$msg" --secret s3cret --id n2@hub.test | refuses "NUL inside base64" 'NUL'
{ crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA'; printf 'bare\rCR\r\n'; crlf '.' 'QUIT'; } |
    "$msg" --secret s3cret --cte 7bit --id c1@hub.test | refuses "bare CR in a 7bit batch" 'bare CR'
{ crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA'; printf 'bare\rCR\r\n'; crlf '.' 'QUIT'; } |
    "$msg" --secret s3cret --id c2@hub.test | refuses "bare CR inside base64" 'bare CR'

# Over-long lines.
long=$(head -c 1200 /dev/zero | tr '\0' x)
crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA' "$long" '.' 'QUIT' |
    "$msg" --secret s3cret --id l1@hub.test | refuses "a text line over 998 octets" 'text line longer than'
crlf 'EHLO hub.test' "MAIL FROM:<a@sender.test> $(head -c 5000 /dev/zero | tr '\0' y)" 'QUIT' |
    "$msg" --secret s3cret --cte 7bit --id l2@hub.test | refuses "a command line over 4094 octets" 'longer than'

# What only this host may say.
crlf 'EHLO hub.test' 'XFORWARD ADDR=192.0.2.1' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA' 'x' '.' 'QUIT' |
    "$msg" --secret s3cret --id x1@hub.test | refuses "XFORWARD in a batch" 'XFORWARD'
crlf 'EHLO hub.test' 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test> X-ROUTE=pipe:/bin/sh' 'DATA' 'x' '.' 'QUIT' |
    "$msg" --secret s3cret --id x2@hub.test | refuses "X-ROUTE=pipe: in a batch" 'private parameter X-ROUTE'

# Who sent it.
good_batch | "$msg" --from evil@hub.test --id f1@hub.test | refuses "a sender not in bsmtp_senders" '5\.7\.1 .*not a tunnel sender'
good_batch | "$msg" --mac 0000000000000000000000000000000000000000000000000000000000000000 --id f2@hub.test |
    refuses "a forged MAC" '5\.7\.1 the MAC does not match'
good_batch | "$msg" --secret guessed --id f3@hub.test | refuses "a MAC made with another secret" 'MAC does not match'
good_batch | "$msg" --id f4@hub.test | refuses "no MAC from a sender with a secret" 'no X-Sluice-Tunnel-MAC'
good_batch | "$msg" --secret s3cret --cte 7bit --id f5@hub.test | sed 's/^hello/HELLO/' |
    refuses "content altered after the MAC" 'MAC does not match'
good_batch | "$msg" --secret s3cret --id f6@hub.test --extra 'From: other@hub.test' |
    refuses "two From: addresses" 'not one address'
good_batch | sed 's/bob@remote.test/bob@elsewhere.test/' | "$msg" --secret s3cret --id r1@hub.test |
    refuses "relaying to a domain not served here" '5\.7\.1 .*relaying denied for <bob@elsewhere.test>'
good_batch | sed 's/bob@remote.test/bob@elsewhere.test/' | "$msg" --from relay@hub.test --secret s3cret --id r2@hub.test |
    accepts "a sender marked relay may send anywhere"

# Not a tunnel message at all.
good_batch | "$msg" --secret s3cret --ctype text/plain --id m1@hub.test | refuses "text/plain" 'not a tunnel message'
good_batch | "$msg" --secret s3cret --id m2@hub.test --extra 'Content-Type: text/plain' | refuses "two Content-Type fields" 'twice'
good_batch | "$msg" --secret s3cret --cte quoted-printable --id m3@hub.test | refuses "an unknown transfer encoding" 'Content-Transfer-Encoding'
printf 'From alice@sender.test Thu Jan  1 00:00:00 2026\r\n' | cat - <(good_batch | "$msg" --secret s3cret --id m4@hub.test) |
    refuses "an mbox From_ line before the header" 'not a field'

# Empty input: refused, with nothing to keep.
r0=$(refused) rc=0
sluice-bsmtp-decode < /dev/null 2>/dev/null || rc=$?
is "$rc" 100 "empty input is refused"
is "$(refused)" "$r0" "and leaves no file in refused/"

# A plain batch (-b) is checked as strictly, and a truncated one is refused,
# not retried: the file will not grow.
crlf 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA' 'x' |
    refuses "-b: a plain batch without its final dot" 'no final' -b
crlf 'MAIL FROM:<a@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA' 'x' '.' | accepts "-b: a plain batch" -b

# A tunnel in a tunnel: the inner tunnel message is a message like any
# other, delivered to the outer batch's recipient; its batch is not obeyed.
crlf 'EHLO evil.test' 'MAIL FROM:<x@evil.test>' 'RCPT TO:<victim@remote.test>' 'DATA' 'Subject: inner' '' 'inner' '.' 'QUIT' |
    "$msg" --from postmaster@hub.test --id inner.1@hub.test > "$tmpdir/inner"
{ crlf 'EHLO hub.test' 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<bob@remote.test>' 'DATA'
  sed 's/^\./../' "$tmpdir/inner"; crlf '.' 'QUIT'; } | "$msg" --secret s3cret --id outer.1@hub.test |
    accepts "a tunnel inside a tunnel"
last=$(ls -t "$echo_dir"/*.msg | head -1)
is "$(grep -c '^MAIL FROM:' "$last")" 1 "the nested tunnel makes one transaction"
grep -q '^RCPT TO:<bob@remote.test>$' "$last" && ! grep -q 'victim' <(grep '^RCPT' "$last")
ok $? "for the outer batch's recipient only"
grep -q '^Content-Type: application/batch-SMTP' "$last"
ok $? "with the inner tunnel message as its content"
done_testing
