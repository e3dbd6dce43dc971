#!/bin/bash
# t/bench/run.sh — `make bench`: whole-process figures, printed as a table.
#
#   a. stream pass-through of one 50 MB message (MB/s) and of 10,000 small
#      messages (messages/s) through libexec/sluice-envelope (t/streamcat if
#      it is missing), with the stage's peak resident memory (PASS under 8 MB);
#   b. each program's exec-to-exit cost on empty input (µs per run);
#   c. end to end, smtp-source -> Maildir, 10 sessions of 5 KB messages, for
#      sluice (make run's setup: tcpserver + sluice-smtpd + sluice-runq with
#      the default chain) and then, alone, for a private Postfix configured
#      the same way (t/tools/postfix.sh), with the ratio sluice/Postfix.
#
# Environment: BENCH_N (messages end to end, default 2000), BENCH_EXEC_RUNS
# (default 200), BENCH_REPS (best of, for a, default 3), BENCH_SKIP (any of
# "stream exec e2e postfix", space-separated), BENCH_KEEP=1 keeps the folder.
# Everything runs on 127.0.0.1 and is stopped by PID at the end.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_N:-2000}
RUNS=${BENCH_EXEC_RUNS:-200}
REPS=${BENCH_REPS:-3}
SKIP=" ${BENCH_SKIP:-} "
RSS_LIMIT_KB=8192
PY=/usr/bin/python3

b=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX") || exit 1
chmod 0711 "$b"     # the sluice and Postfix users pass through it
run_pid=
pf_dir=

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$run_pid" ]; then
        kill -TERM "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
    fi
    [ -z "$pf_dir" ] || "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "(kept $b)"
    else
        rm -rf "$b"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }
# ms between two now_ns readings
ms() { echo $(( ($2 - $1) / 1000000 )); }
skipped() { [[ $SKIP == *" $1 "* ]]; }

