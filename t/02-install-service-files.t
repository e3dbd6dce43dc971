#!/bin/bash
# make install puts a systemd unit for each long-running part (the SMTP
# listener on 25 under tcpserver, the queue runner) with systemd's
# hardening, and daemontools run scripts (run + log/run with multilog);
# systemd-analyze verify accepts the units; the units' ExecStart lines, as
# installed into a DESTDIR and pointed into it, run as the units' User=,
# receive mail from swaks and deliver it; so do the run scripts under
# svscan, their logs kept by multilog.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root: the services run as another user"
for c in systemd-analyze svscan multilog swaks tcpserver setpriv; do
    command -v $c >/dev/null || bail "$c is missing (make check installs it: .ci/deps)"
done

dest=$tmpdir/dest
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top" -o all DESTDIR="$dest" \
    SLUICE_USER=nobody SLUICE_GROUP=nogroup install > "$tmpdir/make.log" 2>&1
ok $? "make install into a DESTDIR" || diag "$(tail "$tmpdir/make.log")"
units=$dest/usr/local/lib/systemd/system
share=$dest/usr/local/share/sluice
for f in "$units/sluice-smtpd.service" "$units/sluice-runq.service" \
    "$share/systemd/sluice-runq-root.conf" \
    "$share/daemontools/sluice-smtpd/run" "$share/daemontools/sluice-smtpd/log/run" \
    "$share/daemontools/sluice-runq/run" "$share/daemontools/sluice-runq/log/run"; do
    ok $([ -s "$f" ]; echo $?) "installed: ${f#$dest}"
done
for f in "$share"/daemontools/*/run "$share"/daemontools/*/log/run; do
    ok $([ -x "$f" ]; echo $?) "${f#$dest} is executable"
done

# The hardening systemd offers, where it fits.
for u in sluice-smtpd sluice-runq; do
    for k in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes ProtectHome=yes \
        "ReadWritePaths=/var/spool/sluice" "User=nobody"; do
        grep -q "^$k" "$units/$u.service"
        ok $? "$u.service has $k"
    done
done
like "$(grep ^ReadWritePaths "$units/sluice-runq.service")" "/var/mail/sluice" \
    "the runner may write the mailboxes"
like "$(grep ^CapabilityBoundingSet "$units/sluice-smtpd.service")" "^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$" \
    "the listener keeps only the capability to bind port 25"

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
for u in sluice-smtpd sluice-runq; do
    sed "s|/usr/local/|$dest/usr/local/|g" "$units/$u.service" > "$tmpdir/units/$u.service"
    verify $u.service; ok $? "systemd-analyze verify accepts $u.service"
done
cat "$units/sluice-runq.service" "$share/systemd/sluice-runq-root.conf" |
    sed "s|/usr/local/|$dest/usr/local/|g" > "$tmpdir/units/sluice-runq-root.service"
verify sluice-runq-root.service; ok $? "and sluice-runq.service with the drop-in for a root runner"
sed 's|^ExecStart=.*|ExecStart=/nonexistent/sluice-runq|; s|^ProtectSystem=.*|ProtectSystem=sometimes|' \
    "$tmpdir/units/sluice-runq.service" > "$tmpdir/units/broken.service"
verify broken.service 2>/dev/null; ok $([ $? != 0 ]; echo $?) "(a broken unit is refused: the check can fail)"

# The installed tree, configured: its programs use its own tables and queue.
conf=$dest/etc/sluice mr=$dest/var/mail/sluice
printf 'hostname mx.example.test\nmailroot %s\nlog stderr\n' "$mr" >> "$conf/config"
"$dest/usr/local/bin/sluice-mkcdb" "$conf/config" || bail "config"
export SLUICE_CONF=$conf SLUICE_SPOOL=$dest/var/spool/sluice \
    SLUICE_LIBEXEC=$dest/usr/local/libexec/sluice
