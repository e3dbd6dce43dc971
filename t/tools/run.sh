#!/bin/bash
# t/tools/run.sh — `make run`: a working sluice on 127.0.0.1 from this checkout.
#
#   t/tools/run.sh            (PORT=2525 VAR=./var SLUICE_USER=sluice by default)
#
# Sets up VAR (conf/ with the default tables, spool/, mail/), starts the
# listener (tcpserver + sluice-smtpd) and the queue runner (sluice-runq) in
# the foreground, and stops both, by PID, on Ctrl-C (SIGINT) or SIGTERM.
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

setup() {
    local f b d
    own_dir "$conf"; own_dir "$spool"; own_dir "$mail"
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

case $port in ''|*[!0-9]*) die "bad PORT: $port" ;; esac
for p in tcpserver; do
    command -v $p >/dev/null || die "$p is missing: run .ci/deps (package ucspi-tcp)"
done
for p in bin/sluice-mkcdb libexec/sluice-smtpd libexec/sluice-enqueue libexec/sluice-runq; do
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
        else
            say "run: warning: the user $user cannot reach $var or $top/libexec"
            say "run: warning: (is the checkout under a private folder such as /root?)"
            say "run: warning: running everything as root"
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

tcpserver -R -H -l 0 -b 100 -c 100 "${tcpuser[@]}" 127.0.0.1 "$port" \
    "$top/libexec/sluice-smtpd" </dev/null &
pids+=($!)
"${asuser[@]}" "$top/libexec/sluice-runq" </dev/null &
pids+=($!)

# Wait until the port answers, or a server dies at its start.
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { say "run: a server failed to start"; stop 1; }; done
    sleep 0.1
done

sm="SLUICE_CONF=$conf SLUICE_LIBEXEC=$top/libexec $top/bin/sendmail"
[ ${#asuser[@]} = 0 ] || sm="${asuser[*]} env $sm"
cat >&2 <<EOF

sluice is running: SMTP on 127.0.0.1:$port, queue in $spool
(tcpserver pid ${pids[0]}, sluice-runq pid ${pids[1]}; Ctrl-C stops both)

Send a message:
  swaks -s 127.0.0.1 -p $port --to test@example.test
  printf 'Subject: hello\n\nhi\n' | $sm test@example.test
It lands in $mail/test/new/
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
