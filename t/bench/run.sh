#!/bin/bash
# t/bench/run.sh — `make bench`: whole-process figures, printed as a table.
#
#   a. stream pass-through of one 50 MB message (MB/s) and of 10,000 small
#      messages (messages/s) through libexec/sluice-envelope (t/streamcat if
#      it is missing), with the stage's peak resident memory (PASS under 8 MB);
#      the 50 MB message through the whole default chain to /dev/null, with
#      each stage's peak resident memory;
#   b. each program's exec-to-exit cost on empty input (µs per run);
#   c. end to end, smtp-source -> Maildir, 5 KB messages, in three connection
#      modes (10 sessions, a new connection per message; 10 sessions reusing
#      theirs; one session), for sluice (make run's setup: tcpserver +
#      sluice-smtpd + sluice-runq with the default chain), sluice with five
#      more pass-through stages, and a private Postfix configured the same
#      way (t/tools/postfix.sh), each alone, alternately, each run's figure,
#      the medians and their ratio; the time from the 250 after DATA to the
#      file in the Maildir (median, 99th percentile) for both; and per
#      message, the writes and cache flushes the run's block device counted
#      (/sys/class/block/DEV/stat, everything on that device meanwhile);
#   d. remote delivery: 10,000 queued messages of 5 KB for 10 domains to
#      smtp-sink (one per domain), sluice-runq -1 with the chain
#      "sluice-route | sluice-smtp" against Postfix's qmgr and smtp(8) on the
#      same sinks in the same run, timed from release to empty queue;
#   e. content stages: MIME walking, sluice-scan (clamd, a command),
#      sluice-attach and sluice-disclaimer on a 20 MB message with ten
#      attachments, MB/s and peak RSS next to the RSS for 1 MB, and each
#      stage with nothing to do (scan_method none; the matrix, table
#      content, saying "off") on 10,000 small messages; sluice-checks (a
#      table of rules on every header field and text line) and sluice-spam
#      (the message over spam_max_size: its spool and copy, spamd aside),
#      and both with nothing to do.
#   f. TLS sessions: the cost of a session in clear, with STARTTLS, and with
#      TLS from the start (SMTPS), each greeting, EHLO (again after
#      STARTTLS) and QUIT, 4 clients at once (t/bench/tlssess.py): sessions/s
#      and the server's CPU per session, for sluice (tcpserver + sluice-smtpd,
#      without and with a certificate configured, sluice-tlsd for TLS) and
#      for a private Postfix with the same certificate.
# Before every timed run of c and d: sync, then a pause (BENCH_SETTLE).
# Nothing is removed between runs, only at the end: on ext4 without a
# journal, creating files is slower for a minute after many were removed
# nearby (the allocator looks at each recently freed inode it passes), so
# removing one run's thousands of files put that cost on whichever system
# ran next.  A system's own removals while it runs still count.
#
#   g. DNS-BL at connect: connections per second through tcpserver into
#      sluice-smtpd alone, behind sluice-dnsbl with no lists and with four lists
#      against a local DNS server (BENCH_DNSBL_N connections, default 1000).
# Environment: BENCH_N (messages end to end, default 2000), BENCH_REPS_E2E
# (runs of each system in each mode of c, default 5), BENCH_E2E_MODES (default
# "new reuse one"), BENCH_LAT_N (messages timed for latency, default 200), BENCH_REMOTE_N (messages in d,
# default 10000), BENCH_REPS_REMOTE (runs of each system in d, default 1),
# BENCH_SETTLE (seconds of pause before a timed run, default 10),
# BENCH_WARMUP (default 1: one uncounted run of each system before c's rounds; 0: none),
# BENCH_EXEC_RUNS (default 200), BENCH_REPS (best of, for a, default 3),
# BENCH_TLS_N (sessions of each kind in f, default 1000),
# BENCH_SKIP (any of "stream exec content e2e remote tls postfix dnsbl", space-separated),
# BENCH_KEEP=1 keeps the folder.
# Everything runs on 127.0.0.1 and is stopped by PID at the end.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_N:-2000}
RUNS=${BENCH_EXEC_RUNS:-200}
REPS=${BENCH_REPS:-3}
REPS_E2E=${BENCH_REPS_E2E:-5}
RN=${BENCH_REMOTE_N:-10000}
REPS_REMOTE=${BENCH_REPS_REMOTE:-1}
SETTLE=${BENCH_SETTLE:-10}
SKIP=" ${BENCH_SKIP:-} "
RSS_LIMIT_KB=8192
PY=/usr/bin/python3

b=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX") || exit 1
chmod 0711 "$b"     # the sluice and Postfix users pass through it
run_pid=
pf_dir=
sink_pids=()    # the smtp-sinks of d