free_port() {
    "$PY" - <<'EOF'
import random, socket
for _ in range(500):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()
EOF
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# count_files DIR — files in DIR, without forking.
count_files() {
    local f=("$1"/*)
    [ -e "${f[0]}" ] && echo ${#f[@]} || echo 0
}

hr() { printf '%s\n' "------------------------------------------------------------------------"; }

# A snapshot of the programs, so that a `make` running meanwhile in this shared
# tree (which rewrites them in place) cannot disturb the figures.
tree=$b/tree
mkdir -p "$tree/bin" "$tree/libexec" "$tree/conf" "$tree/t/tools"
for p in "$top"/bin/* "$top"/libexec/*; do
    case $p in *.c|*.h|*.o) continue ;; esac
    [ -f "$p" ] && [ -x "$p" ] && cp -P "$p" "$tree/${p#"$top"/}"
done
cp -P "$top"/bin/mailq "$tree/bin/" 2>/dev/null
cp "$top"/conf/* "$tree/conf/" 2>/dev/null
cp "$top/t/tools/run.sh" "$tree/t/tools/"
chmod -R go+rX "$tree"

# A configuration folder for the stages (the default tables, compiled).
mkdir -p "$b/conf" "$b/spool"/{tmp,incoming,deferred,bad,dead,quarantine}
for f in "$top"/conf/*; do
    case $f in *.cdb|*.in) continue ;; esac
    [ -f "$f" ] && cp "$f" "$b/conf/"
done
printf 'spool\t%s\nmailroot\t%s\n' "$b/spool" "$b/mail" >> "$b/conf/config"
for f in "$b"/conf/*; do
    case $f in *.cdb) continue ;; esac
    "$tree/bin/sluice-mkcdb" -o "$f.cdb" "$f" || exit 1
done
export SLUICE_CONF=$b/conf SLUICE_SPOOL=$b/spool SLUICE_LIBEXEC=$tree/libexec
export PATH=$tree/bin:$tree/libexec:$PATH

echo "sluice bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
echo

# ---- a. stream pass-through ------------------------------------------------
if ! skipped stream; then
    stage=$tree/libexec/sluice-envelope
    if [ ! -x "$stage" ]; then
        [ -x "$top/t/streamcat" ] || make -C "$top" t/streamcat >/dev/null || exit 1
        cp "$top/t/streamcat" "$tree/" && stage=$tree/streamcat
    fi
    line=$(printf 'x%.0s' $(seq 76))
    {
        printf 'MAIL FROM:<a@example.test>\nRCPT TO:<test@example.test>\nDATA\nSubject: big\n\n'
        yes "$line" | head -n $((50 * 1048576 / 77))
        printf '.\n'
    } > "$b/big.in"
    awk -v l="$line" 'BEGIN {
        for (i = 0; i < 10000; i++) {
            printf "MAIL FROM:<a@example.test>\nRCPT TO:<test@example.test>\nDATA\n"
            printf "Subject: message %d\nMessage-ID: <%d@example.test>\n\n", i, i
            for (j = 0; j < 12; j++) print l
            print "."
        }
    }' > "$b/small.in"
    big_mb=$(awk -v s="$(stat -c %s "$b/big.in")" 'BEGIN { printf "%.1f", s / 1048576 }')

    # pass FILE -> "best_ms max_rss_kb status"
    pass() {
        local best= rss=0 r t0 t1 st=0 d k
        for ((r = 0; r < REPS; r++)); do
            t0=$(now_ns)
            /usr/bin/time -f %M -o "$b/rss" "$stage" < "$1" > /dev/null 2> "$b/stage.err" || st=$?
            t1=$(now_ns)
            d=$(ms "$t0" "$t1")
            k=$(tail -n 1 "$b/rss")
            [ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
            [ "$k" -gt "$rss" ] 2>/dev/null && rss=$k
        done
        [ "$best" -gt 0 ] || best=1
        echo "$best $rss $st"
    }

    echo "a. stream pass-through: $(basename "$stage"), best of $REPS, output to /dev/null"
    hr
    printf '%-34s %14s %12s %10s\n' "input" "rate" "peak RSS" "RSS < 8MB"
    read -r t rss st < <(pass "$b/big.in")
    verdict=PASS; [ "$rss" -lt "$RSS_LIMIT_KB" ] || verdict=FAIL
    [ "$st" = 0 ] || verdict="FAIL (exit $st)"
    printf '%-34s %9s MB/s %9s KB %10s\n' "one ${big_mb} MB message" \
        "$(awk -v s="$big_mb" -v t="$t" 'BEGIN { printf "%.0f", s * 1000 / t }')" "$rss" "$verdict"
    [ "$st" = 0 ] || sed 's/^/    /' "$b/stage.err" | head -3
    read -r t rss st < <(pass "$b/small.in")
    printf '%-34s %9s msg/s %8s KB %10s\n' "10,000 messages of 1 KB" \
        "$(awk -v t="$t" 'BEGIN { printf "%.0f", 10000 * 1000 / t }')" "$rss" \
        "$([ "$st" = 0 ] || echo "exit $st")"
    rm -f "$b/big.in" "$b/small.in"
    echo
fi

# ---- b. exec-to-exit -----------------------------------------------------
if ! skipped exec; then
    cc -O2 -o "$b/execbench" "$top/t/bench/execbench.c" || exit 1
    echo "b. exec-to-exit cost, empty input, mean of $RUNS runs"
    hr
    printf '%-34s %10s  %s\n' "program" "µs/run" "(exit status on empty input)"
    printf '%-34s %10s\n' "/bin/true (dynamic libc, reference)" "$("$b/execbench" "$RUNS" /bin/true)"
    for p in "$tree"/bin/* "$tree"/libexec/*; do
        [ -f "$p" ] && [ -x "$p" ] && [ ! -L "$p" ] || continue
        case $p in *.c|*.h|*.o) continue ;; esac
        head -c 4 "$p" | grep -q ELF || continue
        args=()
        case $(basename "$p") in sluice-runq) args=(-1) ;; esac
        timeout 5 "$p" "${args[@]}" </dev/null >/dev/null 2>&1
        st=$?
        name=${p#"$tree"/}
        [ ${#args[@]} = 0 ] || name="$name ${args[*]}"
        if [ $st = 124 ]; then
            printf '%-34s %10s  %s\n' "$name" "-" "(does not exit on empty input)"
            continue
        fi
        printf '%-34s %10s  (%s)\n' "$name" "$("$b/execbench" "$RUNS" "$p" "${args[@]}")" "$st"
    done
    echo
fi

# ---- c. end to end -------------------------------------------------------
# e2e NAME MAILDIR PORT -> prints "ms delivered"
e2e() {
    local name=$1 new=$2/test/new port=$3 t0 t1 n=0 last=-1 since limit
    limit=$((60 + N / 20))
    t0=$(now_ns)
    smtp-source -s 10 -m "$N" -l 5120 -f a@example.test -t test@example.test \
        "127.0.0.1:$port" > "$b/$name-source.log" 2>&1 || \
        echo "  ($name: smtp-source exited $?: $(head -c 200 "$b/$name-source.log"))" >&2
    # Until all N are there, or 15 s pass without a new one, or the limit.
    since=$(now_ns)
    while :; do
        n=$(count_files "$new")
        [ "$n" -ge "$N" ] && break
        [ "$n" != "$last" ] && { last=$n; since=$(now_ns); }
        [ $(( ($(now_ns) - since) / 1000000000 )) -lt 15 ] || break
        [ $(( ($(now_ns) - t0) / 1000000000 )) -lt $limit ] || break
        sleep 0.05
    done
    t1=$(now_ns)
    echo "$(ms "$t0" "$t1") $n"
}

rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n * 1000 / t }'; }

if ! skipped e2e; then
    echo "c. end to end: smtp-source -s 10 -m $N -l 5120 -> Maildir (each system alone)"
    hr
    printf '%-34s %10s %10s %12s\n' "system" "msg/s" "seconds" "delivered"
    s_rate= p_rate=
    smtp_source=$(command -v smtp-source || echo /usr/sbin/smtp-source)
    PATH=$PATH:/usr/sbin
    if [ ! -x "$smtp_source" ]; then
        echo "smtp-source is missing (package postfix): skipped"
    else
        port=$(free_port)
        VAR=$b/sluice PORT=$port "$tree/t/tools/run.sh" > "$b/sluice-run.log" 2>&1 &
        run_pid=$!
        for ((i = 0; i < 300; i++)); do
            port_open "$port" && break
            kill -0 "$run_pid" 2>/dev/null || break
            sleep 0.1
        done
        if port_open "$port"; then
            read -r t n < <(e2e sluice "$b/sluice/mail" "$port")
            s_rate=$(rate "$n" "$t")
            printf '%-34s %10s %10s %12s\n' "sluice" "$s_rate" \
                "$(awk -v t="$t" 'BEGIN { printf "%.1f", t / 1000 }')" "$n/$N"
        else
            echo "sluice did not start:"; sed 's/^/    /' "$b/sluice-run.log" | tail -5
        fi
        kill -TERM "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
        run_pid=

        if skipped postfix; then
            echo "Postfix: skipped"
        elif ! command -v postfix >/dev/null; then
            echo "Postfix: not installed (run .ci/deps): skipped"
        else
            port=$(free_port)
            pf_dir=$b/postfix
            mkdir -p "$b/pfmail"
            if "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$b/pfmail" test \
                > "$b/postfix-start.log" 2>&1; then
                read -r t n < <(e2e postfix "$b/pfmail" "$port")
                p_rate=$(rate "$n" "$t")
                printf '%-34s %10s %10s %12s\n' "Postfix $(postconf -d -h mail_version 2>/dev/null)" \
                    "$p_rate" "$(awk -v t="$t" 'BEGIN { printf "%.1f", t / 1000 }')" "$n/$N"
            else
                echo "Postfix did not start:"; sed 's/^/    /' "$b/postfix-start.log" | tail -5
            fi
            "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
            pf_dir=
        fi
        if [ -n "$s_rate" ] && [ -n "$p_rate" ] && [ "$p_rate" -gt 0 ]; then
            printf '%-34s %10s\n' "ratio sluice/Postfix" \
                "$(awk -v s="$s_rate" -v p="$p_rate" 'BEGIN { printf "%.2f", s / p }')"
        fi
    fi
    echo
fi
