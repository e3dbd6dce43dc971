#!/bin/bash
# A relay passwords table (smtp_auth) that exists but cannot be read defers
# every smtp recipient (4.7.0) with a log line, before any connection:
# sluice-smtp never skips AUTH in silence, which would have the relay refuse
# the mail (issue 11, item 5).  sluice-smtp runs as nobody, the table is
# root's, mode 0600.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to run sluice-smtp as another user"
command -v runuser >/dev/null || skip_all "runuser is missing"
chmod 755 "$conf"
mkdir -m 1777 "$tmpdir/tmp"
port=$(free_port); start_sink s1 127.0.0.1 "$port" "$tmpdir/sink"
table config "smtp_connect_timeout 5s" "smtp_helo_timeout 10s"
table smtp_auth "127.0.0.1 user:secret"
msg s@example.org q1 "<r@relay.test> X-ROUTE=smtp:[127.0.0.1]:$port" > "$tmpdir/in"
chmod 644 "$tmpdir/in"

as_nobody() {	# as_nobody IN OUT ERR — sluice-smtp as nobody
    runuser -u nobody -- env SLUICE_CONF="$conf" SLUICE_SPOOL="$SLUICE_SPOOL" \
        TMPDIR="$tmpdir/tmp" "$top/libexec/sluice-smtp" < "$1" > "$2" 2> "$3"
}

chown nobody "$conf/smtp_auth" "$conf/smtp_auth.cdb"
as_nobody "$tmpdir/in" "$tmpdir/out0" "$tmpdir/err0"
like "$(cat "$tmpdir/err0")" "to=<r@relay\.test> .* status=deferred reply=\"not sending the password" \
    "a table of nobody's, mode 0600, is read as nobody: its password is found (and kept from a server without TLS)"

chown root "$conf/smtp_auth.cdb"
rm -f "$tmpdir"/sink/*
as_nobody "$tmpdir/in" "$tmpdir/out" "$tmpdir/err"
is $? 0 "an unreadable smtp_auth: exit 0"
err=$(cat "$tmpdir/err")
like "$err" "unable to read table [^ ]*smtp_auth\.cdb: Permission denied" \
    "a log line names the table and why"
like "$err" "to=<r@relay\.test> relay=none .* dsn=4\.7\.0 status=deferred" \
    "the recipient is logged deferred with 4.7.0"
like "$(cat "$tmpdir/out")" "RCPT TO:<r@relay\.test> [^
]*X-DEFER=4\.7\.0\+20unable\+20to\+20read\+20the\+20relay\+20passwords\+20table" \
    "and stays in the output with its reason"
is "$(count_files "$tmpdir/sink")" 0 "nothing was sent without the login"
done_testing
