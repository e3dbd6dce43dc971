# t/dovecot.sh — a private Dovecot POP3 server for the tests of the BSMTP
# tunnel (TESTING.md "Dovecot from a private configuration").  Source it after
# t/lib.sh.  Everything lives in $tmpdir/dovecot; it listens on 127.0.0.1
# only and is stopped by PID when the test exits.
#
#   dv_certs                  a test CA ($dv_ca), a certificate for localhost
#                             and 127.0.0.1 signed by it, and another CA
#                             ($dv_otherca) that signed nothing of the server's
#   dovecot_start [-tls] USER:PASS...
#                             start it: POP3 on $dv_port (STLS too with -tls),
#                             POP3S on $dv_sport with -tls (after dv_certs);
#                             USER's mailbox is the Maildir $(dv_box USER)
#   dovecot_stop              stop it and wait until it is gone
#   dv_box USER               the Maildir of USER
#   dv_own                    give the mailboxes to the mail user (nobody):
#                             call it after sluice wrote into them as root
#   dv_count USER             messages in USER's mailbox
#
# The mail user is nobody (Dovecot refuses uid 0 for mail); the log is
# $tmpdir/dovecot/log.

dv=$tmpdir/dovecot

dv_certs() {
    mkdir -p "$dv/tls"
    (
        cd "$dv/tls" || exit 1
        for ca in ca otherca; do
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sluice test $ca" \
                -keyout "$ca.key" -out "$ca.pem" 2>/dev/null || exit 1
        done
        openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem \
            -out req.pem 2>/dev/null || exit 1
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext
        openssl x509 -req -in req.pem -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 2 -extfile ext -out cert.pem 2>/dev/null
    ) || bail "making test certificates failed"
    dv_ca=$dv/tls/ca.pem
    dv_otherca=$dv/tls/otherca.pem
}

dv_box() { echo "$dv/mail/$1"; }

dv_own() { chown -R 65534:65534 "$dv/mail"; }

dv_count() { find "$dv/mail/$1/new" "$dv/mail/$1/cur" -type f 2>/dev/null | wc -l; }

dovecot_start() {
    local tls=0 u
    [ "${1:-}" = -tls ] && { tls=1; shift; }
    command -v dovecot >/dev/null || bail "dovecot is missing (package dovecot-pop3d, .ci/deps)"
    mkdir -p "$dv/run" "$dv/state" "$dv/mail"
    : > "$dv/users"
    for u in "$@"; do
        printf '%s:{PLAIN}%s::::::\n' "${u%%:*}" "${u#*:}" >> "$dv/users"
        mkdir -p "$dv/mail/${u%%:*}/new" "$dv/mail/${u%%:*}/cur" "$dv/mail/${u%%:*}/tmp"
    done
    dv_own
    dv_port=$(free_port) || bail "no free port"
    dv_sport=0
    [ $tls = 1 ] && { dv_sport=$(free_port) || bail "no free port"; }
    cat > "$dv/dovecot.conf" <<CONF
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/log
protocols = pop3
listen = 127.0.0.1
disable_plaintext_auth = no
auth_mechanisms = plain apop
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dv/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$dv/mail/%n
}
mail_location = maildir:$dv/mail/%n
first_valid_uid = 100
first_valid_gid = 100
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $dv_port
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $dv_sport
  }
}
CONF
    if [ $tls = 1 ]; then
        printf 'ssl = yes\nssl_cert = <%s\nssl_key = <%s\n' "$dv/tls/cert.pem" \
            "$dv/tls/key.pem" >> "$dv/dovecot.conf"
    else
        echo 'ssl = no' >> "$dv/dovecot.conf"
    fi
    spawn dv_pid dovecot -F -c "$dv/dovecot.conf"
    wait_port "$dv_port" 20 || bail "dovecot did not start: $(cat "$dv/log" "$tmpdir/dovecot.log" 2>/dev/null)"
}

dovecot_stop() {
    stop_pid "$dv_pid" 10
    rm -rf "$dv/run"
}
