# t/bench/modes.sh — sourced by accept.sh, files.sh and split.sh after
# `set -u`, with their arguments: MODE N, taken off ("$@" keeps the rest).
# Sets mode, n, src (smtp-source's options for MODE), top, b (a scratch
# folder, mode 755, for cleanup to remove), uid and gid (nobody's);
# defines free_port, port_open and wait_port, and cleanup (at exit).
me=$(basename "$0")
mode=${1:?usage: $me new|reuse|one N ...} n=${2:?N}
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
case $mode in
new) src=(-s 10) ;; reuse) src=(-s 10 -d) ;; one) src=(-s 1 -d) ;;
*) echo "$me: MODE is new, reuse or one" >&2; exit 2 ;;
esac
b=$(mktemp -d "${TMPDIR:-/tmp}/sluice-${me%.sh}.XXXXXX") || exit 1
chmod 755 "$b"
uid=$(id -u nobody) gid=$(id -g nobody)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { local i; for ((i = 0; i < 100; i++)); do port_open "$1" && return 0; sleep 0.1; done; return 1; }
# At exit: the server the caller started (srv_pid) killed, its Postfix
# (pf_dir) stopped, b removed.  (files.sh has its own.)
srv_pid='' pf_dir=''
cleanup() {
    [ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null
    [ -z "$pf_dir" ] || "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    rm -rf "$b"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
