#!/bin/bash
# make install puts a systemd unit for each long-running part (the
# listeners: sluice-smtpd's own for SMTP on 25 and submission on 587,
# tcpserver with sluice-tlsd for SMTPS on 465;
# the queue runner) with systemd's hardening, and daemontools run scripts
# (run + log/run with multilog); systemd-analyze verify accepts the units;
# the units' ExecStart lines, as installed into a DESTDIR and pointed into
# it, run as the units' User= with their Environment=, receive mail from
# swaks (in clear on 25, STARTTLS and AUTH on 587, TLS at once and AUTH on
# 465) and deliver it; so do the run scripts under svscan, their logs kept
# by multilog.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: the services run as another user"
for c in systemd-analyze svscan multilog swaks tcpserver setpriv openssl; do
    command -v $c >/dev/null || bail "$c is missing (make check installs it: .ci/deps)"
done

dest=$tmpdir/dest
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top" -o all DESTDIR="$dest" \
    SLUICE_USER=nobody SLUICE_GROUP=nogroup install > "$tmpdir/make.log" 2>&1
ok $? "make install into a DESTDIR" || diag "$(tail "$tmpdir/make.log")"
units=$dest/usr/local/lib/systemd/system
share=$dest/usr/local/share/sluice
listeners="sluice-smtpd sluice-submission sluice-smtps"
for f in "$units/sluice-runq.service" "$share/systemd/sluice-runq-root.conf" \
    "$share/daemontools/sluice-runq/run" "$share/daemontools/sluice-runq/log/run"; do
    ok $([ -s "$f" ]; echo $?) "installed: ${f#$dest}"
done
for u in $listeners; do
    for f in "$units/$u.service" "$share/daemontools/$u/run" "$share/daemontools/$u/log/run"; do
        ok $([ -s "$f" ]; echo $?) "installed: ${f#$dest}"
    done
done
for f in "$share"/daemontools/*/run "$share"/daemontools/*/log/run; do
    ok $([ -x "$f" ]; echo $?) "${f#$dest} is executable"
done

# The hardening systemd offers, where it fits.
for u in $listeners sluice-runq; do
    for k in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes ProtectHome=yes \
        "ReadWritePaths=/var/spool/sluice" "User=nobody"; do
        grep -q "^$k" "$units/$u.service"
        ok $? "$u.service has $k"
    done
done
like "$(grep ^ReadWritePaths "$units/sluice-runq.service")" "/var/mail/sluice" \
    "the runner may write the mailboxes"
for u in $listeners; do
    like "$(grep ^CapabilityBoundingSet "$units/$u.service")" "^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$" \
        "$u keeps only the capability to bind its port"
done
for u in sluice-submission sluice-smtps; do
    like "$(grep ^Environment= "$units/$u.service")" "^Environment=SLUICE_SMTPD_MODE=submission$" \
        "$u runs sluice-smtpd in submission mode"
done

# systemd-analyze verify, with the programs and pages the units name in the
# DESTDIR (the only warning allowed: User=nobody, which a test runs as).
mkdir "$tmpdir/units"
verify() {	# verify NAME: the unit $tmpdir/units/NAME, checked
    local out rc
    out=$(cd "$tmpdir/units" && MANPATH=$dest/usr/local/share/man systemd-analyze verify "$1" 2>&1)
    rc=$?
    out=$(grep -v 'Special user nobody configured' <<<"$out")
    [ $rc = 0 ] && [ -z "$out" ] || { diag "$out"; return 1; }
}
for u in $listeners sluice-runq; do
    sed "s|/usr/local/|$dest/usr/local/|g" "$units/$u.service" > "$tmpdir/units/$u.service"
    verify $u.service; ok $? "systemd-analyze verify accepts $u.service"
done
cat "$units/sluice-runq.service" "$share/systemd/sluice-runq-root.conf" |
    sed "s|/usr/local/|$dest/usr/local/|g" > "$tmpdir/units/sluice-runq-root.service"
verify sluice-runq-root.service; ok $? "and sluice-runq.service with the drop-in for a root runner"
sed 's|^ExecStart=.*|ExecStart=/nonexistent/sluice-runq|; s|^ProtectSystem=.*|ProtectSystem=sometimes|' \
    "$tmpdir/units/sluice-runq.service" > "$tmpdir/units/broken.service"
verify broken.service 2>/dev/null; ok $([ $? != 0 ]; echo $?) "(a broken unit is refused: the check can fail)"

