#!/bin/bash
# t/tools/run.sh — `make run`: a working sluice on 127.0.0.1 from this checkout.
#
#   t/tools/run.sh            (PORT=2525 VAR=./var by default)
#
# Sets up VAR (conf/ with the default tables, spool/, mail/), starts the
# listener (tcpserver + sluice-smtpd) and the queue runner (sluice-runq) in
# the foreground, and stops both, by PID, on Ctrl-C (SIGINT) or SIGTERM.
# Tables in VAR/conf are copied from conf/ the first time only, so they can be
# edited; every start recompiles them.
#
# As root, the servers run as the user `sluice` (created with useradd -r if
# missing) and VAR is given to it, but only if that user can reach this
# checkout; otherwise they run as root, with a warning.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
port=${PORT:-2525}
var=${VAR:-$top/var}
mkdir -p "$var" || exit 1
var=$(cd "$var" && pwd)
conf=$var/conf
spool=$var/spool
mail=$var/mail

say() { printf '%s\n' "$*" >&2; }
die() { say "run: $*"; exit 1; }

case $port in ''|*[!0-9]*) die "bad PORT: $port" ;; esac
for p in tcpserver; do
    command -v $p >/dev/null || die "$p is missing: run .ci/deps (package ucspi-tcp)"
done
for p in bin/sluice-mkcdb libexec/sluice-smtpd libexec/sluice-enqueue libexec/sluice-runq; do
    [ -x "$top/$p" ] || die "$p is missing: run make"
done

# ---- configuration ------------------------------------------------------
mkdir -p "$conf" "$spool" "$mail" || exit 1
for f in "$top"/conf/*; do
    case $f in *.cdb|*.in) continue ;; esac
    [ -f "$f" ] || continue
    b=$(basename "$f")
    if [ "$b" = config ]; then
        # The checkout's settings, with this instance's folders.
        { grep -Ev '^[[:space:]]*(spool|mailroot)[[:space:]]' "$f"
          printf '\n# Set by make run (t/tools/run.sh) for this instance:\n'
          printf 'spool\t%s\nmailroot\t%s\n' "$spool" "$mail"
        } > "$conf/config.new" && mv "$conf/config.new" "$conf/config"
    elif [ ! -e "$conf/$b" ]; then
        cp "$f" "$conf/$b"
    fi
done
for f in "$conf"/*; do
    case $f in *.cdb|*.new|*.tmp.*) continue ;; esac
    "$top/bin/sluice-mkcdb" -o "$f.cdb" "$f" || die "cannot compile $f"
done

# The queue's folders (doc/internals.md); sluice-runq makes what it lacks too.
for d in tmp incoming deferred bad dead quarantine; do
    mkdir -p "$spool/$d" || exit 1
done
[ -p "$spool/trigger" ] || mkfifo -m 0620 "$spool/trigger" || exit 1

# ---- privileges -----------------------------------------------------------
asuser=()       # the prefix that runs a command as the unprivileged user
tcpuser=()      # tcpserver's own -u/-g
if [ "$(id -u)" = 0 ]; then
    if ! id sluice >/dev/null 2>&1; then
        useradd -r -M -d /nonexistent -s /usr/sbin/nologin sluice ||
            say "run: warning: cannot create the user sluice"
    fi
    if id sluice >/dev/null 2>&1 &&
       setpriv --reuid=sluice --regid=sluice --clear-groups -- \
           test -x "$top/libexec/sluice-smtpd" -a -x "$var" 2>/dev/null; then
        chown -R sluice:sluice "$var" || die "cannot chown $var"
        chmod 0750 "$spool"
        asuser=(setpriv --reuid=sluice --regid=sluice --clear-groups --)
        tcpuser=(-u "$(id -u sluice)" -g "$(id -g sluice)")
    else
        say "run: warning: the user sluice cannot reach $var or $top/libexec"
        say "run: warning: (is the checkout under a private folder such as /root?)"
        say "run: warning: running everything as root"
    fi
fi

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