ok $([ "$(stat -c %U "$SLUICE_SPOOL")/$(stat -c %U "$mr")" = nobody/nobody ]; echo $?) \
    "make install gives the queue and the mailroot to the sluice user"

# ExecStart, as the unit's User= and Group=.
unit_cmd() { sed -n 's/^ExecStart=//p' "$tmpdir/units/$1.service"; }
as_unit_user() {	# as_unit_user UNIT: setpriv words for its User= and Group=
    echo setpriv --reuid="$(sed -n 's/^User=//p' "$units/$1.service")" \
        --regid="$(sed -n 's/^Group=//p' "$units/$1.service")" --clear-groups
}
port=$(free_port)
smtpd=$(unit_cmd sluice-smtpd | sed "s| 0 25 | 127.0.0.1 $port |")
like "$smtpd" "^/usr/bin/tcpserver .* 127.0.0.1 $port $dest/usr/local/libexec/sluice/sluice-smtpd$" \
    "the listener's ExecStart runs sluice-smtpd under tcpserver"
spawn smtpd_pid $(as_unit_user sluice-smtpd) $smtpd
spawn runq_pid $(as_unit_user sluice-runq) $(unit_cmd sluice-runq)
wait_port "$port" 10; ok $? "the listener's ExecStart listens"
swaks -s 127.0.0.1 -p "$port" -f someone@example.test -t test@example.test \
    --header "Subject: through the systemd units" > "$tmpdir/swaks1.log" 2>&1
ok $? "swaks sends a message through it" || diag "$(tail -5 "$tmpdir/swaks1.log")"
wait_for "grep -rqs 'through the systemd units' $mr/test/new" 15
ok $? "the runner's ExecStart delivers it"
is "$(stat -c %U "$(ls -d "$mr"/test/new/* | head -1)")" nobody "as the unit's user"
stop_pid "$smtpd_pid"; stop_pid "$runq_pid"

# The daemontools run scripts under svscan, pointed into the DESTDIR and at
# a port of the test's.
svc=$tmpdir/service log=$tmpdir/log
mkdir -p "$svc" "$log"; chown nobody "$log"
cp -r "$share"/daemontools/sluice-smtpd "$share"/daemontools/sluice-runq "$svc/"
port2=$(free_port)
sed -i "s| 0 25 | 127.0.0.1 $port2 |" "$svc/sluice-smtpd/run"
sed -i "s|/usr/local/|$dest/usr/local/|g; s|/var/log/sluice|$log|g" "$svc"/*/run "$svc"/*/log/run
spawn svscan_pid svscan "$svc"
at_exit "kill $svscan_pid; svc -dx $svc/sluice-smtpd $svc/sluice-runq $svc/sluice-smtpd/log $svc/sluice-runq/log"
wait_port "$port2" 15; ok $? "svscan starts the listener's run script"
swaks -s 127.0.0.1 -p "$port2" -f someone@example.test -t test@example.test \
    --header "Subject: through daemontools" > "$tmpdir/swaks2.log" 2>&1
ok $? "swaks sends a message through it" || diag "$(tail -5 "$tmpdir/swaks2.log")"
wait_for "grep -rqs 'through daemontools' $mr/test/new" 15
ok $? "the runner's run script delivers it"
like "$(svstat "$svc/sluice-smtpd" "$svc/sluice-runq")" "sluice-smtpd: up .*sluice-runq: up " "svstat shows both up"
wait_for "grep -qs 'status=sent' $log/runq/current" 10
ok $? "multilog keeps the runner's log in $log/runq"
like "$(cat "$log/smtpd/current" 2>/dev/null)" '@[0-9a-f]{24} sluice-enqueue: qid=' \
    "and the listener's, time-stamped, in $log/smtpd"
kill "$svscan_pid"; svc -dx "$svc/sluice-smtpd" "$svc/sluice-runq" "$svc/sluice-smtpd/log" "$svc/sluice-runq/log"
wait_for "! svok $svc/sluice-runq && ! svok $svc/sluice-smtpd" 15
ok $? "svc -dx stops them"

done_testing
