#!/bin/bash
# Without a chain setting the runner runs the whole MTA: aliases, routing,
# tunnels, local and remote delivery and the policy stage.  One message to
# an alias, a remote domain and a tunnelled domain is delivered to all
# three, and the queue is empty after one run.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF"
mr=$tmpdir/mail
sport=$(free_port)
start_sink sink 127.0.0.1 "$sport" "$tmpdir/sink"
table config "hostname mx.example.test" "mailroot $mr" "postmaster postmaster@example.test" \
    "smtp_connect_timeout 5s"
table domains example.test
table users "@example.test box/" "tunnel@example.test tunnel/"
table aliases "team@example.test bob@example.test"
table routes "remote.test smtp:[127.0.0.1]:$sport" "far.test bsmtp:tunnel@example.test"

printf 'MAIL FROM:<s@example.test>\nRCPT TO:<team@example.test>\nRCPT TO:<x@remote.test>\nRCPT TO:<y@far.test>\nDATA\nSubject: whole\n\nhello\n.\n' |
    sluice-enqueue 2>/dev/null || bail "sluice-enqueue failed"
sluice-runq -1 </dev/null 2>"$tmpdir/runq.log"
is $? 0 "the run-once succeeds"
like "$(cat "$tmpdir/runq.log")" 'start chain="sluice-envelope \| sluice-alias \| sluice-route \| sluice-bsmtp-encode \| sluice-local \| sluice-smtp \| sluice-retry"' \
    "the default chain is the whole MTA"
like "$(cat "$mr"/box/new/* 2>/dev/null)" $'Delivered-To: bob@example\\.test' "the alias is expanded and delivered locally"
like "$(cat "$tmpdir"/sink/* 2>/dev/null)" 'X-Rcpt-Args: <x@remote\.test>' "the remote recipient is sent by sluice-smtp"
like "$(cat "$mr"/tunnel/new/* 2>/dev/null)" 'application/batch-SMTP' "the tunnelled recipient goes into a tunnel message"
is "$(find "$SLUICE_SPOOL"/{incoming,deferred,bad,dead} -type f | wc -l)" 0 "the queue is empty"

# A content stage joins when it is configured.
table config "hostname mx.example.test" "mailroot $mr" "scan_method command" "scan_command /bin/true %f"
sluice-runq -1 </dev/null 2>"$tmpdir/runq2.log"
like "$(cat "$tmpdir/runq2.log")" 'start chain="sluice-envelope \| sluice-alias \| sluice-route \| sluice-scan \| sluice-bsmtp-encode' \
    "sluice-scan joins the chain when scan_method is set"
# Tables of comments only (as shipped) give sluice-checks nothing to do.
printf '# /^Subject: x/ WARN x\n\n' > "$SLUICE_CONF/header_checks"
sluice-runq -1 </dev/null 2>"$tmpdir/runq2b.log"
unlike "$(cat "$tmpdir/runq2b.log")" 'sluice-checks' "a header_checks table of comments only keeps sluice-checks out"
table config "hostname mx.example.test" "mailroot $mr" "scan_method command" \
    "scan_command /bin/true %f" "attach_block *.exe" "spam_spamd 127.0.0.1:9" \
    "disclaimer_text disc.txt"
printf '/^Subject: x/ WARN x\n' > "$SLUICE_CONF/header_checks"
sluice-runq -1 </dev/null 2>"$tmpdir/runq3.log"
like "$(cat "$tmpdir/runq3.log")" 'start chain="sluice-envelope \| sluice-alias \| sluice-route \| sluice-scan \| sluice-attach \| sluice-checks \| sluice-spam \| sluice-disclaimer \| sluice-bsmtp-encode \| sluice-local \| sluice-smtp \| sluice-retry"' \
    "every configured content stage joins, after sluice-route, in the documented order"
done_testing
