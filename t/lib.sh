# t/lib.sh — a small TAP library for sluice's tests (bash). Source it first:
#
#   #!/bin/bash
#   . "$(dirname "$0")/lib.sh"
#   plan 3                       # or call done_testing at the end instead
#   cmp -s a b; ok $? "files are equal"      # ok STATUS NAME: 0 passes
#   ok_run "stage runs" sluice-route < in > out
#   is "$(cat out)" "expected" "output"      # is GOT EXPECTED NAME
#   like "$(cat log)" '^250 ' "accepted"     # like GOT BASH-REGEX NAME
#
# Also: unlike, unit PROG ARGS... (a C unit test's lines as this test's),
# diag MSG, note MSG, skip REASON [COUNT], skip_all REASON, bail REASON,
# done_testing; $top (repo root), $tools ($top/t/tools), $tmpdir (a fresh folder,
# removed at exit unless SLUICE_KEEP=1), free_port, start_tcpserver PORT PIDVAR
# PROG ARGS..., spawn PIDVAR CMD ARGS... (any daemon), start_syslog SOCKET OUT,
# start_sink PIDVAR ADDR PORT DIR [OPTIONS...] (Postfix's smtp-sink), wait_for
# CMD TIMEOUT, port_open PORT [ADDR], wait_port PORT [TIMEOUT], stop_pid PID
# [TIMEOUT], at_exit CMD (run at exit); table NAME LINE... and settings
# LINE... (write and compile a table, or config, in $SLUICE_CONF); golden IN
# OUT NAME CMD... and golden_each DIR PREFIX CMD... (golden files, see
# t/README); qid_at TIME (a queue id), now.  t/README says which other
# shared files there are (t/smtpd.sh, t/smtp.sh ...) and how tests are named.
# Every daemon started through this file is stopped by PID when the test exits,
# however it exits. A test still running after SLUICE_TEST_TIMEOUT seconds
# (default 600; 0 turns it off) is stopped and fails. Don't use `set -e`: a
# failed `ok` returns 1.
#
# PATH gets "$top/bin:$top/libexec" first, so tests run the programs of this tree
# (behind SLUICE_TEST_WRAP, which make check SAN=1 and VALGRIND=1 set to a folder
# of scripts that run each program under a checker: t/tools/mkwrap.sh);
# SLUICE_ALLOW_ROOT=1 lets sluice-smtpd and sluice-smtp run as root.
# Daemons never inherit the test's standard output: prove would wait for them.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$top/t/tools
PATH=${SLUICE_TEST_WRAP:+$SLUICE_TEST_WRAP:}$top/bin:$top/libexec:$PATH
export PATH
# The suite runs as root on CI machines, and sluice-smtpd and sluice-smtp
# refuse root (lib/priv.h) unless told they are in a test rig.  A test of
# the refusal, or of the users of a real chain, unsets it.
export SLUICE_ALLOW_ROOT=1
# Debian's python3-* modules load only under this python (see TESTING.md).
PY=/usr/bin/python3

_t_n=0          # tests run
_t_fail=0       # tests failed
_t_plan=        # planned count, if any
_t_done=        # done_testing called
_t_pids=()      # daemons to stop at exit
_t_atexit=()    # commands to run at exit
_t_main=$BASHPID    # the test's own shell, as opposed to forked children

# A per-test folder. Mode 0711: Postfix and Exim helpers switch to other users
# that must be able to pass through it to their own subfolders.
tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-$(basename "$0" .t).XXXXXX") || {
    echo "Bail out! cannot make a temporary folder"; exit 255; }
chmod 0711 "$tmpdir"

# ---- TAP ------------------------------------------------------------------

plan() { _t_plan=$1; echo "1..$1"; }

