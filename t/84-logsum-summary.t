#!/bin/bash
# sluice-logsum(1) summarises a log as pflogsumm does: it reads every form a
# sluice line takes (standard error, behind multilog's or tai64nlocal's stamp,
# behind syslog's prefix), skips other programs' lines, and counts messages
# and recipients per status, destination and relay, SMTP refusals, senders,
# recipients, local submissions per uid, errors.  The second half sums the
# real log of a real run, captured from a syslog socket.
. "$(dirname "$0")/lib.sh"

d=$top/t/data/logsum
sluice-logsum "$d/forms.in" > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 0 "sluice-logsum exits 0"
diff -u "$d/forms.out" "$tmpdir/out" >&2
ok $? "the summary of every log form is forms.out"
is "$(cat "$tmpdir/err")" "" "with nothing on standard error"
is "$(sluice-logsum < "$d/forms.in")" "$(cat "$d/forms.out")" "standard input is read when no file is named"
is "$(sluice-logsum "$d/forms.in" "$d/forms.in" | sed -n 2p)" "       8  received (queued)" "two files are summed together"
is "$(sluice-logsum -n 1 "$d/forms.in" | sed -n '/^Top senders/,/^$/p')" "Top senders (messages queued)
       2  sluicetu@vm
          (2 more)" "-n 1 keeps the first of each top list"

# ---- usage ----
sluice-logsum --help > "$tmpdir/out" 2> "$tmpdir/err"
is "$?/$(head -c 21 "$tmpdir/out")/$(cat "$tmpdir/err")" "0/usage: sluice-logsum /" "--help prints the usage on standard output, exit 0"
sluice-logsum -x > "$tmpdir/out" 2> "$tmpdir/err"
is "$?/$(cat "$tmpdir/out")" "100/" "a bad option exits 100"
like "$(cat "$tmpdir/err")" "^sluice-logsum: unknown option -x
usage: sluice-logsum " "with the usage on standard error"
sluice-logsum -n lots < /dev/null > /dev/null 2>&1
is "$?" 100 "so does a bad -n"
sluice-logsum "$tmpdir/none" 2> "$tmpdir/err"
is "$?" 111 "a log that cannot be opened is a temporary failure"
like "$(cat "$tmpdir/err")" "^sluice-logsum: fatal: unable to open $tmpdir/none: No such file" "and says which"

# ---- the log of a real run, from syslog ----
conf=$tmpdir/conf spool=$tmpdir/spool sock=$tmpdir/log.sock sys=$tmpdir/syslog
mkdir -p "$conf" "$spool" "$tmpdir/mail"
cp "$top"/conf/domains "$top"/conf/users "$top"/conf/access "$conf/"
# The chain of local delivery alone: the bounce stays on this host.
printf 'qualify_domain example.test\nhostname mx.example.test\nspool %s\nmailroot %s\nlog syslog\nsyslog_socket %s\nchain sluice-envelope | sluice-local\n' \
    "$spool" "$tmpdir/mail" "$sock" > "$conf/config"
for f in "$conf"/*; do sluice-mkcdb "$f" || bail "cannot compile $f"; done
export SLUICE_CONF=$conf SLUICE_LIBEXEC=$top/libexec
unset SLUICE_SPOOL SLUICE_QUEUE
start_syslog "$sock" "$sys"
for r in test test ghost; do
    printf 'Subject: s\n\nb\n' | sendmail -f alice@example.org $r@example.test
done
sendmail -q > /dev/null 2>&1
wait_for "grep -q 'sluice-runq.*: stop' '$sys'" 10
sluice-logsum "$sys" > "$tmpdir/out"
note "$(cat "$sys")"
is "$(sed -n 1,9p "$tmpdir/out")" "Grand totals (13 lines of sluice)
       4  received (queued)
       0    by SMTP
       3    local submissions
       1    notices (bounces, delay notices: from=<>)
       2  deliveries sent
       0  deliveries deferred
       1  deliveries bounced
       0  refused at SMTP" "a real run's syslog: 3 submitted, 2 delivered, 1 bounced with its notice"
like "$(cat "$tmpdir/out")" $'Per destination domain\n +sent deferred +bounced +other +domain\n +2 +0 +1 +0 +example.test\n' \
    "counted per destination"
like "$(cat "$tmpdir/out")" $'Messages by status \\(sluice-runq\\)\n +2 +sent\n +1 +bounced\n' \
    "the runner's verdicts: 2 messages sent, the one whose only recipient bounced bounced"
like "$(cat "$tmpdir/out")" $'Local submissions \\(by uid\\)\n +3 +'"$(id -u)"'$' "and the submitters' uid"

# ---- sluice-smtpd writing the queue itself (no SLUICE_QUEUE): no
# sluice-enqueue line, and still received, by SMTP, with their senders ----
conf2=$tmpdir/conf2 sock2=$tmpdir/log2.sock sys2=$tmpdir/syslog2
mkdir -p "$conf2" "$tmpdir/spool2"
cp "$conf"/domains "$conf"/users "$conf"/access "$conf2/"
printf 'hostname mx.example.test\nspool %s\nlog syslog\nsyslog_socket %s\n' \
    "$tmpdir/spool2" "$sock2" > "$conf2/config"
for f in domains users access config; do sluice-mkcdb "$conf2/$f" || bail "cannot compile $f"; done
start_syslog "$sock2" "$sys2"
port=$(free_port)
SLUICE_CONF=$conf2 start_tcpserver "$port" tcp_pid "$top/libexec/sluice-smtpd" ||
    bail "no sluice-smtpd"
"$PY" - "$port" <<'EOF2'
import smtplib, sys
for sender in ("carol@example.org", "carol@example.org", "dave@example.org"):
    with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
        s.sendmail(sender, ["test@example.test"], "Subject: s\r\n\r\nb\r\n")
EOF2
wait_for "[ \$(grep -c 'reply=250' '$sys2') = 3 ]" 10
sluice-logsum "$sys2" > "$tmpdir/out2"
note "$(cat "$sys2")"
is "$(grep -c 'sluice-enqueue' "$sys2")" 0 "sluice-smtpd wrote the queue itself: no sluice-enqueue line"
is "$(sed -n 2,3p "$tmpdir/out2")" "       3  received (queued)
       3    by SMTP" "its 250s are counted as received, by SMTP"
like "$(cat "$tmpdir/out2")" $'Top senders \\(messages queued\\)\n +2 +carol@example.org\n +1 +dave@example.org' \
    "with their senders"

done_testing
