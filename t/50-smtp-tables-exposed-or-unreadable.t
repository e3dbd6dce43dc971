#!/bin/bash
# sluice-smtp's tables are never taken for empty, nor used when they leak
# (issue 11, item 5): smtp_auth (relay passwords) that others may read, as
# its .cdb or as the text it is compiled from, is refused (exit 111, the
# file and its mode in the log line; the runner keeps the recipients), one
# its group may read is used (root:sluice 0640); smtp_tls and smtp_hosts
# that exist but cannot be read defer every smtp recipient with a log line,
# where read as empty they would send in clear where TLS is required, or
# to other servers.  sluice-smtp runs as nobody, the tables are root's.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to run sluice-smtp as another user"
command -v runuser >/dev/null || skip_all "runuser is missing"
chmod 755 "$conf"
mkdir -m 1777 "$tmpdir/tmp"
port=$(free_port); start_sink s1 127.0.0.1 "$port" "$tmpdir/sink"
table config "smtp_connect_timeout 5s" "smtp_helo_timeout 10s"
msg s@example.org q1 "<r@relay.test> X-ROUTE=smtp:[127.0.0.1]:$port" > "$tmpdir/in"
chmod 644 "$tmpdir/in"

as_nobody() {	# as_nobody NAME — sluice-smtp as nobody: NAME.out, NAME.err; its status
    runuser -u nobody -- env SLUICE_CONF="$conf" SLUICE_SPOOL="$SLUICE_SPOOL" \
        TMPDIR="$tmpdir/tmp" "$top/libexec/sluice-smtp" < "$tmpdir/in" \
        > "$tmpdir/$1.out" 2> "$tmpdir/$1.err"
}

# ---- smtp_auth that others may read ------------------------------------------
table smtp_auth "127.0.0.1 user:secret"
chown nobody "$conf/smtp_auth" "$conf/smtp_auth.cdb"
chmod 644 "$conf/smtp_auth.cdb"
as_nobody a1; is $? 111 "smtp_auth.cdb that others may read: exit 111"
like "$(cat "$tmpdir/a1.err")" "fatal: table $conf/smtp_auth\.cdb holds relay passwords but others may read it \(mode 0644\)" \
    "the log line names the file and its mode"
is "$(count_files "$tmpdir/sink")" 0 "nothing was sent"

chmod 600 "$conf/smtp_auth.cdb"; chmod 604 "$conf/smtp_auth"
as_nobody a2; is $? 111 "its text that others may read: exit 111 too"
like "$(cat "$tmpdir/a2.err")" "fatal: table $conf/smtp_auth holds relay passwords but others may read it \(mode 0604\)" \
    "the log line names the text and its mode"

chown root:nogroup "$conf/smtp_auth" "$conf/smtp_auth.cdb"
chmod 640 "$conf/smtp_auth" "$conf/smtp_auth.cdb"
runuser -u nobody -g nogroup -- env SLUICE_CONF="$conf" SLUICE_SPOOL="$SLUICE_SPOOL" \
    TMPDIR="$tmpdir/tmp" "$top/libexec/sluice-smtp" < "$tmpdir/in" > "$tmpdir/a3.out" 2> "$tmpdir/a3.err"
is $? 0 "root:nogroup 0640, read by nobody of group nogroup: used"
like "$(cat "$tmpdir/a3.err")" "to=<r@relay\.test> .* status=deferred reply=\"not sending the password" \
    "(its password is found, and kept from a server without TLS)"
rm -f "$conf/smtp_auth" "$conf/smtp_auth.cdb"

# ---- smtp_tls that cannot be read --------------------------------------------
table smtp_tls "127.0.0.1 require"
chmod 644 "$conf/smtp_tls.cdb"
as_nobody t1
like "$(cat "$tmpdir/t1.out")" "X-DEFER=4\.7\.[0-9]\+20[^ ]*TLS" \
    "a readable smtp_tls that requires TLS defers: the server has no STARTTLS"
chmod 600 "$conf/smtp_tls.cdb"
as_nobody t2; is $? 0 "an unreadable smtp_tls: exit 0"
like "$(cat "$tmpdir/t2.err")" "unable to read table $conf/smtp_tls\.cdb: Permission denied: every smtp recipient is deferred" \
    "a log line names the table and why"
like "$(cat "$tmpdir/t2.out")" "RCPT TO:<r@relay\.test> [^
]*X-DEFER=4\.7\.0\+20unable\+20to\+20read\+20table\+20[^ ]*smtp_tls\.cdb" \
    "the recipient waits, with the reason"
is "$(count_files "$tmpdir/sink")" 0 "nothing was sent in clear"
rm -f "$conf/smtp_tls" "$conf/smtp_tls.cdb"

# ---- smtp_hosts that cannot be read ------------------------------------------
table smtp_hosts "relay.test 127.0.0.1"
chmod 644 "$conf/smtp_hosts.cdb"
msg s@example.org q2 "<h@relay.test> X-ROUTE=smtp:[relay.test]:$port" > "$tmpdir/in"
as_nobody h1
like "$(cat "$tmpdir/h1.err")" "to=<h@relay\.test> relay=relay\.test\[127\.0\.0\.1\]:$port .*status=sent" \
    "a readable smtp_hosts gives relay.test's address"
rm -rf "$tmpdir/sink"/*
chmod 600 "$conf/smtp_hosts.cdb"
as_nobody h2; is $? 0 "an unreadable smtp_hosts: exit 0"
like "$(cat "$tmpdir/h2.err")" "unable to read table $conf/smtp_hosts\.cdb: Permission denied" \
    "a log line names the table and why"
like "$(cat "$tmpdir/h2.out")" "RCPT TO:<h@relay\.test> [^
]*X-DEFER=4\.7\.0\+20unable\+20to\+20read\+20table\+20[^ ]*smtp_hosts\.cdb" \
    "the recipient waits, with the reason"
is "$(count_files "$tmpdir/sink")" 0 "nothing was sent"
done_testing