# unit PROG [ARG...] — a C unit test (t/tap.h): its ok lines become this
# test's, numbered on from here (their plan line aside), then one more: it
# ran to its end (exit 0).
unit() {
    local rc
    "$@" > "$tmpdir/unit.out"
    rc=$?
    awk -v base="$_t_n" '
        /^(not )?ok [0-9]+/ { n = $0; sub(/^(not )?ok [0-9]+/, "", n)
                              print ($1 == "not" ? "not ok " : "ok ") (base + ++k) n; next }
        !/^1\.\./ { print }' "$tmpdir/unit.out"
    _t_n=$((_t_n + $(grep -c '^\(not \)\?ok ' "$tmpdir/unit.out")))
    _t_fail=$((_t_fail + $(grep -c '^not ok ' "$tmpdir/unit.out")))
    ok $rc "$(basename "$1") ran to its end"
}

diag() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*" >&2; }
note() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*"; }

# ok STATUS NAME — passes when STATUS is 0 (the exit status of a command).
ok() {
    local status=$1 name=${2:-}
    _t_n=$((_t_n + 1))
    name=${name//#/\\#}
    if [ "$status" = 0 ]; then
        echo "ok $_t_n - $name"
        return 0
    fi
    echo "not ok $_t_n - $name"
    _t_fail=$((_t_fail + 1))
    diag "  Failed test '$name'
  at $(_t_where)."
    return 1
}

# The test file and line that called into this library.
_t_where() {
    local j
    for ((j = 1; j < ${#BASH_SOURCE[@]}; j++)); do
        if [ "${BASH_SOURCE[j]}" != "${BASH_SOURCE[0]}" ]; then
            echo "${BASH_SOURCE[j]} line ${BASH_LINENO[j - 1]}"
            return
        fi
    done
}

# ok_run NAME CMD ARGS... — runs the command, passes when it exits 0.
ok_run() {
    local name=$1 rc=0
    shift
    "$@" || rc=$?
    [ $rc = 0 ] || diag "  '$*' exited $rc"
    ok $rc "$name"
}

is() {
    local got=$1 exp=$2 name=${3:-}
    if [ "$got" == "$exp" ]; then ok 0 "$name"; return 0; fi
    ok 1 "$name"
    diag "         got: '$got'
    expected: '$exp'"
    return 1
}

like() {
    local got=$1 re=$2 name=${3:-}
    if [[ $got =~ $re ]]; then ok 0 "$name"; return 0; fi
    ok 1 "$name"
    diag "                  '$got'
    doesn't match '$re'"
    return 1
}

unlike() {
    local got=$1 re=$2 name=${3:-}
    if ! [[ $got =~ $re ]]; then ok 0 "$name"; return 0; fi
    ok 1 "$name"
    diag "                  '$got'
          matches '$re'"
    return 1
}

# skip REASON [COUNT] — counted by prove as skipped, not as passed.
skip() {
    local reason=$1 count=${2:-1} i
    for ((i = 0; i < count; i++)); do
        _t_n=$((_t_n + 1))
        echo "ok $_t_n # skip $reason"
    done
}

# skip_all REASON — before any test: the whole file is skipped.
skip_all() { echo "1..0 # SKIP $1"; _t_plan=0; exit 0; }

bail() { echo "Bail out! $*"; exit 255; }

done_testing() {
    [ -n "$_t_plan" ] || { echo "1..$_t_n"; _t_plan=$_t_n; }
    _t_done=1
}

# ---- processes ----------------------------------------------------------

at_exit() { _t_atexit+=("$*"); }
# system_user NAME — a system user of the test's own (no home, no shell),
# removed at exit; bails out when useradd cannot make it.  Root only.
system_user() {
    useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$1" || bail "useradd $1"
    at_exit "userdel $1"
}

# stop_pid PID [TIMEOUT] — TERM, then KILL after TIMEOUT seconds (default 5).
stop_pid() {
    local pid=$1 timeout=${2:-5} i
    [ -n "$pid" ] || return 0
    # A child that is still a copy of this shell (forked, not yet exec'd) would
    # run this file's traps on TERM: give it a moment to exec first.
    for ((i = 0; i < 20; i++)); do
        cmp -s "/proc/$pid/cmdline" "/proc/$_t_main/cmdline" 2>/dev/null || break
        sleep 0.05
    done
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null   # reap it when it is our child
    return 0
}

# wait_for CMD TIMEOUT — run CMD (a shell string) every 0.1 s until it succeeds;
# returns 1 after TIMEOUT seconds (default 10).
wait_for() {
    local cmd=$1 timeout=${2:-10} i
    for ((i = 0; i < timeout * 10; i++)); do
        eval "$cmd" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    eval "$cmd" >/dev/null 2>&1
}

# port_open PORT [ADDR] — something accepts connections on ADDR:PORT
# (ADDR 127.0.0.1 by default).
port_open() {
    "$PY" -c 'import socket,sys
s=socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[2], int(sys.argv[1]))) == 0 else 1)' "$1" "${2:-127.0.0.1}"
}

wait_port() { wait_for "port_open $1" "${2:-10}"; }

# free_port — print a TCP port on 127.0.0.1 that nothing listens on, below the
# ephemeral range so that outgoing connections do not take it meanwhile. Random,
# so that tests run in parallel (prove -j) rarely pick the same one, and never
# one this test already got.
free_port() {
    touch "$tmpdir/.ports"
    "$PY" - "$tmpdir/.ports" <<'EOF'
import random, socket, sys
used = set(open(sys.argv[1]).read().split())
for _ in range(200):
    p = random.randint(20000, 32000)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    open(sys.argv[1], "a").write("%d\n" % p)
    print(p)
    sys.exit(0)
sys.exit("no free port found")
EOF
}

# spawn PIDVAR CMD ARGS... — start a daemon in the background, its output in
# $tmpdir/NAME.log, stopped at exit; sets the variable PIDVAR to its PID.
spawn() {
    local var=$1 log
    shift
    log=$tmpdir/$(basename "$1").log
    "$@" </dev/null >>"$log" 2>&1 &
    printf -v "$var" %s "$!"
    _t_pids+=("$!")
}

# start_syslog SOCKET OUT — a stand-in for syslogd: a unix datagram socket
# at SOCKET whose messages are appended to OUT, one a line (name the socket
# with the setting syslog_socket). Returns once the socket is there.
start_syslog() {
    local pid
    spawn pid /usr/bin/python3 "$tools/syslog-listen.py" "$1" "$2"
    wait_for "[ -S '$1' ]" 10 || bail "no syslog listener at $1"
}

# start_tcpserver PORT PIDVAR PROG ARGS... — PROG serves each connection on
# 127.0.0.1:PORT (UCSPI: the socket is its stdin/stdout). -R -H: no ident or
# DNS lookups, -l 0: no local name lookup, -b 100: a deep backlog. Returns once
# the port accepts; its stderr (and PROG's) goes to $tmpdir/tcpserver-PORT.log.
start_tcpserver() {
    local port=$1 var=$2 pid
    shift 2
    tcpserver -R -H -l 0 -b 100 127.0.0.1 "$port" "$@" \
        </dev/null >>"$tmpdir/tcpserver-$port.log" 2>&1 &
    pid=$!
    printf -v "$var" %s "$pid"
    _t_pids+=("$pid")
    local i
    for ((i = 0; i < 100; i++)); do
        port_open "$port" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    diag "tcpserver on port $port did not start:
$(cat "$tmpdir/tcpserver-$port.log" 2>/dev/null)"
    return 1
}

# start_sink PIDVAR ADDR PORT DIR [SMTP-SINK OPTIONS...] — Postfix's
# smtp-sink on ADDR:PORT, each message dumped into DIR as one file; its
# output in $tmpdir/sink-PORT.log.  Returns once the port accepts.
start_sink() {
    local var=$1 addr=$2 port=$3 dir=$4 pid i
    shift 4
    mkdir -p "$dir"
    chown nobody "$dir"
    /usr/sbin/smtp-sink -u nobody -d "$dir/" "$@" "$addr:$port" 100 \
        </dev/null >>"$tmpdir/sink-$port.log" 2>&1 &
    pid=$!
    _t_pids+=("$pid")
    printf -v "$var" %s "$pid"
    for ((i = 0; i < 100; i++)); do
        port_open "$port" "$addr" && return 0
        sleep 0.1
    done
    bail "smtp-sink on $addr:$port did not start"
}

# ---- tables, golden files, queue ids -----------------------------------

# table NAME LINE... — write $SLUICE_CONF/NAME, one LINE a line, and compile it.
table() {
    local name=$1 mask=022
    shift
    # A table of passwords is its owner's alone, or sluice-smtp refuses it.
    case $name in smtp_auth|*passwords) mask=077 ;; esac
    (umask $mask; printf '%s\n' "$@" > "${SLUICE_CONF:?table needs SLUICE_CONF}/$name")
    sluice-mkcdb "$SLUICE_CONF/$name" || bail "sluice-mkcdb $name failed"
}