stop_sinks() {
    local p
    for p in "${sink_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${sink_pids[@]}"; do wait "$p" 2>/dev/null; done
    sink_pids=()
}

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$run_pid" ]; then
        kill -TERM "$run_pid" 2>/dev/null
        wait "$run_pid" 2>/dev/null
    fi
    [ -z "$pf_dir" ] || "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    stop_sinks
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
# The mailbox of c's latency client.
printf 'lat@example.test\tlat/\n' >> "$tree/conf/users"
chmod -R go+rX "$tree"
# Someone may have left a sanitizer build in the shared tree: say so.
asan=$(grep -l __asan_init "$tree"/bin/* "$tree"/libexec/* 2>/dev/null | sed "s|^$tree/||" | tr '\n' ' ')

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

echo "sluice bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)," \
    "load $(cut -d ' ' -f 1-3 /proc/loadavg)"
[ -z "$asan" ] || echo "WARNING: built with AddressSanitizer (figures meaningless): $asan"
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
    # The whole default chain, the recipient routed to a closed port on
    # 127.0.0.1: every stage carries the message, sluice-smtp finds the port
    # shut and defers, sluice-retry's output goes to /dev/null.  Each stage's
    # peak RSS.  As root the chain runs as nobody (sluice-smtp refuses root).
    pc=$b/pconf
    mkdir -p "$pc" "$b/prss" "$b/pspool"/{tmp,incoming,deferred,bad,dead,quarantine}
    cp "$b"/conf/* "$pc/"
    sed -i "s|^spool\t.*|spool\t$b/pspool|" "$pc/config"
    printf 'bench.test\tsmtp:[127.0.0.1]:1\n' >> "$pc/routes"
    for f in config routes; do "$tree/bin/sluice-mkcdb" -o "$pc/$f.cdb" "$pc/$f" || exit 1; done
    chmod -R go+rX "$pc"
    sed -i '2s/.*/RCPT TO:<b@bench.test>/' "$b/big.in"
    # The default chain (sluice-runq's, scan_method none).
    chain_stages=(sluice-envelope sluice-alias sluice-route sluice-bsmtp-encode sluice-local
        sluice-smtp sluice-retry)
    as=()
    if [ "$(id -u)" = 0 ]; then
        chown -R nobody "$b/pspool" "$b/prss"
        as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
    fi
    # chain_from I: stages I.. of the chain, stdin to /dev/null
    chain_from() {
        local i=$1 s=$tree/libexec/${chain_stages[$1]}
        if ((i == ${#chain_stages[@]} - 1)); then
            /usr/bin/time -f '%M %x' -o "$b/prss/crss.$i" "$s" > /dev/null
        else
            /usr/bin/time -f '%M %x' -o "$b/prss/crss.$i" "$s" | chain_from $((i + 1))
        fi
    }
    export -f chain_from
    export tree b
    best=
    for ((r = 0; r < REPS; r++)); do
        t0=$(now_ns)
        SLUICE_CONF=$pc SLUICE_SPOOL=$b/pspool "${as[@]}" bash -c \
            "chain_stages=(${chain_stages[*]}); chain_from 0 < '$b/big.in'" 2> "$b/pchain.err"
        d=$(ms "$t0" "$(now_ns)")
        [ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
    done
    [ "$best" -gt 0 ] || best=1
    printf '%-34s %9s MB/s\n' "the default chain, ${big_mb} MB" \
        "$(awk -v s="$big_mb" -v t="$best" 'BEGIN { printf "%.0f", s * 1000 / t }')"
    for ((i = 0; i < ${#chain_stages[@]}; i++)); do
        read -r k x < <(tail -n 1 "$b/prss/crss.$i")
        verdict=PASS; [ "${k:-99999}" -lt "$RSS_LIMIT_KB" ] || verdict=FAIL
        [ "${x:-1}" = 0 ] || verdict="$verdict (exit ${x:--})"
        printf '%-34s %14s %9s KB %10s\n' "  ${chain_stages[$i]}" "" "${k:--}" "$verdict"
    done
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

# ---- between timed runs ----------------------------------------------------
# This VM's ext4 is slow to allocate inodes for a while after heavy file churn,
# and the host is noisy: before each timed run, write back what the previous
# one left (sync) and pause, so that one system does not pay for the other.
settle() { sync; sleep "$SETTLE"; }

rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n * 1000 / t }'; }
secs() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 1000 }'; }
ratio() { awk -v s="$1" -v p="$2" 'BEGIN { printf "%.2f", s / p }'; }
# drop RATE RATE5 -> what RATE5 loses against RATE, in %, one decimal
drop() { awk -v a="$1" -v c="$2" 'BEGIN { printf "%.1f", (a - c) * 100 / a }'; }
pf_name="Postfix $(postconf -d -h mail_version 2>/dev/null)"
have_postfix() { ! skipped postfix && command -v postfix >/dev/null; }
why_no_postfix() {
    if skipped postfix; then echo "Postfix: skipped"
    else echo "Postfix: not installed (run .ci/deps): skipped"; fi
}
PATH=$PATH:/usr/sbin

# ---- e. content stages -----------------------------------------------------
# A 20 MB message with ten base64 attachments: the MIME walker alone
# (t/mimewalk) and sluice-scan with clamd (a private one, t/tools/clamd.sh)
# and with an external command that finds nothing (/usr/bin/test), in MB/s
# and peak RSS, next to the same for a 1 MB message (memory must not grow);
# then 10,000 small messages through sluice-scan with nothing to do
# (scan_method none) against the plain stream copy of a.
if ! skipped content; then
    echo "e. content stages: one message with ten base64 attachments, best of $REPS"
    hr
    make -C "$top" t/mimewalk >/dev/null 2>&1 && cp "$top/t/mimewalk" "$tree/"
    # cmsg MB FILE: a stream transaction of about MB megabytes, ten attachments.
    cmsg() {
        "$PY" - "$1" > "$2" <<'PYEOF'
import base64, os, sys
each = int(sys.argv[1]) * 1024 * 1024 * 3 // 4 // 10
blob = os.urandom(65536)
out = [b"MAIL FROM:<a@example.test>\nRCPT TO:<b@example.test>\nDATA\nSubject: ten\n"
       b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nhello\n"]
for i in range(10):
    data = (blob * (each // 65536 + 1))[:each]
    out.append(b"--x\nContent-Type: application/octet-stream; name=f%d.bin\n"
               b"Content-Transfer-Encoding: base64\n\n" % i + base64.encodebytes(data))
out.append(b"--x--\n.\n")
sys.stdout.buffer.write(b"".join(out))
PYEOF
    }
    cmsg 20 "$b/c20.in"
    cmsg 1 "$b/c1.in"
    c_mb=$(awk -v s="$(stat -c %s "$b/c20.in")" 'BEGIN { printf "%.1f", s / 1048576 }')
    mkdir -p "$b/cconf"
    # crun LABEL CONF PROG ARGS... < FILE: best time and peak RSS over REPS runs
    crun() {
        local best= rss=0 r t0 d k st=0 in=$1
        shift
        for ((r = 0; r < REPS; r++)); do
            t0=$(now_ns)
            /usr/bin/time -f %M -o "$b/crss" "$@" < "$in" > /dev/null 2> "$b/c.err" || st=$?
            d=$(ms "$t0" "$(now_ns)")
            k=$(tail -n 1 "$b/crss")
            [ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
            [ "$k" -gt "$rss" ] 2>/dev/null && rss=$k
        done
        [ "$best" -gt 0 ] || best=1
        echo "$best $rss $st"
    }
    # crow LABEL ARGS...: one line, the 20 MB rate and RSS, and the 1 MB RSS
    crow() {
        local label=$1 t rss st t1 rss1 st1
        shift
        read -r t rss st < <(crun "$b/c20.in" "$@")
        read -r t1 rss1 st1 < <(crun "$b/c1.in" "$@")
        printf '%-34s %9s MB/s %9s KB %9s KB%s\n' "$label" \
            "$(awk -v s="$c_mb" -v t="$t" 'BEGIN { printf "%.0f", s * 1000 / t }')" "$rss" "$rss1" \
            "$([ "$st$st1" = 00 ] || echo "  (exit $st/$st1: $(head -c 100 "$b/c.err"))")"
    }
    printf '%-34s %14s %12s %12s\n' "${c_mb} MB message" "rate" "peak RSS" "RSS at 1 MB"
    [ -x "$tree/mimewalk" ] && crow "MIME walk (t/mimewalk -q)" "$tree/mimewalk" -q
    printf 'scan_method command\nscan_command /usr/bin/test -f %%f\nscan_max_size 100M\n' > "$b/cconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    SLUICE_CONF=$b/cconf crow "sluice-scan, command test -f %f" "$tree/libexec/sluice-scan"
    if command -v clamd >/dev/null || [ -x /usr/sbin/clamd ]; then
        cport=$(free_port)
        if cpid=$("$top/t/tools/clamd.sh" start "$b/clamd" "$cport" 2>/dev/null); then
            printf 'scan_clamd %s\nscan_max_size 100M\n' "$b/clamd/clamd.sock" > "$b/cconf/config"
            "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
            SLUICE_CONF=$b/cconf crow "sluice-scan, clamd" "$tree/libexec/sluice-scan"
            kill -TERM "$cpid" 2>/dev/null
        else
            echo "clamd did not start: skipped"
        fi
    else
        echo "clamd is missing (run .ci/deps): skipped"
    fi
    # sluice-attach removing the ten attachments, sluice-disclaimer adding a
    # text to the first part: the walk and the copy.
    printf 'attach_block *.bin\n' > "$b/cconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    SLUICE_CONF=$b/cconf crow "sluice-attach, removing 10 parts" "$tree/libexec/sluice-attach"
    printf 'This message is confidential.\n' > "$b/cconf/disc.txt"
    printf 'disclaimer_text disc.txt\n' > "$b/cconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    SLUICE_CONF=$b/cconf crow "sluice-disclaimer" "$tree/libexec/sluice-disclaimer"
    # sluice-checks with rules on every field and text line; sluice-spam
    # with its spool and tagged copy (the message over spam_max_size: spamd's
    # own time is not ours to measure).
    printf 'spool %s\n' "$b/spool" > "$b/cconf/config"
    printf '%s\n' '/^Subject: .*(lottery|casino)/i REJECT' '/^X-Mailer: Mass/ HOLD' \
        '/^Content-Type: .*name="?[^"]*\.(exe|scr)"?/i REJECT' > "$b/cconf/header_checks"
    printf '%s\n' '/bank password/ REJECT' '/^Dear (winner|beneficiary)/i HOLD' > "$b/cconf/body_checks"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    SLUICE_CONF=$b/cconf crow "sluice-checks, 5 rules" "$tree/libexec/sluice-checks"
    printf 'spam_spamd 127.0.0.1:9\nspam_max_size 1k\n' > "$b/cconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    SLUICE_CONF=$b/cconf crow "sluice-spam, copy (spamd aside)" "$tree/libexec/sluice-spam"
    rm -f "$b/cconf/header_checks" "$b/cconf/body_checks"
    # Nothing to do: the cost of the stage in the chain, per message.
    line=$(printf 'x%.0s' $(seq 76))
    awk -v l="$line" 'BEGIN {
        for (i = 0; i < 10000; i++) {
            printf "MAIL FROM:<a@example.test>\nRCPT TO:<test@example.test>\nDATA\n"
            printf "Subject: message %d\n\n", i
            for (j = 0; j < 12; j++) print l
            print "."
        }
    }' > "$b/csmall.in"
    printf 'scan_method none\n' > "$b/cconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    [ -x "$top/t/streamcat" ] || make -C "$top" t/streamcat >/dev/null 2>&1
    read -r tc _ _ < <(crun "$b/csmall.in" "$top/t/streamcat")
    nothing() {     # nothing LABEL PROG: a line for 10,000 messages with nothing to do
        local t st
        read -r t _ st < <(SLUICE_CONF=$b/cconf crun "$b/csmall.in" "$2")
        printf '%-34s %9s msg/s  (stream copy %s msg/s; %s µs more per message)%s\n' \
            "$1" "$(rate 10000 "$t")" "$(rate 10000 "$tc")" \
            "$(awk -v a="$t" -v c="$tc" 'BEGIN { printf "%.1f", (a - c) * 1000 / 10000 }')" \
            "$([ "$st" = 0 ] || echo "  (exit $st)")"
    }
    nothing "sluice-scan, scan_method none" "$tree/libexec/sluice-scan"
    # The channel action matrix says "off" (table content): each stage
    # configured to act, and told not to.
    printf 'scan_clamd %s/nowhere.sock\nattach_block *.bin\ndisclaimer_text disc.txt\n' "$b" > "$b/cconf/config"
    printf 'scan off\nattach off\ndisclaimer off\n' > "$b/cconf/content"
    for t in config content; do "$tree/bin/sluice-mkcdb" -o "$b/cconf/$t.cdb" "$b/cconf/$t"; done
    nothing "sluice-scan, matrix off" "$tree/libexec/sluice-scan"
    nothing "sluice-attach, matrix off" "$tree/libexec/sluice-attach"
    nothing "sluice-disclaimer, matrix off" "$tree/libexec/sluice-disclaimer"
    rm -f "$b/cconf/content" "$b/cconf/content.cdb"
    # No table, no spamd: sluice-checks and sluice-spam copy the stream.
    printf 'header_checks none\nbody_checks none\nspam_spamd none\n' > "$b/cconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/cconf/config.cdb" "$b/cconf/config"
    nothing "sluice-checks, nothing to do" "$tree/libexec/sluice-checks"
    nothing "sluice-spam, nothing to do" "$tree/libexec/sluice-spam"
    rm -f "$b/c20.in" "$b/c1.in" "$b/csmall.in"
    echo
fi

# ---- c. end to end -------------------------------------------------------
# Three connection modes, smtp-source -> Maildir, N messages of 5 KB:
#   new    10 sessions, a new connection per message (smtp-source -s 10)
#   reuse  10 sessions, each connection reused (smtp-source -s 10 -d)
#   one    one session, one connection for all (smtp-source -s 1 -d)
# In each, REPS_E2E rounds of: sluice (make run's setup, the default chain),
# sluice with five more pass-through stages in its chain (item 3 of issue 9:
# sluice-scan, sluice-attach and sluice-disclaimer with nothing to do, then
# sluice-scan and sluice-attach again), Postfix; each on a fresh instance,
# each alone, after a settle.  Per mode: every run, the medians, the ratio
# of medians, and what the five stages cost: from the medians, and as the
# median of the rounds' own costs (a round's +5 run starts about 10 s
# after its sluice run: this machine's speed drifts by more than the
# five stages cost over the minutes between rounds, measured at 3-15 %
# from run to run, doc/performance.md).  In the "one" mode, once the
# instance is idle again, t/bench/latency.py sends LAT_N messages over one
# smtplib session and times each from its 250 to the file's ctime in new/.
E2E_MODES=${BENCH_E2E_MODES:-new reuse one}
LAT_N=${BENCH_LAT_N:-200}
EXTRA_CHAIN="sluice-envelope | sluice-alias | sluice-route | sluice-scan | sluice-attach | sluice-disclaimer | sluice-scan | sluice-attach | sluice-bsmtp-encode | sluice-local | sluice-smtp | sluice-retry"

mode_args() {
    case $1 in
    new) echo "-s 10" ;;
    reuse) echo "-s 10 -d" ;;
    one) echo "-s 1 -d" ;;
    esac
}

# The block device that holds the run folders, for its counters: its
# stat file, or "" (tmpfs, overlay, a device not under /sys/class/block).
dev_stat() {
    local dev
    dev=$(findmnt -n -o SOURCE -T "$b" 2>/dev/null) || return 0
    dev=/sys/class/block/$(basename "$dev")/stat
    [ -r "$dev" ] && echo "$dev"
}
DEV_STAT=$(dev_stat)
DEV_DESC=${DEV_STAT#/sys/class/block/}
DEV_DESC=${DEV_DESC%/stat}
# io_count -> "writes flushes" so far (fields 5 and 16), or "- -"
io_count() {
    if [ -n "$DEV_STAT" ]; then awk '{ print $5, ($16 == "" ? "-" : $16) }' "$DEV_STAT"
    else echo "- -"; fi
}
# io_per W0 F0 W1 F1 N -> "io W F" per message, one decimal, or ""
io_per() {
    [ "$1" != - ] || return 0
    awk -v w0="$1" -v f0="$2" -v w1="$3" -v f1="$4" -v n="$5" 'BEGIN {
        if (n <= 0) exit
        f = (f0 == "-" || f1 == "-") ? "-" : sprintf("%.1f", (f1 - f0) / n)
        printf "io %.1f %s\n", (w1 - w0) / n, f }'
}

# e2e NAME MAILDIR PORT MODE -> prints "ms delivered [io WRITES FLUSHES]"
e2e() {
    local name=$1 new=$2/test/new port=$3 t0 t1 n=0 last=-1 since limit w0 f0 w1 f1
    limit=$((60 + N / 20))
    read -r w0 f0 < <(io_count)
    t0=$(now_ns)
    # shellcheck disable=SC2046
    smtp-source $(mode_args "$4") -m "$N" -l 5120 -f a@example.test -t test@example.test \
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
        sleep 0.02
    done
    t1=$(now_ns)
    read -r w1 f1 < <(io_count)
    echo "$(ms "$t0" "$t1") $n $(io_per "$w0" "$f0" "$w1" "$f1" "$n")"
}

# e2e_row LABEL MODE RUN MS DELIVERED [LATENCY [IO]] — one line; sets
# row_rate, and row_io ("W F", writes and flushes a message, or "").
e2e_row() {
    row_rate=$(rate "$5" "$4")
    [ "$5" = "$N" ] || row_rate=
    row_io=${7#io }
    printf '%-24s %5s %4s %9s %8s %10s %s\n' "$1" "$2" "$3" "${row_rate:-FAIL}" "$(secs "$4")" "$5/$N" \
        "${7:+$7 }${6:-}"
}

# latency PORT MAILROOT -> "delivered median p99" (ms), or "- - -"
latency() {
    local out
    out=$("$PY" "$top/t/bench/latency.py" 127.0.0.1 "$1" "$LAT_N" lat@example.test \
        "$2/lat" 60 2>>"$b/latency.err") || true
    echo "${out:-- - -}"
}

# e2e_sluice LABEL TREE MODE RUN — make run's setup in a fresh folder from
# TREE; sets row_rate ("" on failure) and row_lat.
e2e_sluice() {
    local label=$1 tr=$2 mode=$3 r=$4 port t n io i v lat=
    v=$b/sluice-$(basename "$tr")-$mode-$r
    row_rate= row_lat= row_io=
    port=$(free_port)
    VAR=$v PORT=$port "$tr/t/tools/run.sh" > "$v.log" 2>&1 &
    run_pid=$!
    for ((i = 0; i < 300; i++)); do
        port_open "$port" && break
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 0.1
    done
    if port_open "$port"; then
        read -r t n io < <(e2e "$(basename "$v")" "$v/mail" "$port" "$mode")
        if [ "$mode" = one ]; then
            row_lat=$(latency "$port" "$v/mail")
            lat="latency ${row_lat#* } ms"
        fi
        e2e_row "$label" "$mode" "$r" "$t" "$n" "$lat" "$io"
    else
        echo "sluice did not start:"; sed 's/^/    /' "$v.log" | tail -5
    fi
    kill -TERM "$run_pid" 2>/dev/null
    wait "$run_pid" 2>/dev/null
    run_pid=
    # Kept until the end (cleanup): "Nothing is removed between runs".
}

# e2e_postfix MODE RUN — a fresh private Postfix; sets row_rate and row_lat.
e2e_postfix() {
    local mode=$1 r=$2 port t n io lat=
    row_rate= row_lat= row_io=
    port=$(free_port)
    pf_dir=$b/postfix-$mode-$r
    mkdir -p "$b/pfmail-$mode-$r"
    if "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$b/pfmail-$mode-$r" test lat \
        > "$b/postfix-start-$mode-$r.log" 2>&1; then
        read -r t n io < <(e2e "postfix-$mode-$r" "$b/pfmail-$mode-$r" "$port" "$mode")
        if [ "$mode" = one ]; then
            row_lat=$(latency "$port" "$b/pfmail-$mode-$r")
            lat="latency ${row_lat#* } ms"
        fi
        e2e_row "$pf_name" "$mode" "$r" "$t" "$n" "$lat" "$io"
    else
        echo "Postfix did not start:"; sed 's/^/    /' "$b/postfix-start-$mode-$r.log" | tail -5
    fi
    "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    pf_dir=
}

# median VALUE... -> the median of the non-empty numbers ("" if none)
median() {
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2];
              else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# A second tree whose conf/config sets the chain with five more stages.
mk_tree5() {
    local d
    tree5=$b/tree5
    mkdir -p "$tree5/conf" "$tree5/t/tools"
    for d in bin libexec; do ln -sfn "$tree/$d" "$tree5/$d"; done
    cp "$tree"/conf/* "$tree5/conf/"
    printf '\n# make bench: five more stages with nothing to do\nscan_method\tnone\nchain\t%s\n' \
        "$EXTRA_CHAIN" \
        >> "$tree5/conf/config"
    cp "$tree/t/tools/run.sh" "$tree5/t/tools/"
    chmod -R go+rX "$tree5"
}

if ! skipped e2e; then
    echo "c. end to end: smtp-source -m $N -l 5120 -> Maildir, modes: new (-s 10),"
    echo "   reuse (-s 10 -d), one (-s 1 -d); $REPS_E2E rounds each of sluice, sluice with"
    echo "   five more pass-through stages (+5), Postfix; each alone, fresh, alternately;"
    echo "   before each run: sync, then a ${SETTLE} s pause.  Latency (mode one, after the"
    echo "   run, idle): $LAT_N messages over one smtplib session, 250 -> ctime in new/."
    echo "   Run w: a warm-up of each system, not counted (BENCH_WARMUP=0: none)"
    hr
    printf '%-24s %5s %4s %9s %8s %10s %s\n' "system" "mode" "run" "msg/s" "seconds" "delivered" ""
    if ! command -v smtp-source >/dev/null; then
        echo "smtp-source is missing (package postfix): skipped"
    else
        have_postfix || why_no_postfix
        mk_tree5
        declare -A rs=() r5=() rp=() d5=() ws=() fs=() wp=() fp=()
        ls_med= ls_p99= lp_med= lp_p99=
        # The first runs of a bench are slow for every system (measured:
        # 929 vs 1,393-1,523 msg/s for sluice, 855 vs 1,080-1,181 for
        # Postfix, doc/performance.md): one run of each in the first mode,
        # shown as run "w" and left out of the medians.
        if [ "${BENCH_WARMUP:-1}" != 0 ]; then
            wm=${E2E_MODES%% *}
            settle; e2e_sluice sluice "$tree" "$wm" w
            settle; e2e_sluice "sluice +5 stages" "$tree5" "$wm" w
            if have_postfix; then settle; e2e_postfix "$wm" w; fi
        fi
        for mode in $E2E_MODES; do
            for ((r = 1; r <= REPS_E2E; r++)); do
                settle
                e2e_sluice sluice "$tree" "$mode" "$r"
                rs[$mode]="${rs[$mode]:-} $row_rate"
                [ -z "$row_io" ] || { ws[$mode]="${ws[$mode]:-} ${row_io% *}"
                                      fs[$mode]="${fs[$mode]:-} ${row_io#* }"; }
                [ -z "$row_lat" ] || { ls_med="$ls_med $(echo "$row_lat" | cut -d ' ' -f 2)"
                                       ls_p99="$ls_p99 $(echo "$row_lat" | cut -d ' ' -f 3)"; }
                settle
                one_rate=$row_rate
                e2e_sluice "sluice +5 stages" "$tree5" "$mode" "$r"
                r5[$mode]="${r5[$mode]:-} $row_rate"
                [ -z "$one_rate" ] || [ -z "$row_rate" ] || d5[$mode]="${d5[$mode]:-} $(drop "$one_rate" "$row_rate")"
                if have_postfix; then
                    settle
                    e2e_postfix "$mode" "$r"
                    rp[$mode]="${rp[$mode]:-} $row_rate"
                    [ -z "$row_io" ] || { wp[$mode]="${wp[$mode]:-} ${row_io% *}"
                                          fp[$mode]="${fp[$mode]:-} ${row_io#* }"; }
                    [ -z "$row_lat" ] || { lp_med="$lp_med $(echo "$row_lat" | cut -d ' ' -f 2)"
                                           lp_p99="$lp_p99 $(echo "$row_lat" | cut -d ' ' -f 3)"; }
                fi
            done
        done
        hr
        printf '%-6s %10s %10s %10s %15s %13s %13s\n' "mode" "sluice" "sluice +5" "Postfix" \
            "sluice/Postfix" "+5 (medians)" "+5 (rounds)"
        for mode in $E2E_MODES; do
            # shellcheck disable=SC2086
            ms_=$(median ${rs[$mode]:-}) m5=$(median ${r5[$mode]:-}) mp=$(median ${rp[$mode]:-})
            # shellcheck disable=SC2086
            dr=$(median ${d5[$mode]:-}); [ -z "$dr" ] || dr=$(printf "%.1f" "$dr")
            rat=- dm=-
            [ -z "$ms_" ] || [ -z "$mp" ] || rat=$(ratio "$ms_" "$mp")
            [ -z "$ms_" ] || [ -z "$m5" ] || dm="$(drop "$ms_" "$m5") %"
            printf '%-6s %10s %10s %10s %15s %13s %13s\n' "$mode" "${ms_:--}" "${m5:--}" "${mp:--}" \
                "$rat" "$dm" "${dr:+$dr %}"
        done
        echo "(medians of msg/s; goals: sluice/Postfix >= 1.5 in new and reuse, >= 1.0 in"
        echo " one; the five stages cost < 10 %: +5 (medians) from the two medians,"
        echo " +5 (rounds) the median of each round's cost, its +5 run against its sluice run)"
        # shellcheck disable=SC2086
        printf 'latency, end of DATA -> Maildir (medians over the runs): sluice median %s ms,' \
            "$(median $ls_med)"
        # shellcheck disable=SC2086
        printf ' p99 %s ms; %s median %s ms, p99 %s ms\n' "$(median $ls_p99)" "$pf_name" \
            "$(median $lp_med)" "$(median $lp_p99)"
        if [ -n "$DEV_STAT" ]; then
            echo "io: the block device's writes and cache flushes per message (medians;"
            echo "    device ${DEV_DESC}, whatever else wrote meanwhile included):"
            for mode in $E2E_MODES; do
                # shellcheck disable=SC2086
                printf '    %-6s sluice %s writes, %s flushes; %s %s writes, %s flushes\n' "$mode" \
                    "$(median ${ws[$mode]:-})" "$(median ${fs[$mode]:-})" "$pf_name" \
                    "$(median ${wp[$mode]:-})" "$(median ${fp[$mode]:-})"
            done
        fi
    fi
    echo
fi

# best CURRENT NEW -> the larger rate (either may be empty)
best() {
    if [ -z "$2" ]; then echo "$1"
    elif [ -z "$1" ] || [ "$2" -gt "$1" ]; then echo "$2"
    else echo "$1"; fi
}

# ---- d. remote delivery ----------------------------------------------------
# RN messages of 5 KB, one recipient each, u<i>@d<i%10>.test: the domains
# interleave as they would arrive.  Each domain has its own smtp-sink, so that
# it is a destination (nexthop) of its own for both systems; both reach it
# through a static table, no DNS: sluice's routes (dI.test
# smtp:[127.0.0.1]:PORT) and Postfix's transport_maps (the same line).  Both
# queue the same messages first, untimed (sluice-enqueue reads the stream;
# Postfix's smtpd gets it over 10 pipelined sessions while its qmgr is out of
# master.cf); then the clock runs from the release (sluice-runq -1 starts;
# qmgr is put back and master reloaded) until the queue is empty (sluice-runq
# exits; Postfix's log has a "removed" for every message).
sink_ports=()

# sink_totals -> "messages sessions" the sinks have counted so far (-c).
sink_totals() {
    local f last tm=0 ts=0 m s
    for f in "$b"/sink-*.out; do
        [ -s "$f" ] || continue
        last=$(tail -c 100 "$f" | tr '\r' '\n' | grep 'mesg=' | tail -n 1)
        m=${last##*mesg=}; s=${last#sess=}; s=${s%% *}
        tm=$((tm + ${m:-0})); ts=$((ts + ${s:-0}))
    done
    echo "$tm $ts"
}

start_sinks() {
    local i p r
    for ((i = 0; i < 10; i++)); do
        while :; do
            p=$(free_port)
            [[ " ${sink_ports[*]} " == *" $p "* ]] || break
        done
        # -u: smtp-sink refuses to run as root; it dumps nothing (no -d).
        smtp-sink -u nobody -c "127.0.0.1:$p" 1000 < /dev/null > "$b/sink-$i.out" 2>&1 &
        sink_pids+=($!)
        sink_ports+=("$p")
    done
    for ((i = 0; i < 10; i++)); do
        for ((r = 0; r < 100; r++)); do
            port_open "${sink_ports[$i]}" && break
            sleep 0.1
        done
        port_open "${sink_ports[$i]}" || { echo "smtp-sink on ${sink_ports[$i]} did not start"; return 1; }
    done
}

# d_row LABEL RUN MS RECEIVED SESSIONS — one line; sets row_rate.
d_row() {
    row_rate=$(rate "$4" "$3")
    printf '%-22s %5s %10s %10s %12s %12s\n' "$1" "$2" "$row_rate" "$(secs "$3")" "$4/$RN" "$5"
}

# remote_sluice RUN — sets row_rate ("" on failure) and q_sluice (queueing ms).
remote_sluice() {
    local r=$1 sp=$b/rspool-$r t0 t1 st m0 s0 m1 s1 left
    row_rate=
    mkdir -p "$sp"/{tmp,incoming,deferred,bad,dead,quarantine}
    # sluice-smtp refuses root: as root, the queue is nobody's, as a
    # spool belongs to an unprivileged user.
    as=()
    if [ "$(id -u)" = 0 ]; then
        chown -R nobody "$sp"
        as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
    fi
    t0=$(now_ns)
    SLUICE_CONF=$b/rconf SLUICE_SPOOL=$sp "${as[@]}" "$tree/libexec/sluice-enqueue" < "$b/remote.stream" 2> "$b/renqueue-$r.log"
    st=$?
    q_sluice=$(ms "$t0" "$(now_ns)")
    if [ $st != 0 ] || [ "$(count_files "$sp/incoming")" != "$RN" ]; then
        echo "sluice: sluice-enqueue exited $st, $(count_files "$sp/incoming") queued:"
        tail -3 "$b/renqueue-$r.log" | sed 's/^/    /'
        return
    fi
    settle
    read -r m0 s0 < <(sink_totals)
    t0=$(now_ns)
    SLUICE_CONF=$b/rconf SLUICE_SPOOL=$sp timeout $((60 + RN / 50)) "${as[@]}" "$tree/libexec/sluice-runq" -1 2> "$b/rrunq-$r.log"
    st=$?
    t1=$(now_ns)
    read -r m1 s1 < <(sink_totals)
    left=$(( $(count_files "$sp/incoming") + $(count_files "$sp/deferred") ))
    d_row "sluice" "$r" "$(ms "$t0" "$t1")" "$((m1 - m0))" "$((s1 - s0))"
    if [ $st != 0 ] || [ $left != 0 ] || [ $((m1 - m0)) != "$RN" ]; then
        echo "  (sluice-runq exited $st; $left messages left in the queue)"
        grep -v 'status=sent' "$b/rrunq-$r.log" | grep -v 'route=' | tail -3 | sed 's/^/    /'
        row_rate=
    fi
}

# pf_qmgr DIR -> PIDs of the qmgr of the instance in DIR (its cwd is the queue)
pf_qmgr() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = qmgr ] || continue
        [ "$(readlink "$p/cwd" 2>/dev/null)" = "$1/spool" ] && echo "${p#/proc/}"
    done
}

# remote_postfix RUN — sets row_rate ("" on failure) and q_postfix (queueing ms).
remote_postfix() {
    local r=$1 port etc i t0 t1 n m0 s0 m1 s1 left acc off tdone stopped=0
    row_rate=
    port=$(free_port)
    pf_dir=$b/rpostfix-$r
    etc=$pf_dir/etc
    mkdir -p "$b/rpfmail-$r"
    if ! "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$b/rpfmail-$r" test \
        > "$b/rpostfix-start-$r.log" 2>&1; then
        echo "Postfix did not start:"; sed 's/^/    /' "$b/rpostfix-start-$r.log" | tail -5
        "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1; pf_dir=
        return
    fi
    for ((i = 0; i < 10; i++)); do
        printf 'd%d.test smtp:[127.0.0.1]:%s\n' "$i" "${sink_ports[$i]}"
    done > "$etc/transport"
    # No queue manager while the mail comes in: it stays in incoming/.
    postconf -c "$etc" -e "transport_maps = texthash:$etc/transport" &&
        postconf -c "$etc" -M# qmgr/unix && postfix -c "$etc" reload >/dev/null 2>&1
    for ((i = 0; i < 100; i++)); do
        [ -z "$(pf_qmgr "$pf_dir")" ] && break
        sleep 0.1
    done
    t0=$(now_ns)
    acc=$("$PY" "$top/t/bench/smtpfeed.py" 127.0.0.1 "$port" 10 "$b/remote.stream" 2> "$b/rfeed-$r.log")
    q_postfix=$(ms "$t0" "$(now_ns)")
    n=$(count_files "$pf_dir/spool/incoming")
    if [ "${acc:-0}" != "$RN" ] || [ "$n" != "$RN" ] || [ -n "$(pf_qmgr "$pf_dir")" ]; then
        echo "Postfix: ${acc:-0} messages accepted, $n in incoming/ (qmgr: $(pf_qmgr "$pf_dir"))"
        tail -3 "$b/rfeed-$r.log" | sed 's/^/    /'
    else
        postconf -c "$etc" -M qmgr/unix="qmgr unix n - n 300 1 qmgr"
        settle
        read -r m0 s0 < <(sink_totals)
        off=$(stat -c %s "$pf_dir/maillog")
        t0=$(now_ns)
        postfix -c "$etc" reload >/dev/null 2>&1
        postqueue -c "$etc" -f
        read -r n tdone < <("$PY" "$top/t/bench/logwait.py" "$pf_dir/maillog" "$off" \
            ": removed" "$RN" $((60 + RN / 50)) 30)
        t1=$tdone
        [ "$n" -ge "$RN" ] || t1=$(now_ns)
        # Stop first, so that cached connections close and the sinks count them.
        "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
        stopped=1
        sleep 0.2
        read -r m1 s1 < <(sink_totals)
        left=$(find "$pf_dir/spool"/{incoming,active,deferred,hold} -type f 2>/dev/null | wc -l)
        d_row "$pf_name" "$r" "$(ms "$t0" "$t1")" "$((m1 - m0))" "$((s1 - s0))"
        if [ "$n" -lt "$RN" ] || [ "$left" != 0 ] || [ $((m1 - m0)) != "$RN" ]; then
            echo "  (Postfix: $n removed, $left messages left in the queue)"
            grep -E 'status=(deferred|bounced)|warning|fatal' "$pf_dir/maillog" | tail -3 | sed 's/^/    /'
            row_rate=
        fi
    fi
    [ $stopped = 1 ] || "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    pf_dir=
}

if ! skipped remote; then
    echo "d. remote delivery: $RN messages of 5 KB, one recipient each, over 10 domains"
    echo "   d0.test ... d9.test, to smtp-sink (one per domain on 127.0.0.1, so 10"
    echo "   destinations), routed by a static table (sluice: routes; Postfix:"
    echo "   transport_maps; both smtp:[127.0.0.1]:PORT, no DNS).  Queued first, untimed;"
    echo "   timed from release to empty queue.  sluice: sluice-runq -1, chain"
    echo "   \"sluice-route | sluice-smtp\"; Postfix: qmgr and smtp, default settings."
    echo "   $REPS_REMOTE run(s) each, alternately; before each run: sync, then a ${SETTLE} s pause"
    hr
    printf '%-22s %5s %10s %10s %12s %12s\n' "system" "run" "msg/s" "seconds" "received" "connections"
    if ! command -v smtp-sink >/dev/null; then
        echo "smtp-sink is missing (package postfix): skipped"
    elif start_sinks; then
        # The sluice side's configuration: the defaults, the chain, the routes.
        mkdir -p "$b/rconf"
        for f in "$b"/conf/*; do
            case $f in *.cdb|*/config) continue ;; esac
            cp "$f" "$b/rconf/"
        done
        { cat "$top/conf/config"
          printf 'spool\t%s\nmailroot\t%s\n' "$b/rspool" "$b/rmail"
          printf 'chain\tsluice-route | sluice-smtp\n'
        } > "$b/rconf/config"
        for ((i = 0; i < 10; i++)); do
            printf 'd%d.test smtp:[127.0.0.1]:%s\n' "$i" "${sink_ports[$i]}"
        done > "$b/rconf/routes"
        for f in "$b"/rconf/*; do
            case $f in *.cdb) continue ;; esac
            "$tree/bin/sluice-mkcdb" -o "$f.cdb" "$f" || exit 1
        done
        # The messages, as a stream in export form (what either system is given).
        awk -v n="$RN" 'BEGIN {
            l = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklm"
            for (i = 0; i < n; i++) {
                printf "MAIL FROM:<bench@example.test>\nRCPT TO:<u%d@d%d.test>\nDATA\n", i, i % 10
                printf "From: <bench@example.test>\nTo: <u%d@d%d.test>\n", i, i % 10
                printf "Subject: remote %d\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n", i
                printf "Message-ID: <%d.remote@example.test>\n\n", i
                for (j = 0; j < 67; j++) print l
                print "."
            }
        }' > "$b/remote.stream"
        have_postfix || why_no_postfix
        s_best= p_best= q_sluice= q_postfix=
        for ((r = 1; r <= REPS_REMOTE; r++)); do
            remote_sluice "$r"
            s_best=$(best "$s_best" "$row_rate")
            if have_postfix; then
                remote_postfix "$r"
                p_best=$(best "$p_best" "$row_rate")
            fi
        done
        if [ "$REPS_REMOTE" -gt 1 ]; then
            [ -z "$s_best" ] || printf '%-28s %10s\n' "best sluice" "$s_best"
            [ -z "$p_best" ] || printf '%-28s %10s\n' "best $pf_name" "$p_best"
        fi
        if [ -n "$s_best" ] && [ -n "$p_best" ] && [ "$p_best" -gt 0 ]; then
            printf '%-28s %10s\n' "ratio sluice/Postfix$([ "$REPS_REMOTE" = 1 ] || echo " (bests)")" \
                "$(ratio "$s_best" "$p_best")"
        fi
        echo "queueing, untimed (last run): sluice-enqueue ${q_sluice:--} ms;" \
            "Postfix smtpd, 10 sessions ${q_postfix:--} ms"
        rm -f "$b/remote.stream"
    fi
    stop_sinks
    echo
fi

# ---- g. DNS-BL at connect --------------------------------------------------
# Connections per second through tcpserver (connect, 220, QUIT, 221) from
# 127.0.0.1, 10 at once: sluice-smtpd alone; behind sluice-dnsbl with no
# lists; behind sluice-dnsbl with four IPv4 lists (unlisted client: four
# NXDOMAIN answers each) served by a local DNS server (dnslib's, in Python:
# t/tools/dnsbl-dns.py), the same server one program would use in a test.
# Also sluice-dnsbl's own exec cost when it has nothing to ask.
DN=${BENCH_DNSBL_N:-1000}
if ! skipped dnsbl && [ -x "$tree/libexec/sluice-dnsbl" ]; then
    echo "g. DNS-BL at connect: $DN connections (greeting, QUIT), 10 at once, from 127.0.0.1"
    hr
    printf '%-46s %10s %10s\n' "chain" "conn/s" "ok/failed"
    dconf=$b/dnsbl-conf
    mkdir -p "$dconf"
    cp "$b"/conf/* "$dconf/"
    : > "$b/dnsbl.zone"
    for z in 1 2 3 4; do echo "2.0.0.127.bl$z.bench. IN A 127.0.0.2"; done >> "$b/dnsbl.zone"
    dport=$(free_port)
    "$PY" "$top/t/tools/dnsbl-dns.py" --zone "$b/dnsbl.zone" --port "$dport" \
        </dev/null >"$b/dnsbl-dns.log" 2>&1 &
    dns_pid=$!
    for ((r = 0; r < 100; r++)); do
        "$top/t/tools/dns.sh" query "$dport" probe.invalid A >/dev/null 2>&1 && break
        sleep 0.1
    done
    printf 'dns_servers\t127.0.0.1:%s\n' "$dport" >> "$dconf/config"
    : > "$dconf/dnsbl_whitelist"
    : > "$dconf/dnsbl"
    for f in config dnsbl dnsbl_whitelist; do
        "$tree/bin/sluice-mkcdb" -o "$dconf/$f.cdb" "$dconf/$f" || exit 1
    done
    # conn_row LABEL PROG... — one row, from a tcpserver running PROG...
    conn_row() {
        local label=$1 port pid out
        shift
        port=$(free_port)
        SLUICE_CONF=$dconf tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$port" "$@" \
            </dev/null >>"$b/dnsbl-tcpserver.log" 2>&1 &
        pid=$!
        for ((r = 0; r < 100; r++)); do port_open "$port" && break; sleep 0.1; done
        out=$("$PY" "$top/t/bench/connrate.py" 127.0.0.1 "$port" "$DN" 10)
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        read -r rate okc bad <<<"$out"
        printf '%-46s %10s %10s\n' "$label" "$rate" "$okc/$bad"
    }
    settle
    conn_row "sluice-smtpd" "$tree/libexec/sluice-smtpd"
    settle
    conn_row "sluice-dnsbl sluice-smtpd, no lists" "$tree/libexec/sluice-dnsbl" "$tree/libexec/sluice-smtpd"
    printf '%s\n' "bl1.bench ip4 reject" "bl2.bench ip4 reject" "bl3.bench ip4 tempfail" \
        "bl4.bench ip4 reject" > "$dconf/dnsbl"
    "$tree/bin/sluice-mkcdb" -o "$dconf/dnsbl.cdb" "$dconf/dnsbl" || exit 1
    settle
    conn_row "sluice-dnsbl sluice-smtpd, four lists" "$tree/libexec/sluice-dnsbl" "$tree/libexec/sluice-smtpd"
    kill -TERM "$dns_pid" 2>/dev/null
    wait "$dns_pid" 2>/dev/null
    : > "$dconf/dnsbl"
    "$tree/bin/sluice-mkcdb" -o "$dconf/dnsbl.cdb" "$dconf/dnsbl" || exit 1
    [ -x "$b/execbench" ] || cc -O2 -o "$b/execbench" "$top/t/bench/execbench.c" || exit 1
    printf '%-46s %10s µs\n' "exec: sluice-dnsbl /bin/true, no lists" \
        "$(SLUICE_CONF=$dconf TCPREMOTEIP=192.0.2.1 "$b/execbench" "$RUNS" "$tree/libexec/sluice-dnsbl" /bin/true)"
    printf '%-46s %10s µs\n' "exec: /bin/true" "$("$b/execbench" "$RUNS" /bin/true)"
    echo
fi

# ---- f. TLS sessions -------------------------------------------------------
# A session's cost in clear, with STARTTLS and with SMTPS.  sluice pays for
# OpenSSL only in the sessions that use it (sluice-tlsd is exec'd for them
# alone), so its plain sessions cost the same with a certificate configured
# as without.  The server's CPU per session is the machine's busy time
# (/proc/stat) less the client's own: other load on the machine counts in it.
TN=${BENCH_TLS_N:-1000}

# tls_row LABEL PORT MODE — one line of the table
tls_row() {
    local r rate cpu bad
    r=$("$PY" "$top/t/bench/tlssess.py" "$2" "$3" "$TN" 4 2>&1) || r=
    read -r rate cpu bad <<<"$r"
    if [ -n "$rate" ] && [ "$bad" = 0 ]; then
        printf '%-44s %10s %14s\n' "$1" "$rate" "$cpu"
    else
        printf '%-44s %10s %14s  (%s)\n' "$1" "-" "-" "${r:-failed}"
    fi
}

# tls_sluice — three listeners: no certificate, STARTTLS, SMTPS
tls_sluice() {
    local p0 p1 p2 pids=() p i
    mkdir -p "$b/tconf"
    cp "$b"/conf/* "$b/tconf/"
    printf 'smtpd_tls_cert\t%s\nsmtpd_tls_key\t%s\n' "$b/tls/cert.pem" "$b/tls/key.pem" >> "$b/tconf/config"
    "$tree/bin/sluice-mkcdb" -o "$b/tconf/config.cdb" "$b/tconf/config" || return
    p0=$(free_port) p1=$(free_port) p2=$(free_port)
    tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$p0" "$tree/libexec/sluice-smtpd" \
        </dev/null >"$b/tls-$p0.log" 2>&1 &
    pids+=($!)
    SLUICE_CONF=$b/tconf tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$p1" \
        "$tree/libexec/sluice-smtpd" </dev/null >"$b/tls-$p1.log" 2>&1 &
    pids+=($!)
    SLUICE_CONF=$b/tconf tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$p2" \
        "$tree/libexec/sluice-tlsd" "$tree/libexec/sluice-smtpd" </dev/null >"$b/tls-$p2.log" 2>&1 &
    pids+=($!)
    for p in "$p0" "$p1" "$p2"; do
        for ((i = 0; i < 100; i++)); do port_open "$p" && break; sleep 0.1; done
    done
    tls_row "sluice, plain, no certificate configured" "$p0" plain
    tls_row "sluice, plain, STARTTLS offered" "$p1" plain
    tls_row "sluice, STARTTLS (sluice-tlsd)" "$p1" starttls
    tls_row "sluice, SMTPS (sluice-tlsd sluice-smtpd)" "$p2" smtps
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}

# tls_postfix — a private Postfix offering STARTTLS, and SMTPS beside it
tls_postfix() {
    local port sport
    port=$(free_port) sport=$(free_port)
    pf_dir=$b/postfix-tls
    mkdir -p "$b/pfmail-tls"
    if POSTFIX_MAIN_CF="smtpd_tls_cert_file = $b/tls/cert.pem
smtpd_tls_key_file = $b/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 0" POSTFIX_MASTER_CF="127.0.0.1:$sport inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
tlsmgr unix - - n 1000? 1 tlsmgr" \
        "$top/t/tools/postfix.sh" start "$pf_dir" "$port" "$b/pfmail-tls" test \
        > "$b/postfix-tls-start.log" 2>&1; then
        tls_row "$pf_name, plain, STARTTLS offered" "$port" plain
        tls_row "$pf_name, STARTTLS" "$port" starttls
        tls_row "$pf_name, SMTPS (wrappermode)" "$sport" smtps
    else
        echo "Postfix did not start:"; sed 's/^/    /' "$b/postfix-tls-start.log" | tail -5
    fi
    "$top/t/tools/postfix.sh" stop "$pf_dir" >/dev/null 2>&1
    pf_dir=
}

if ! skipped tls; then
    echo "f. TLS sessions: $TN of each kind, greeting, EHLO (again after STARTTLS), QUIT,"
    echo "   4 clients at once (t/bench/tlssess.py); an EC P-256 certificate; server CPU"
    echo "   is the machine's busy time less the client's"
    hr
    printf '%-44s %10s %14s\n' "system, session" "sessions/s" "server ms/sess"
    mkdir -p "$b/tls"
    if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$b/tls/key.pem" -out "$b/tls/cert.pem" -days 30 -subj /CN=localhost \
        >/dev/null 2>&1; then
        echo "openssl cannot make a certificate: skipped"
    else
        chmod -R go+rX "$b/tls"
        settle
        tls_sluice
        if have_postfix; then
            settle
            tls_postfix
        else
            why_no_postfix
        fi
    fi
    echo
fi