# The installed tree, configured: its programs use its own tables and
# queue, a test certificate and a password table (as t/29-smtpd-auth.t
# makes them), all the sluice user's.
conf=$dest/etc/sluice mr=$dest/var/mail/sluice
smtpd_cert
install -d -o nobody -m 700 "$conf/tls"
install -o nobody -m 600 "$SMTPD_CERT" "$SMTPD_KEY" "$conf/tls/"
printf 'hostname mx.example.test\nmailroot %s\nlog stderr\n' "$mr" >> "$conf/config"
printf 'smtpd_tls_cert %s\nsmtpd_tls_key %s\n' "$conf/tls/cert.pem" "$conf/tls/key.pem" >> "$conf/config"
"$dest/usr/local/bin/sluice-mkcdb" "$conf/config" || bail "config"
(umask 077; printf 'alice %s\n' "$(smtpd_password alice 'sec ret')" > "$conf/smtpd_passwords")
"$dest/usr/local/bin/sluice-mkcdb" "$conf/smtpd_passwords" || bail "smtpd_passwords"
chown nobody "$conf/smtpd_passwords" "$conf/smtpd_passwords.cdb"
export SLUICE_CONF=$conf SLUICE_SPOOL=$dest/var/spool/sluice \
    SLUICE_LIBEXEC=$dest/usr/local/libexec/sluice
ok $([ "$(stat -c %U "$SLUICE_SPOOL")/$(stat -c %U "$mr")" = nobody/nobody ]; echo $?) \
    "make install gives the queue and the mailroot to the sluice user"

# ExecStart, as the unit's User= and Group=, with its Environment=.
unit_cmd() { sed -n 's/^ExecStart=//p' "$tmpdir/units/$1.service"; }
as_unit_user() {	# as_unit_user UNIT: setpriv and env words for its User=, Group=, Environment=
    echo setpriv --reuid="$(sed -n 's/^User=//p' "$units/$1.service")" \
        --regid="$(sed -n 's/^Group=//p' "$units/$1.service")" --clear-groups \
        env $(sed -n 's/^Environment=//p' "$units/$1.service")
}
# submit NAME PORT SUBJECT SWAKS-OPTIONS...: a message through a listener
submit() {
    swaks -s 127.0.0.1 -p "$2" -f someone@example.test -t test@example.test \
        --header "Subject: $3" "${@:4}" > "$tmpdir/swaks-$1.log" 2>&1
}
tls_auth=(--auth PLAIN --auth-user alice --auth-password 'sec ret')
port=$(free_port) subport=$(free_port) sport=$(free_port)
smtpd=$(unit_cmd sluice-smtpd | sed "s| -l 0.0.0.0:25 | -l 127.0.0.1:$port |")
like "$smtpd" "^$dest/usr/local/libexec/sluice/sluice-smtpd -l 127.0.0.1:$port -c 100 -b 100$" \
    "the listener's ExecStart runs sluice-smtpd's own listener"
submission=$(unit_cmd sluice-submission | sed "s| -l 0.0.0.0:587 | -l 127.0.0.1:$subport |")
like "$submission" "^$dest/usr/local/libexec/sluice/sluice-smtpd -l 127.0.0.1:$subport -c 100 -b 100$" \
    "the submission listener's ExecStart runs sluice-smtpd's own listener"
smtps=$(unit_cmd sluice-smtps | sed "s| 0 465 | 127.0.0.1 $sport |")
like "$smtps" "^/usr/bin/tcpserver .* 127.0.0.1 $sport $dest/usr/local/libexec/sluice/sluice-tlsd $dest/usr/local/libexec/sluice/sluice-smtpd$" \
    "the SMTPS listener's ExecStart runs sluice-tlsd sluice-smtpd under tcpserver"
spawn smtpd_pid $(as_unit_user sluice-smtpd) $smtpd
spawn sub_pid $(as_unit_user sluice-submission) $submission
spawn smtps_pid $(as_unit_user sluice-smtps) $smtps
spawn runq_pid $(as_unit_user sluice-runq) $(unit_cmd sluice-runq)
wait_port "$port" 10; ok $? "the listener's ExecStart listens"
wait_port "$subport" 10; ok $? "the submission listener's ExecStart listens"
wait_port "$sport" 10; ok $? "the SMTPS listener's ExecStart listens"
submit 1 "$port" "through the systemd units"
ok $? "swaks sends a message through it" || diag "$(tail -5 "$tmpdir/swaks-1.log")"
submit 1s "$subport" "submitted through the systemd unit" --tls "${tls_auth[@]}"
ok $? "swaks submits with STARTTLS and AUTH on the submission unit" || diag "$(tail -5 "$tmpdir/swaks-1s.log")"
like "$(cat "$tmpdir/swaks-1s.log")" "<~ +235 2\.7\.0 " "(authenticated, under TLS)"
submit 1n "$subport" "no auth" --tls
like "$(cat "$tmpdir/swaks-1n.log")" "<~\* +530 5\.7\.0 Authentication required" \
    "the submission unit refuses MAIL before AUTH"
