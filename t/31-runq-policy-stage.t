#!/bin/bash
# sluice-runq runs the policy stage, sluice-retry, at the end of every
# chain (added when the chain does not end with it, never twice), and does
# what its output says: a remainder with MAIL X-RETRY=T waits in deferred/
# with mtime T, one with X-DEAD goes to dead/, and neither parameter is
# left in the queue file.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$tmpdir/bin"
sp=$SLUICE_SPOOL

# A transport that defers every recipient.
cat > "$tmpdir/defer" <<'EOT'
#!/bin/sh
exec sed -E '/^RCPT TO:/{s/ X-DEFER=[^ ]*//;s/$/ X-DEFER=4.4.1+20connection+20refused/;}'
EOT
# A policy stage of our own, named like the real one: X-RETRY=$FAKE_RETRY,
# and X-DEAD=1 as well when FAKE_DEAD is set.
cat > "$tmpdir/bin/sluice-retry" <<'EOT'
#!/bin/sh
exec sed -E "/^MAIL FROM:/s/\$/ X-RETRY=$FAKE_RETRY${FAKE_DEAD:+ X-DEAD=1}/"
EOT
chmod +x "$tmpdir/defer" "$tmpdir/bin/sluice-retry"

config() {
    printf '%s\n' "hostname mx.example.test" "retry_min 10s" "retry_max 1h" \
        "delay_warning 0" "chain $1" > "$SLUICE_CONF/config"
    sluice-mkcdb "$SLUICE_CONF/config"
}
msg() { printf 'MAIL FROM:<s@example.org>\nRCPT TO:<far@remote.example>\nDATA\nSubject: %s\n\nhi\n.\n' "$1"; }
runq() { : > "$tmpdir/runq.log"; sluice-runq -1 -f 2>>"$tmpdir/runq.log"; }
only() { ls "$sp/$1"; }

# A chain written before there was a policy stage still gets it.
config "$tmpdir/defer"
msg old-chain | sluice-enqueue 2>/dev/null
now=$(date +%s)
runq
q=$(only deferred)
is "$(echo "$q" | grep -c .)" 1 "a chain without sluice-retry: the remainder is deferred"
like "$(cat "$tmpdir/runq.log")" "sluice-retry: qid=$q status=deferred nrcpt=1 delay=[0-9]+ next=10s" \
    "sluice-retry was added at its end and gave the retry time"
d=$(( $(stat -c %Y "$sp/deferred/$q") - now ))
ok $([ "$d" -ge 9 ] && [ "$d" -le 12 ]; echo $?) "the file's mtime is that time (+${d}s)"
unlike "$(grep '^MAIL' "$sp/deferred/$q")" "X-RETRY|X-DEAD" "the queue file keeps no X-RETRY"
rm -f "$sp"/deferred/*

# A chain that names it runs it once.
config "$tmpdir/defer | sluice-retry"
msg named | sluice-enqueue 2>/dev/null
runq
is "$(grep -c 'sluice-retry: qid=.* status=deferred' "$tmpdir/runq.log")" 1 \
    "a chain that ends with sluice-retry runs it once"
rm -f "$sp"/deferred/*

# The runner does what the policy stage says, whatever the time.
config "$tmpdir/defer | $tmpdir/bin/sluice-retry"
export FAKE_RETRY=$(( $(date +%s) + 7777 ))
msg fake | sluice-enqueue 2>/dev/null
runq
q=$(only deferred)
is "$(stat -c %Y "$sp/deferred/$q" 2>/dev/null)" "$FAKE_RETRY" "X-RETRY=T: deferred/ with mtime T"
unlike "$(grep '^MAIL' "$sp/deferred/$q")" "X-RETRY" "and the parameter is not kept"
unlike "$(cat "$tmpdir/runq.log")" "sluice-retry: qid" "the real sluice-retry did not run as well"
rm -f "$sp"/deferred/*
export FAKE_DEAD=1
msg dead | sluice-enqueue 2>/dev/null
runq
q=$(only dead)
is "$(echo "$q" | grep -c .)$(find "$sp/deferred" "$sp/incoming" -type f | wc -l)" 10 "X-DEAD: the remainder goes to dead/ and nowhere else"
like "$(cat "$sp/dead/$q" 2>/dev/null)" "Subject: dead" "with the message"
unlike "$(grep '^MAIL' "$sp/dead/$q")" "X-RETRY|X-DEAD" "without the policy's parameters"
unlike "$(cat "$tmpdir/runq.log")" "status=sent" "and the runner does not call it sent"
done_testing
