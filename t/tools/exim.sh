#!/bin/bash
# t/tools/exim.sh — a private Exim, used as an independent BSMTP reader in tests.
#
# Installing exim4 through apt would remove Postfix, so the Debian packages are
# unpacked into a cache folder and run from there with LD_LIBRARY_PATH and a
# private configuration (-C) that lives in a test's own folder.
#
#   t/tools/exim.sh setup            unpack once (cached), print the wrapper's path
#   WRAPPER DIR -bS < batch          read a batch; queue only, spool and log in DIR
#   WRAPPER DIR -bs < session        interactive SMTP on stdin/stdout (see below)
#   WRAPPER DIR -bp                  list the queue
#   t/tools/exim.sh envelopes DIR    one line per queued message, sorted:
#                                    from=<sender> to=<rcpt1>,<rcpt2>
#                                    (recipients in the order they were given)
#
# Cache: ${SLUICE_TESTCACHE:-/var/cache/sluice-test}/exim. Needs root (apt-get
# download, a Debian-exim user, and exim's setuid binary with -C).
#
# What Exim 4.96 (Debian 12) does with sluice's stream, measured with this tool:
#
# exim -bS (batched SMTP, smtp_setup_batch_msg in smtp_in.c) is a strict RFC 821
# reader. It runs no ACLs, knows no ESMTP and never looks at EHLO (HELO and EHLO
# only reset the transaction). On the first bad line it writes the error (and
# the offending command) on stdout and a report on stderr, keeps the messages
# already read, and abandons the rest of the batch:
#   - `XFORWARD ADDR=...` anywhere          -> "500 Command unrecognized"
#   - any parameter after MAIL FROM:<a>, each one tried alone: SIZE=, BODY=8BITMIME,
#     RET=, ENVID=, SMTPUTF8, AUTH=<>       -> "501 malformed address: SIZE=1834
#                                              may not follow <a@example.org>"
#   - any parameter after RCPT TO:<b>: NOTIFY=, ORCPT=, and the unknown X-ROUTE=smtp
#                                           -> the same 501 "may not follow"
#   - the same 501 with an EHLO line first: EHLO does not enable parameters in -bS.
#   - a last transaction with no final "."  -> "421 Lost incoming connection"
#   Exit status: 0 when the whole batch was read (an empty batch too);
#   2 when an error stopped it before any message was accepted;
#   1 when an error stopped it after at least one message was accepted (those stay
#   queued). LF and CRLF ends both work, dot-stuffing is removed, MAIL FROM:<> works.
#   So a batch that exim -bS accepts carries bare MAIL/RCPT/DATA only: no
#   XFORWARD and no parameters.
#
# exim -bs (interactive SMTP on stdin/stdout, with the private config below, which
# sets dsn_advertise_hosts = *), with an EHLO line first and all commands sent at once:
#   - EHLO advertises SIZE 8BITMIME DSN PIPELINING CHUNKING SMTPUTF8
#   - XFORWARD -> "500 unrecognized command", and the session goes on
#   - MAIL FROM:<a> SIZE=1834 BODY=8BITMIME RET=HDRS ENVID=QQ314159 SMTPUTF8 AUTH=<>
#       -> 250 (ENVID, RET and SMTPUTF8 end up in the spool file)
#   - RCPT TO:<b> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.net -> 250 Accepted
#   - RCPT TO:<c> X-ROUTE=smtp -> 501 "malformed address: X-ROUTE=smtp may not
#     follow <c>", only that recipient is refused; DATA goes on with the others
#   - an unknown MAIL parameter (FOO=bar) -> 501 for the whole MAIL command
#   - after HELO instead of EHLO, any parameter gets the same 501 as in -bS;
#     with no HELO/EHLO at all, MAIL gets "503 HELO or EHLO required"
#   - each error counts towards smtp_max_synprot_errors (Exim's default 3 then
#     ends the session with "500 Too many syntax or protocol errors"; this
#     config raises it to 1000)
#   Exit status 0 whatever the replies: read them on stdout.
#   This is the mode to check a stream that carries ESMTP parameters.
set -eu

cache=${SLUICE_TESTCACHE:-/var/cache/sluice-test}
edir=$cache/exim
wrapper=$edir/run-exim

die() { echo "exim.sh: $*" >&2; exit 1; }

