#!/bin/bash
# t/tools/run.sh — `make run`: a working sluice on 127.0.0.1 from this checkout.
#
#   t/tools/run.sh            (PORT=2525 VAR=./var SLUICE_USER=sluice by default;
#                              SMTPS_PORT=PORT+1, SUBMISSION_PORT=PORT+2)
#
# Sets up VAR (conf/ with the default tables, spool/, mail/, tls/), starts
# the listeners (sluice-smtpd -l: SMTP with STARTTLS on PORT and submission
# on SUBMISSION_PORT; tcpserver + sluice-tlsd + sluice-smtpd: SMTPS on
# SMTPS_PORT) and the
# queue runner (sluice-runq) in the foreground, and stops them, by PID, on
# Ctrl-C (SIGINT) or SIGTERM.  On the first start it makes a self-signed
# certificate for localhost (VAR/tls/cert.pem, key.pem) and a user "test"
# whose password is in VAR/tls/test-password (table smtpd_passwords).
# Tables in VAR/conf are copied from conf/ the first time only, so they can be
# edited; every start recompiles them.
#
# As root, the servers run as the user SLUICE_USER (created with useradd -r
# if missing), but only if that user can reach this checkout; otherwise they
# run as root, with a warning.  That user owns VAR and everything in it, so
# root must never write through it: root only makes VAR (when missing, and
# only under folders the user can neither own nor write) and gives it to the
# user; everything inside is set up by `run.sh --setup` run as the user.
# Running everything as root, it refuses a VAR the user could change.
set -u

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
top=$(cd "$(dirname "$0")/../.." && pwd)
port=${PORT:-2525}
user=${SLUICE_USER:-sluice}
# Absolute, without . or .. (symbolic links are followed later, with care).
var=$(realpath -m -s -- "${VAR:-$top/var}") || exit 1
conf=$var/conf
spool=$var/spool
mail=$var/mail
tls=$var/tls

say() { printf '%s\n' "$*" >&2; }
die() { say "run: $*"; exit 1; }

# ---- configuration: as the server user when started as root ---------------

# own_dir DIR — DIR is a folder of ours, made when missing; never a link.
own_dir() {
    [ ! -L "$1" ] || die "$1 is a symbolic link (to $(readlink -- "$1")): refusing; make run keeps its folders in $var"
    [ -d "$1" ] || mkdir -- "$1" || die "cannot make $1"
}

# put DEST — standard input as DEST, through a new file and a rename, so that
# nothing is written through DEST or a leftover temporary name (a link).
put() {
    local t
    t=$(mktemp -- "$1.XXXXXX.new") || die "cannot write in $(dirname "$1")"
    cat > "$t" && chmod 0644 -- "$t" && mv -f -- "$t" "$1" || { rm -f -- "$t"; die "cannot write $1"; }
}

# tls_setup — the self-signed certificate and the test user, made once, by
# the user the servers run as, readable by it alone.
tls_setup() {
    local pw
    own_dir "$tls"
    if [ ! -s "$tls/cert.pem" ] || [ ! -s "$tls/key.pem" ]; then
        rm -f -- "$tls/cert.pem" "$tls/key.pem"
        (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -nodes -keyout "$tls/key.pem" -out "$tls/cert.pem" -days 3650 \
            -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            >/dev/null 2>&1) || die "openssl cannot make a certificate in $tls"
    fi
    if [ ! -s "$conf/smtpd_passwords" ]; then
        pw=$(openssl rand -hex 8) || die "openssl cannot make a password"
        (umask 077
         printf '%s\n' "$pw" > "$tls/test-password" &&
         printf 'test %s\n' "$(printf '%s' "$pw" | openssl passwd -6 -stdin)" \
             > "$conf/smtpd_passwords") || die "cannot write $conf/smtpd_passwords"
    fi
}

