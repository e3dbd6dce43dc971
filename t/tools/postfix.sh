#!/bin/bash
# t/tools/postfix.sh — a private Postfix instance for benchmarks and interop tests.
# Never the system one: its own config, queue, data and log under DIR, a listener
# on 127.0.0.1:PORT only, and mail for anything@example.test delivered by virtual(8)
# as Maildir into MAILDIR_ROOT/<user>/.
#
#   t/tools/postfix.sh start DIR PORT MAILDIR_ROOT [USER...]
#                                   (returns when the port answers)
#   t/tools/postfix.sh stop DIR                      (postfix stop, then kill by PID)
#
# virtual(8) refuses regexp substitution ($1) in virtual_mailbox_maps, so the map
# is a list: each USER given (default: test) gets MAILDIR_ROOT/USER/, and every
# other address @example.test lands in MAILDIR_ROOT/catchall/.
#
# Optional: the environment variable POSTFIX_MAIN_CF holds more main.cf lines
# ("name = value", one a line), set with postconf -e over the defaults above,
# so a caller sets relayhost or transport_maps before Postfix first starts,
# with no reload race.
#
# Optional: POSTFIX_MASTER_CF holds more master.cf lines (services), added
# at its end: a second smtpd with -o overrides, tlsmgr for TLS.
#
# Log: DIR/maillog (postlogd, no syslog). Needs root: master runs as root, daemons
# as user postfix, and deliveries as the owner of MAILDIR_ROOT (or nobody when that
# owner is root, since virtual(8) never delivers as root). Every folder above DIR
# and MAILDIR_ROOT must be searchable (o+x) by those users; t/lib.sh's tmpdir is.
set -eu

die() { echo "postfix.sh: $*" >&2; exit 1; }

# can USER PATH TEST: run `test TEST PATH` as USER's uid and gid, to catch
# unreachable folders before Postfix fails with an obscure log line.
can() {
    setpriv --reuid="$1" --regid="$(id -g "$1")" --clear-groups -- test "$3" "$2"
}

master_pid() {
    local f=$1/spool/pid/master.pid pid
    [ -r "$f" ] || return 1
    pid=$(tr -dc 0-9 < "$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_open() {
    /usr/bin/python3 -c 'import socket,sys
s=socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

do_start() {
    local dir=$1 port=$2 mroot=$3 u
    shift 3
    [ $# -gt 0 ] || set -- test
    case $port in ''|*[!0-9]*) die "bad port: $port" ;; esac
    [ "$port" != 25 ] || die "refusing port 25"
    mkdir -p "$dir" "$mroot"
    dir=$(cd "$dir" && pwd)
    mroot=$(cd "$mroot" && pwd)
    master_pid "$dir" >/dev/null && die "already running in $dir"
    rm -rf "${dir:?}/etc"
    mkdir -p "$dir/etc" "$dir/spool" "$dir/data"

    # Deliver as the owner of MAILDIR_ROOT; root is not allowed by virtual(8).
    local uid gid
    uid=$(stat -c %u "$mroot")
    gid=$(stat -c %g "$mroot")
    if [ "$uid" -lt 100 ]; then
        uid=$(id -u nobody)
        gid=$(id -g nobody)
        chown "$uid:$gid" "$mroot"
    fi
    can "$uid" "$mroot" -w || die "uid $uid cannot write $mroot (a parent folder not o+x?)"
    can postfix "$dir" -x || die "user postfix cannot enter $dir (a parent folder not o+x?)"
    # The queue belongs to root; postfix makes its subfolders itself.
    chown root:root "$dir/spool"
    chown postfix:postfix "$dir/data"

    cat > "$dir/etc/main.cf" <<EOF
# private test instance made by t/tools/postfix.sh
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
syslog_name = postfix-test-$port
myhostname = postfix.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_peername_lookup = no
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
in_flow_delay = 0
default_process_limit = 100
biff = no
append_dot_mydomain = no
message_size_limit = 0
mailbox_size_limit = 0
virtual_mailbox_limit = 0
# USER@example.test -> MAILDIR_ROOT/USER/ (a trailing slash means Maildir)
virtual_mailbox_domains = example.test
virtual_mailbox_base = $mroot
virtual_mailbox_maps = texthash:$dir/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
EOF
    # Each line of POSTFIX_MAIN_CF replaces the setting of that name in place.
    local line
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        postconf -c "$dir/etc" -e "$line" || die "postconf -e failed: $line"
    done <<<"${POSTFIX_MAIN_CF:-}"
    {
        for u in "$@"; do
            case $u in ''|*[!-a-zA-Z0-9._+=]*) die "bad user name: $u" ;; esac
            echo "$u@example.test $u/"
        done
        echo "@example.test catchall/"
    } > "$dir/etc/vmailbox"

    # No chroot anywhere (column 5 = n): the queue is not set up as a jail.
    cat > "$dir/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$port inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    [ -z "${POSTFIX_MASTER_CF:-}" ] || printf '%s\n' "$POSTFIX_MASTER_CF" >> "$dir/etc/master.cf"

    # post-install makes the queue folders with the right owners and modes.
    postfix -c "$dir/etc" post-install create-missing >"$dir/start.log" 2>&1 ||
        { cat "$dir/start.log" >&2; die "post-install failed"; }
    postfix -c "$dir/etc" start >>"$dir/start.log" 2>&1 ||
        { cat "$dir/start.log" "$dir/maillog" >&2 2>/dev/null; die "postfix start failed"; }

    # Wait (at most 20 s) for the listener.
    local i=0
    until port_open "$port"; do
        i=$((i + 1))
        if [ $i -ge 200 ]; then
            cat "$dir/maillog" >&2 2>/dev/null || true
            do_stop "$dir"
            die "no listener on 127.0.0.1:$port"
        fi
        sleep 0.1
    done
}

# PIDs of processes whose working folder is inside DIR/spool: Postfix daemons
# chdir to the queue, so this finds leftovers of this instance and no other.
instance_pids() {
    local spool=$1/spool p cwd
    for p in /proc/[0-9]*; do
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        case $cwd in "$spool"|"$spool"/*) echo "${p#/proc/}" ;; esac
    done
}

do_stop() {
    local dir=$1 pid i pids
    [ -d "$dir/etc" ] || return 0
    dir=$(cd "$dir" && pwd)
    pid=$(master_pid "$dir") || pid=
    pids="$pid $(instance_pids "$dir")"
    postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
    # Give master up to 10 s to take its children down, then force it.
    for i in $(seq 100); do
        [ -n "$(instance_pids "$dir")" ] || break
        [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
    for pid in $(instance_pids "$dir"); do kill -KILL "$pid" 2>/dev/null || true; done
    # master does not wait for its children; wait (5 s at most) until every
    # process seen above is gone, zombies too, so callers can check for leftovers.
    for i in $(seq 50); do
        for pid in $pids; do [ -e "/proc/$pid" ] && break; pid=; done
        [ -n "$pid" ] || break
        sleep 0.1
    done
    return 0
}

case ${1:-} in
    start) [ $# -ge 4 ] || die "usage: postfix.sh start DIR PORT MAILDIR_ROOT [USER...]"
           shift; do_start "$@" ;;
    stop)  [ $# -eq 2 ] || die "usage: postfix.sh stop DIR"
           do_stop "$2" ;;
    *) echo "usage: postfix.sh start DIR PORT MAILDIR_ROOT [USER...] | stop DIR" >&2; exit 64 ;;
esac