# Unpack exim4 and the libraries it needs that are not installed on this machine.
do_setup() {
    mkdir -p "$edir"
    # Several tests may ask at once: one unpacks, the others wait.
    exec 9>"$edir/.lock"
    flock 9
    if [ -x "$wrapper" ] && [ -x "$edir/root/usr/sbin/exim4" ]; then
        echo "$wrapper"
        return 0
    fi
    # The exim binary looks its compiled-in user up at start, even though the
    # private config runs it as root.
    id Debian-exim >/dev/null 2>&1 ||
        useradd -r -M -d /nonexistent -s /usr/sbin/nologin Debian-exim ||
        die "cannot create user Debian-exim"

    local dl=$edir/debs
    rm -rf "$dl" "$edir/root.new"
    mkdir -p "$dl" "$edir/root.new"
    local pkgs=(exim4-base exim4-daemon-light) p
    # Library dependencies that the system lacks (libidn12 on a stock Debian 12).
    for p in $(apt-cache depends exim4-base exim4-daemon-light 2>/dev/null |
               awk '$1 ~ /Depends:/ && $2 ~ /^lib/ {print $2}' | sort -u); do
        case $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) in
            *" installed") ;;
            *) pkgs+=("$p") ;;
        esac
    done
    case " ${pkgs[*]} " in *" libidn12 "*) ;; *) pkgs+=(libidn12) ;; esac
    # apt-get download warns about the _apt sandbox when run as root: harmless.
    if ! (cd "$dl" && apt-get download "${pkgs[@]}" >/dev/null 2>&1); then
        apt-get update -qq >/dev/null 2>&1 || true
        (cd "$dl" && apt-get download "${pkgs[@]}" >/dev/null 2>&1) ||
            die "apt-get download ${pkgs[*]} failed"
    fi
    for p in "$dl"/*.deb; do dpkg-deb -x "$p" "$edir/root.new"; done
    rm -rf "$edir/root"
    mv "$edir/root.new" "$edir/root"
    rm -rf "$dl"

    local libpath
    libpath=$(find "$edir/root" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
    if LD_LIBRARY_PATH=$libpath ldd "$edir/root/usr/sbin/exim4" | grep -q 'not found'; then
        LD_LIBRARY_PATH=$libpath ldd "$edir/root/usr/sbin/exim4" | grep 'not found' >&2
        die "exim4 still misses libraries"
    fi

    # The wrapper writes the config on first use of a DIR. exim_user = root keeps
    # it from switching to Debian-exim, which could not enter a 0700 test folder.
    cat > "$wrapper.new" <<EOF
#!/bin/sh
# run-exim DIR EXIM-ARGS... — made by t/tools/exim.sh setup
[ \$# -ge 1 ] || { echo "usage: run-exim DIR exim-args..." >&2; exit 64; }
mkdir -p "\$1" || exit 111
dir=\$(cd "\$1" && pwd) || exit 111
shift
if [ ! -f "\$dir/exim.conf" ]; then
    mkdir -p "\$dir/spool" "\$dir/log"
    cat > "\$dir/exim.conf.tmp" <<CONF
# private Exim for sluice tests: accept everything, queue only, deliver nothing
exim_user = root
exim_group = root
primary_hostname = exim.sluice-test.invalid
spool_directory = \$dir/spool
log_file_path = \$dir/log/%slog
keep_environment = LD_LIBRARY_PATH
domainlist local_domains = *
acl_smtp_rcpt = accept
queue_only = true
dsn_advertise_hosts = *
smtp_max_synprot_errors = 1000
message_size_limit = 0
begin routers
all:
  driver = accept
  transport = devnull
begin transports
devnull:
  driver = appendfile
  file = /dev/null
CONF
    mv "\$dir/exim.conf.tmp" "\$dir/exim.conf"
fi
LD_LIBRARY_PATH='$libpath'
export LD_LIBRARY_PATH
exec '$edir/root/usr/sbin/exim4' -C "\$dir/exim.conf" -odq "\$@"
EOF
    chmod 755 "$wrapper.new"
    mv "$wrapper.new" "$wrapper"
    echo "$wrapper"
}

# One line per queued message from the spool's -H files:
#   line 3 is <sender>; after the -option lines and the non-recipient tree
#   ("XX" when empty) comes the recipient count, then one recipient per line,
#   the address first and extra fields (ORCPT, DSN flags, "#3") after a space.
do_envelopes() {
    local dir=$1 f
    [ -d "$dir/spool/input" ] || return 0
    for f in "$dir"/spool/input/*-H; do
        [ -e "$f" ] || continue
        awk '
            NR == 3 { from = $0; next }
            NR < 5 { next }
            state == 0 && /^[0-9]+$/ { n = $0 + 0; state = 1; if (n == 0) state = 2; next }
            state == 1 {
                split($0, a, " ")
                to = to (to == "" ? "" : ",") "<" a[1] ">"
                if (--n == 0) state = 2
                next
            }
            END { print "from=" from " to=" to }
        ' "$f"
    done | LC_ALL=C sort
}

case ${1:-} in
    setup) do_setup ;;
    envelopes)
        [ $# -eq 2 ] || die "usage: exim.sh envelopes DIR"
        do_envelopes "$2" ;;
    *) echo "usage: exim.sh setup | envelopes DIR" >&2; exit 64 ;;
esac