setup() {
    local f b d
    own_dir "$conf"; own_dir "$spool"; own_dir "$mail"
    tls_setup
    # Left by an interrupted start, or by an older make run.
    rm -f -- "$conf"/*.??????.new "$conf/config.new"
    for f in "$top"/conf/*; do
        case $f in *.cdb|*.in) continue ;; esac
        [ -f "$f" ] || continue
        b=$(basename "$f")
        if [ "$b" = config ]; then
            # The checkout's settings, with this instance's folders.
            { grep -Ev '^[[:space:]]*(spool|mailroot)[[:space:]]' "$f"
              printf '\n# Set by make run (t/tools/run.sh) for this instance:\n'
              printf 'spool\t%s\nmailroot\t%s\n' "$spool" "$mail"
              printf 'smtpd_tls_cert\t%s\nsmtpd_tls_key\t%s\nsmtpd_auth\tyes\n' \
                  "$tls/cert.pem" "$tls/key.pem"
            } | put "$conf/config" || exit 1
        elif [ ! -e "$conf/$b" ] && [ ! -L "$conf/$b" ]; then
            put "$conf/$b" < "$f"
        fi
    done
    for f in "$conf"/*; do
        case $f in *.cdb|*.new|*.tmp.*) continue ;; esac
        [ ! -L "$f" ] || die "$f is a symbolic link: refusing to compile it; make run's tables are plain files"
        "$top/bin/sluice-mkcdb" -o "$f.cdb" "$f" || die "cannot compile $f"
    done
    # Password hashes: for the server's user alone (sluice-auth insists).
    chmod 0600 -- "$conf/smtpd_passwords" "$conf/smtpd_passwords.cdb"
    # The queue's folders (doc/internals.md); sluice-runq makes what it lacks too.
    for d in tmp incoming deferred bad dead quarantine hold; do
        own_dir "$spool/$d"
    done
    [ ! -L "$spool/trigger" ] || die "$spool/trigger is a symbolic link: refusing"
    [ -p "$spool/trigger" ] || mkfifo -m 0620 "$spool/trigger" || exit 1
    chmod 0750 "$spool"
}

if [ "${1:-}" = --setup ]; then
    setup
    exit 0
fi

sport=${SMTPS_PORT:-$((port + 1))}
subport=${SUBMISSION_PORT:-$((port + 2))}
for p in "$port" "$sport" "$subport"; do
    case $p in ''|*[!0-9]*) die "bad port: $p (PORT, SMTPS_PORT, SUBMISSION_PORT)" ;; esac
done
for p in tcpserver openssl; do
    command -v $p >/dev/null || die "$p is missing: run .ci/deps (packages ucspi-tcp, openssl)"
done
for p in bin/sluice-mkcdb libexec/sluice-smtpd libexec/sluice-enqueue libexec/sluice-runq \
         libexec/sluice-tlsd libexec/sluice-auth; do
    [ -x "$top/$p" ] || die "$p is missing: run make"
done

# ---- privileges -----------------------------------------------------------
# As root, the user must not be able to redirect what root writes: every
# folder root makes or writes in is neither the user's nor writable by it
# (a sticky folder such as /tmp excepted: there it can only remove its own).
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }

# check_dir DIR — refuse DIR when the user could change what it names.
check_dir() {
    local d=$1 own tgt
    own=$(stat -c %u -- "$d") && tgt=$(stat -L -c %u -- "$d") ||
        die "cannot follow $d"
    [ "$own" != "$uid" ] && [ "$tgt" != "$uid" ] ||
        die "$d belongs to $user, which could redirect what root writes there: refusing; give VAR= a folder root owns"
    if [ -L "$d" ]; then
        walk "$(readlink -f -- "$d")"
    elif [ ! -k "$d" ] && as_user test -w "$d"; then
        die "$d is writable by $user, which could redirect what root writes there: refusing; give VAR= a folder root owns"
    fi
}

# walk PATH — check each folder from / down to PATH, making the missing ones.
walk() {
    local d= part parts
    check_dir /
    IFS=/ read -ra parts <<<"${1#/}"
    for part in "${parts[@]}"; do
        [ -n "$part" ] || continue
        d=$d/$part
        [ -e "$d" ] || [ -L "$d" ] || mkdir -- "$d" 2>/dev/null || [ -d "$d" ] ||
            die "cannot make $d"
        check_dir "$d"
        [ -d "$d" ] || die "$d is not a folder"
    done
}

# VAR for the user: made by root only when missing, then the user's alone.
give_var() {
    if [ -L "$var" ]; then
        die "$var is a symbolic link (to $(readlink -- "$var")): refusing; give VAR= the folder itself"
    elif [ ! -e "$var" ]; then
        mkdir -- "$var" && chown -h "$uid:$gid" -- "$var" || die "cannot make $var"
    elif [ ! -d "$var" ]; then
        die "$var is not a folder"
    elif [ "$(stat -c %u -- "$var")" != "$uid" ]; then
        die "$var belongs to $(stat -c %U -- "$var"), not to $user, which the servers run as: remove it, or chown -R $user: it if all in it is make run's"
    fi
}

# VAR for root alone: nothing in it may be the user's or writable by all.
root_var() {
    local f
    walk "$var"
    f=$(find "$var" \( -user "$uid" -o \( ! -type l \( -perm -0002 -o -group "$gid" -perm -0020 \) \) \) -print -quit)
    [ -z "$f" ] || die "$f belongs to $user or is writable by it or by all: running everything as root, make run refuses it; remove it or give VAR= another folder"
}

asuser=()       # the prefix that runs a command as the unprivileged user
tcpuser=()      # tcpserver's own -u/-g
smtpduser=()    # sluice-smtpd's listener's -u
if [ "$(id -u)" = 0 ]; then
    if ! id "$user" >/dev/null 2>&1; then
        useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$user" ||
            say "run: warning: cannot create the user $user"
    fi
    if id "$user" >/dev/null 2>&1; then
        uid=$(id -u "$user") gid=$(id -g "$user")
        walk "$(dirname "$var")"
        if as_user test -x "$top/libexec/sluice-smtpd" -a -x "$top/bin/sluice-mkcdb" \
               -a -x "$self" -a -r "$top/conf/config" -a -x "$(dirname "$var")"; then
            give_var
            asuser=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
            tcpuser=(-u "$uid" -g "$gid")
            smtpduser=(-u "$user")
        else
            say "run: warning: the user $user cannot reach $var or $top/libexec"
            say "run: warning: (is the checkout under a private folder such as /root?)"
            say "run: warning: running everything as root"
            # sluice-smtpd and sluice-smtp refuse root unless told (lib/priv.h).
            export SLUICE_ALLOW_ROOT=1
            root_var
        fi
    else
        mkdir -p -- "$var" || exit 1
    fi
else
    mkdir -p -- "$var" || exit 1
fi
VAR=$var "${asuser[@]}" "$self" --setup || exit 1

export SLUICE_CONF=$conf SLUICE_SPOOL=$spool SLUICE_LIBEXEC=$top/libexec
export PATH=$top/bin:$top/libexec:$PATH

# ---- start, and stop by PID -----------------------------------------------
pids=()
stop() {
    local p i
    trap - INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    say "run: stopped"
    exit "${1:-0}"
}
trap 'stop 0' INT TERM

# SMTP with STARTTLS (port 25's part), SMTPS (465: sluice-tlsd first) and
# submission (587: AUTH before MAIL, RFC 6409); 465 is for submission too.
# SMTP and submission: sluice-smtpd's own listener (a session per
# connection, forked); SMTPS: tcpserver, for the chain sluice-tlsd, sluice-smtpd.
"$top/libexec/sluice-smtpd" -l "127.0.0.1:$port" -c 100 -b 100 "${smtpduser[@]}" </dev/null &
pids+=($!)
SLUICE_SMTPD_MODE=submission tcpserver -R -H -l 0 -b 100 -c 100 "${tcpuser[@]}" \
    127.0.0.1 "$sport" "$top/libexec/sluice-tlsd" "$top/libexec/sluice-smtpd" </dev/null &
pids+=($!)
SLUICE_SMTPD_MODE=submission "$top/libexec/sluice-smtpd" -l "127.0.0.1:$subport" \
    -c 100 -b 100 "${smtpduser[@]}" </dev/null &
pids+=($!)
"${asuser[@]}" "$top/libexec/sluice-runq" </dev/null &
pids+=($!)

# Wait until the ports answer, or a server dies at its start.
for p in "$port" "$sport" "$subport"; do
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
        for q in "${pids[@]}"; do kill -0 "$q" 2>/dev/null || { say "run: a server failed to start"; stop 1; }; done
        sleep 0.1
    done
done
pw=$(cat "$tls/test-password" 2>/dev/null) || pw='(see VAR/tls/test-password)'

sm="SLUICE_CONF=$conf SLUICE_LIBEXEC=$top/libexec $top/bin/sendmail"
[ ${#asuser[@]} = 0 ] || sm="${asuser[*]} env $sm"
cat >&2 <<EOF

sluice is running, queue in $spool:
  SMTP, STARTTLS    127.0.0.1:$port
  SMTPS             127.0.0.1:$sport  (TLS at once; submission: AUTH first)
  submission        127.0.0.1:$subport  (STARTTLS, then AUTH)
(listener pids ${pids[0]} ${pids[1]} ${pids[2]}, sluice-runq pid ${pids[3]}; Ctrl-C stops them)
Certificate: $tls/cert.pem (self-signed, for localhost)
Test user:   test, password $pw (table $conf/smtpd_passwords)

Send a message:
  swaks -s 127.0.0.1 -p $port --to test@example.test
  printf 'Subject: hello\n\nhi\n' | $sm test@example.test
It lands in $mail/test/new/
Submit with TLS and AUTH as the test user (who may relay):
  swaks -s 127.0.0.1 -p $subport --tls --auth PLAIN --auth-user test --auth-password $pw --to test@example.test
  swaks -s 127.0.0.1 -p $sport --tlsc --auth PLAIN --auth-user test --auth-password $pw --to test@example.test
The queue:   SLUICE_SPOOL=$spool $top/bin/mailq
The tables:  $conf/ (users, domains, access, ...; recompiled at each start)

EOF

# Run until a signal, or until a server stops on its own.
while :; do
    wait -n "${pids[@]}" 2>/dev/null
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null || { say "run: process $p exited"; stop 1; }
    done
done