submit 1t "$sport" "over SMTPS through the systemd unit" --tlsc "${tls_auth[@]}"
ok $? "swaks submits over SMTPS with AUTH on the SMTPS unit" || diag "$(tail -5 "$tmpdir/swaks-1t.log")"
like "$(cat "$tmpdir/swaks-1t.log")" "TLS started with cipher .*<~ +235 2\.7\.0 " "(TLS first, then authenticated)"
for s in "through the systemd units" "submitted through the systemd unit" "over SMTPS through the systemd unit"; do
    wait_for "grep -rqs 'Subject: $s' $mr/test/new" 15
    ok $? "the runner's ExecStart delivers \"$s\""
done
is "$(stat -c %U "$(ls -d "$mr"/test/new/* | head -1)")" nobody "as the unit's user"
like "$(grep -rh -A3 '^Received: ' "$(grep -rl 'Subject: over SMTPS' "$mr"/test/new)" | head -4)" \
    "Authenticated sender: alice.* with ESMTPSA " "the SMTPS message was received with TLS and AUTH"
stop_pid "$smtpd_pid"; stop_pid "$sub_pid"; stop_pid "$smtps_pid"; stop_pid "$runq_pid"

# The daemontools run scripts under svscan, pointed into the DESTDIR and at
# a port of the test's.
svc=$tmpdir/service log=$tmpdir/log
mkdir -p "$svc" "$log"; chown nobody "$log"
for u in $listeners sluice-runq; do cp -r "$share/daemontools/$u" "$svc/"; done
port2=$(free_port) subport2=$(free_port) sport2=$(free_port)
sed -i "s| -l 0.0.0.0:25 | -l 127.0.0.1:$port2 |" "$svc/sluice-smtpd/run"
sed -i "s| -l 0.0.0.0:587 | -l 127.0.0.1:$subport2 |" "$svc/sluice-submission/run"
sed -i "s| 0 465 | 127.0.0.1 $sport2 |" "$svc/sluice-smtps/run"
sed -i "s|/usr/local/|$dest/usr/local/|g; s|/var/log/sluice|$log|g" "$svc"/*/run "$svc"/*/log/run
spawn svscan_pid svscan "$svc"
svcs="$svc/sluice-smtpd $svc/sluice-submission $svc/sluice-smtps $svc/sluice-runq"
svclogs="$svc/sluice-smtpd/log $svc/sluice-submission/log $svc/sluice-smtps/log $svc/sluice-runq/log"
at_exit "kill $svscan_pid; svc -dx $svcs $svclogs"
wait_port "$port2" 15; ok $? "svscan starts the listener's run script"
wait_port "$subport2" 15; ok $? "and the submission listener's"
wait_port "$sport2" 15; ok $? "and the SMTPS listener's"
submit 2 "$port2" "through daemontools"
ok $? "swaks sends a message through it" || diag "$(tail -5 "$tmpdir/swaks-2.log")"
submit 2s "$subport2" "submitted through daemontools" --tls "${tls_auth[@]}"
ok $? "swaks submits with STARTTLS and AUTH on the submission run script" || diag "$(tail -5 "$tmpdir/swaks-2s.log")"
submit 2n "$subport2" "no auth" --tls
like "$(cat "$tmpdir/swaks-2n.log")" "<~\* +530 5\.7\.0 Authentication required" \
    "the submission run script refuses MAIL before AUTH"
submit 2t "$sport2" "over SMTPS through daemontools" --tlsc "${tls_auth[@]}"
ok $? "swaks submits over SMTPS with AUTH on the SMTPS run script" || diag "$(tail -5 "$tmpdir/swaks-2t.log")"
for s in "through daemontools" "submitted through daemontools" "over SMTPS through daemontools"; do
    wait_for "grep -rqs 'Subject: $s' $mr/test/new" 15
    ok $? "the runner's run script delivers \"$s\""
done
like "$(svstat $svcs)" "sluice-smtpd: up .*sluice-submission: up .*sluice-smtps: up .*sluice-runq: up " \
    "svstat shows all four up"
wait_for "grep -qs 'status=sent' $log/runq/current" 10
ok $? "multilog keeps the runner's log in $log/runq"
like "$(cat "$log/smtpd/current" 2>/dev/null)" '@[0-9a-f]{24} sluice-smtpd: qid=.* queue_status=0 reply=250' \
    "and the listener's, time-stamped, in $log/smtpd"
like "$(cat "$log/submission/current" "$log/smtps/current" 2>/dev/null)" \
    '@[0-9a-f]{24} sluice-smtpd: qid=.*proto=ESMTPSA.*@[0-9a-f]{24} sluice-smtpd: qid=.*proto=ESMTPSA' \
    "and the submission and SMTPS listeners', in $log/submission and $log/smtps"
kill "$svscan_pid"; svc -dx $svcs $svclogs
wait_for "! svok $svc/sluice-runq && ! svok $svc/sluice-smtpd && ! svok $svc/sluice-submission && ! svok $svc/sluice-smtps" 15
ok $? "svc -dx stops them"

done_testing