# settings LINE... — write $SLUICE_CONF/config, one setting a line, and
# compile it; of several lines for one setting the last wins.
settings() {
    printf '%s\n' "$@" | awk '{ if (!($1 in v)) k[n++] = $1; v[$1] = $0 }
        END { for (i = 0; i < n; i++) print v[k[i]] }' > "${SLUICE_CONF:?settings needs SLUICE_CONF}/config"
    sluice-mkcdb "$SLUICE_CONF/config" || bail "sluice-mkcdb config failed"
}

# golden IN OUT NAME CMD ARGS... — one test, NAME, of the golden-file
# convention (t/README); IN and OUT are paths without their suffix.
# CMD ARGS... and the options of IN.args (one a line) read IN.in; standard
# output, through the command $golden_filter when it is set, must be OUT.out
# (empty when there is none), standard error OUT.err when there is one, the
# exit status OUT.status (0 when there is none).  GOLDEN_UPDATE=1 rewrites
# OUT.out, and OUT.err and OUT.status where they are (or the status is not 0).
golden() {
    local in=$1 out=$2 name=$3 rc=0 want=0 why= args=()
    local got=$tmpdir/golden.out err=$tmpdir/golden.err
    shift 3
    [ ! -e "$in.args" ] || mapfile -t args < "$in.args"
    "$@" "${args[@]}" < "$in.in" > "$got.raw" 2> "$err" || rc=$?
    if [ -n "${golden_filter:-}" ]; then
        eval "$golden_filter" < "$got.raw" > "$got"
    else
        mv "$got.raw" "$got"
    fi
    if [ -n "${GOLDEN_UPDATE:-}" ]; then
        [ ! -s "$got" ] && [ ! -e "$out.out" ] || cp "$got" "$out.out"
        [ ! -e "$out.err" ] || cp "$err" "$out.err"
        [ "$rc" = 0 ] && [ ! -e "$out.status" ] || echo "$rc" > "$out.status"
    fi
    [ ! -e "$out.status" ] || want=$(cat "$out.status")
    [ "$rc" = "$want" ] || why="exit $rc, not $want; "
    if [ -e "$out.out" ]; then
        cmp -s "$out.out" "$got" || why+="standard output is not $(basename "$out").out; "
    else
        [ ! -s "$got" ] || why+="standard output is not empty; "
    fi
    [ ! -e "$out.err" ] || cmp -s "$out.err" "$err" ||
        why+="standard error is not $(basename "$out").err; "
    if [ -z "$why" ]; then ok 0 "$name"; return 0; fi
    ok 1 "$name"
    diag "$why"
    if [ -e "$out.out" ]; then diag "$(diff -u "$out.out" "$got" | head -30)"; fi
    if [ -e "$out.err" ]; then diag "$(diff -u "$out.err" "$err" | head -10)"
    else diag "standard error: $(head -5 "$err")"; fi
    return 1
}

