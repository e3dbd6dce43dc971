# t/e2e.sh — a private, whole sluice for the end-to-end tests (t/7*-*.t):
# tcpserver + sluice-smtpd writing the queue itself (E2E_QUEUE=PROG: handing
# each message to PROG, say sluice-enqueue, as SLUICE_QUEUE), and
# sluice-runq running the default chain (sluice-envelope | sluice-local) into
# Maildirs.  Source it after t/lib.sh.  The layout is t/tools/run.sh's:
#
#   e2e_setup [SETTING VALUE]...   $tmpdir/var/{conf,spool,mail}, the tables
#       compiled, SLUICE_CONF/SLUICE_SPOOL/SLUICE_LIBEXEC exported; mailboxes:
#       alice@ → alice/, bob@ → bob/, any other @example.test → box/
#   e2e_smtpd PORTVAR              the listener on a free port (tcpserver's PID
#       in $e2e_tcpserver); its log, with the queue program's, which smtpd
#       copies, is $tmpdir/smtpd.log
#   e2e_runq PIDVAR                the runner daemon, log $tmpdir/runq.log
#   e2e_runonce [-f]               sluice-runq -1, log appended to runq.log
#   e2e_queued                     how many files are in incoming/ and deferred/
#   e2e_leftovers                  files in bad/ dead/ quarantine/ and in the
#                                  Maildirs' tmp/ (should be none), one a line
#   e2e_markers DIR [FIELD]        the FIELD (default X-Marker) of every file
#                                  in the Maildir DIR's new/, one a line

e2e_setup() {
    var=$tmpdir/var
    conf=$var/conf spool=$var/spool mail=$var/mail
    mkdir -p "$conf" "$spool" "$mail"
    export SLUICE_CONF=$conf SLUICE_SPOOL=$spool SLUICE_LIBEXEC=$top/libexec
    unset SLUICE_QUEUE RELAYCLIENT      # the defaults: smtpd writes the queue, no relay
    [ -z "${E2E_QUEUE:-}" ] || export SLUICE_QUEUE=$E2E_QUEUE
    {
        printf 'hostname mx.example.test\nmailroot %s\nspool %s\n' "$mail" "$spool"
        while [ $# -ge 2 ]; do printf '%s %s\n' "$1" "$2"; shift 2; done
    } > "$conf/config"
    echo example.test > "$conf/domains"
    printf '%s\n' 'alice@example.test alice/' 'bob@example.test bob/' \
        '@example.test box/' > "$conf/users"
    : > "$conf/aliases"
    : > "$conf/access"
    local t
    for t in config domains users aliases access; do
        sluice-mkcdb -o "$conf/$t.cdb" "$conf/$t" || bail "sluice-mkcdb $t failed"
    done
}

e2e_smtpd() {
    local _e_var=$1 _e_port _e_pid _e_i
    _e_port=$(free_port) || bail "no free port"
    tcpserver -R -H -l 0 -b 100 -c 100 127.0.0.1 "$_e_port" "$top/libexec/sluice-smtpd" \
        </dev/null >>"$tmpdir/smtpd.log" 2>&1 &
    _e_pid=$!
    _t_pids+=("$_e_pid")
    e2e_tcpserver=$_e_pid
    for ((_e_i = 0; _e_i < 100; _e_i++)); do
        if port_open "$_e_port"; then
            printf -v "$_e_var" %s "$_e_port"
            return 0
        fi
        kill -0 "$_e_pid" 2>/dev/null || break
        sleep 0.1
    done
    bail "tcpserver on port $_e_port did not start: $(cat "$tmpdir/smtpd.log")"
}

e2e_runq() {
    local _e_var=$1
    sluice-runq </dev/null >>"$tmpdir/runq.log" 2>&1 &
    printf -v "$_e_var" %s "$!"
    _t_pids+=("$!")
    wait_for "grep -q 'sluice-runq: start' '$tmpdir/runq.log'" 20 ||
        bail "sluice-runq did not start: $(cat "$tmpdir/runq.log")"
}

e2e_runonce() { sluice-runq -1 "$@" </dev/null >>"$tmpdir/runq.log" 2>&1; }

e2e_queued() { find "$spool/incoming" "$spool/deferred" -type f 2>/dev/null | wc -l; }

e2e_leftovers() {
    find "$spool/bad" "$spool/dead" "$spool/quarantine" -type f 2>/dev/null
    find "$mail" -mindepth 3 -maxdepth 3 -path "$mail/*/tmp/*" 2>/dev/null
}

e2e_markers() {
    local field=${2:-X-Marker}
    find "$1/new" -type f -exec awk -v f="$field: " '
        FNR == 1 { h = 1 }
        h && $0 == "" { h = 0; nextfile }
        h && index($0, f) == 1 { print substr($0, length(f) + 1) }' {} +
}
