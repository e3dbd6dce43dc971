#!/bin/bash
# t/tools/mkwrap.sh valgrind DIR — write into DIR a script per program of
# bin/ and libexec/ that runs the real one under valgrind's memcheck;
# make check VALGRIND=1 puts DIR first on PATH (SLUICE_TEST_WRAP, t/lib.sh)
# and SLUICE_SMTPD (t/smtpd.sh).  A finding makes the program exit 67,
# which no test expects, and is logged in DIR/log/NAME.PID: invalid reads
# and writes, uses of uninitialised values, bad frees, and for the
# long-running programs (those of t/asan/, as under SAN=1) memory
# definitely lost.  The short-lived filters free by returning from main,
# which valgrind counts as definitely lost: not checked there.
set -eu
mode=$1 dir=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$dir"
mkdir -p "$dir/log"
# Tests run programs as nobody too (the queue of an unprivileged owner):
# their valgrind must be able to write its log here.
chmod 1777 "$dir/log"
dir=$(cd "$dir" && pwd)
for p in "$top"/bin/* "$top"/libexec/*; do
    [ -f "$p" ] && [ -x "$p" ] || continue
    name=$(basename "$p")
    case $mode in
    valgrind)
        leaks=no
        [ -f "$top/t/asan/$name" ] && leaks=full
        cat > "$dir/$name" <<EOS
#!/bin/sh
exec valgrind -q --error-exitcode=67 --leak-check=$leaks \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
    --log-file="$dir/log/$name.%p" "$p" "\$@"
EOS
        ;;
    *) echo "mkwrap.sh: unknown mode $mode" >&2; exit 111 ;;
    esac
    chmod 755 "$dir/$name"
done