# golden_each DIR PREFIX CMD ARGS... — golden on every DIR/NAME.in, giving
# DIR/NAME.out (and .err, .status), as the test "PREFIX NAME".
golden_each() {
    local dir=$1 prefix=$2 f
    shift 2
    for f in "$dir"/*.in; do
        golden "${f%.in}" "${f%.in}" "$prefix $(basename "${f%.in}")" "$@"
    done
}

# qid_at TIME — a queue id made at TIME (seconds since the epoch).
qid_at() { printf '%09x%05x%07x' "$1" "$((RANDOM % 100000))" "$$"; }

# now — the time, in seconds with nanoseconds.
now() { date +%s.%N; }

# ---- exit ---------------------------------------------------------------

_t_exit() {
    local rc=$? i
    # A child forked from this shell can catch a signal before it drops our
    # traps (stop_pid right after spawn): it must not clean up the test.
    [ "$BASHPID" = "$_t_main" ] || exit "$rc"
    trap - EXIT
    [ -z "${_t_watch:-}" ] || kill "$_t_watch" 2>/dev/null
    for ((i = ${#_t_atexit[@]} - 1; i >= 0; i--)); do
        eval "${_t_atexit[i]}" >/dev/null 2>&1 || true
    done
    for i in "${_t_pids[@]}"; do stop_pid "$i" 3; done
    if [ "${SLUICE_KEEP:-0}" = 1 ]; then
        echo "# kept $tmpdir" >&2
    else
        rm -rf "$tmpdir"
    fi
    # Like Test::More: the status comes from the results, since the status of
    # the script's last command means nothing. A bail-out (255), a signal (>128)
    # or an exit before any test keeps its own status.
    if [ $rc -lt 128 ] && { [ -n "$_t_plan" ] || [ $_t_n -gt 0 ]; }; then
        rc=0
        if [ -z "$_t_plan" ] && [ -z "$_t_done" ]; then
            diag "Tests were run but no plan was declared and done_testing was not seen."
            rc=255
        elif [ "$_t_plan" != "$_t_n" ]; then
            diag "Looks like you planned $_t_plan tests but ran $_t_n."
            rc=255
        elif [ $_t_fail -gt 0 ]; then
            diag "Looks like you failed $_t_fail test(s) of $_t_n."
            rc=$((_t_fail > 254 ? 254 : _t_fail))
        fi
    fi
    exit $rc
}
trap _t_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A watchdog, so that a hung test fails instead of eating CI's time:
# after SLUICE_TEST_TIMEOUT seconds (default 600, 0 = none) it stops the test's
# children by PID (bash runs a trap only once its foreground child is gone) and
# then the test itself, whose EXIT trap cleans up. Its stdout is not prove's.
_t_watchdog() {
    local left=$1 p
    trap - EXIT INT TERM HUP
    while [ "$left" -gt 0 ]; do
        sleep 1
        # Gone, or a zombie: a test that exec'd a program
        # (t/10-addr-parse-format-xtext.t) stays a zombie until prove reaps
        # it, and prove waits for this loop's stderr to close first.
        case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$_t_main/status" 2>/dev/null) in
        ''|Z) exit 0 ;;
        esac
        left=$((left - 1))
    done
    echo "# $(basename "$0"): timed out after ${SLUICE_TEST_TIMEOUT:-600} s" >&2
    for p in $(ps -o pid= --ppid "$_t_main"); do
        [ "$p" = "$BASHPID" ] || kill -TERM "$p" 2>/dev/null
    done
    kill -TERM "$_t_main" 2>/dev/null
    exit 0
}
if [ "${SLUICE_TEST_TIMEOUT:-600}" -gt 0 ]; then
    # Started from a subshell, so it is not the test's child: a test's bare
    # `wait` (for its own background jobs) must not wait for the watchdog.
    _t_watch=$( (_t_watchdog "${SLUICE_TEST_TIMEOUT:-600}" </dev/null >/dev/null 2>&3 &
        echo $!) 3>&2)
fi
