# t/smtpd.sh — helpers for the sluice-smtpd tests (t/20-smtpd-*.t); source it
# after t/lib.sh.
#
#   smtpd_conf NAME [SETTING VALUE]...   a configuration folder $tmpdir/NAME
#       with the tables below, compiled by sluice-mkcdb, a spool NAME/spool,
#       smtpd_error_delay 0 (no tarpit) unless given, and the settings given
#   smtpd_start PORTVAR CONF ECHODIR [ENV=VALUE...] [-- TCPSERVER-OPTIONS...]
#       sluice-smtpd under a real tcpserver on a free port, handing each
#       transaction to t/queue-echo.sh, which saves it in ECHODIR
#   py_checks PORT < SCRIPT   run a Python script (under /usr/bin/python3)
#       with the prelude below; each "PASS name" / "FAIL name :: why" line it
#       prints becomes one TAP result
#   echo_count DIR [EXT]      how many .msg (or .EXT) files queue-echo wrote
#   smtpd_cert                a self-signed certificate for mx.example.test
#       (EC P-256, made once per test): $tmpdir/tls/cert.pem and key.pem,
#       exported as SMTPD_CERT for the Python checks
#   smtpd_password USER PASS  a crypt(3) hash of PASS ($6$, by openssl passwd)
#
# SMTPD_TLS_WRAP=1 makes smtpd_start run "sluice-tlsd sluice-smtpd": TLS
# from the first octet, as on port 465.  Raw.tls() in the Python prelude
# turns a connection into TLS (after STARTTLS's 220, or at once).

# The tables every configuration gets.
smtpd_tables() {
    local d=$1
    printf '%s\n' 'example.test' '.sub.example.test' > "$d/domains"
    printf '%s\n' 'test@example.test x/' 'bob@example.test x/' \
        '@catchall.sub.example.test x/' > "$d/users"
    printf '%s\n' 'alias@example.test bob@example.test' > "$d/aliases"
    : > "$d/access"
}

smtpd_conf() {
    local d=$tmpdir/$1 t
    shift
    mkdir -p "$d"
    smtpd_tables "$d"
    # A spool of its own: sluice-smtpd keeps its per-client session slots there.
    # (unless the caller names one).
    mkdir -p "$d/spool"
    printf 'hostname mx.example.test\n' > "$d/config"
    case " $* " in *" spool "*) ;; *) printf 'spool %s\n' "$d/spool" >> "$d/config" ;; esac
    # No tarpit unless a test asks for one: many tests make errors on purpose.
    case " $* " in *" smtpd_error_delay "*) ;; *) printf 'smtpd_error_delay 0\n' >> "$d/config" ;; esac
    while [ $# -ge 2 ]; do
        printf '%s %s\n' "$1" "$2" >> "$d/config"
        shift 2
    done
    for t in domains users aliases access config; do
        sluice-mkcdb -o "$d/$t.cdb" "$d/$t" || bail "sluice-mkcdb $d/$t failed"
    done
}

smtpd_start() {
    # Locals start with _s_ so that the caller's PORTVAR is never shadowed.
    local _s_var=$1 _s_conf=$2 _s_echo=$3 _s_port _s_pid _s_i
    local -a _s_envs=() _s_opts=() _s_cmd=("${SLUICE_SMTPD:-$top/libexec/sluice-smtpd}")
    shift 3
    [ -z "${SMTPD_TLS_WRAP:-}" ] || _s_cmd=("$top/libexec/sluice-tlsd" "${_s_cmd[@]}")
    while [ $# -gt 0 ] && [ "$1" != -- ]; do _s_envs+=("$1"); shift; done
    [ "${1:-}" = -- ] && { shift; _s_opts=("$@"); }
    mkdir -p "$_s_echo"
    _s_port=$(free_port) || bail "no free port"
    env SLUICE_CONF="$_s_conf" ECHO_DIR="$_s_echo" SLUICE_QUEUE="$top/t/queue-echo.sh" \
        "${_s_envs[@]}" \
        tcpserver -R -H -l 0 -b 100 "${_s_opts[@]}" 127.0.0.1 "$_s_port" \
        "${_s_cmd[@]}" </dev/null >>"$tmpdir/tcpserver-$_s_port.log" 2>&1 &
    _s_pid=$!
    at_exit "stop_pid $_s_pid"
    for ((_s_i = 0; _s_i < 100; _s_i++)); do
        if port_open "$_s_port"; then
            printf -v "$_s_var" %s "$_s_port"
            return 0
        fi
        kill -0 "$_s_pid" 2>/dev/null || break
        sleep 0.1
    done
    bail "tcpserver on port $_s_port did not start: $(cat "$tmpdir/tcpserver-$_s_port.log")"
}

smtpd_cert() {
    export SMTPD_CERT=$tmpdir/tls/cert.pem SMTPD_KEY=$tmpdir/tls/key.pem
    [ -s "$SMTPD_CERT" ] && return 0
    mkdir -p "$tmpdir/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$SMTPD_KEY" -out "$SMTPD_CERT" -days 30 -subj /CN=mx.example.test \
        -addext subjectAltName=DNS:mx.example.test >/dev/null 2>&1 ||
        bail "openssl cannot make a test certificate"
}

smtpd_password() { printf '%s' "$2" | openssl passwd -6 -stdin; }

echo_count() {
    local n=0 f
    for f in "$1"/*."${2:-msg}"; do [ -e "$f" ] && n=$((n + 1)); done
    echo $n
}

# The prelude of every py_checks script: a raw SMTP client that reads whole
# replies, and check(name, condition, detail).
smtpd_py_prelude=$(cat <<'EOF'
import os, re, smtplib, socket, sys, time, traceback
PORT = int(sys.argv[1])
ECHO = sys.argv[2] if len(sys.argv) > 2 else None

def check(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name +
          ("" if cond else " :: " + str(detail)), flush=True)

class Raw:
    """A plain socket client: send bytes, read one whole (multiline) reply."""
    def __init__(self, banner=True):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
        self.buf = b""
        if banner:
            self.banner = self.reply()
    def send(self, data):
        self.s.sendall(data)
    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed; unread: %r" % self.buf)
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("latin-1")
    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return lines
    def code(self):
        return self.reply()[-1][:3]
    def cmd(self, c):
        self.send(c.encode("latin-1") + b"\r\n")
        return self.reply()[-1]
    def to_data(self, sender="alice@example.org", rcpt="test@example.test",
                ehlo="client.example.org"):
        """EHLO (unless ehlo is None), MAIL and RCPT one at a time, then
        DATA: its reply."""
        if ehlo is not None:
            self.cmd("EHLO " + ehlo)
        self.cmd("MAIL FROM:<%s>" % sender)
        self.cmd("RCPT TO:<%s>" % rcpt)
        return self.cmd("DATA")
    def replies(self, width=None):
        """The last line of every reply (its first width characters) until
        the server closes the connection."""
        got = []
        try:
            while True:
                got.append(self.reply()[-1][:width])
        except (EOFError, OSError):
            pass
        return got
    def closed(self, timeout=30):
        """True when the server closes the connection (after any replies)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except OSError:
            return False
    def close(self):
        self.s.close()
    def tls(self, ctx=None):
        """The handshake on this connection; nothing may be buffered."""
        import ssl
        if ctx is None:
            ctx = ssl.create_default_context(cafile=os.environ["SMTPD_CERT"])
        self.s = ctx.wrap_socket(self.s, server_hostname="mx.example.test")
        self.cipher = self.s.cipher()

def echo_files(ext="msg"):
    return sorted(f for f in os.listdir(ECHO) if f.endswith("." + ext))

def wait_files(n, ext="msg", timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if len(echo_files(ext)) >= n:
            return True
        time.sleep(0.05)
    return len(echo_files(ext)) >= n

def read_echo(f):
    return open(os.path.join(ECHO, f), "rb").read().decode("latin-1")

def has_enhanced(reply):
    """RFC 2034: the text after the code starts with class.subject.detail."""
    return re.match(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3} ", reply) is not None
EOF
)

py_checks() {
    local port=$1 echo=${2:-} line
    { printf '%s\n' "$smtpd_py_prelude"
      printf '%s\n' 'try:'
      sed 's/^/    /'
      printf '%s\n' 'except Exception:' \
          '    check("script ran to the end", False, traceback.format_exc().replace("\n", " | "))' \
          'print("END-OF-CHECKS", flush=True)'
    } > "$tmpdir/check.py"
    # A script that never runs (a syntax error, python missing) prints no
    # PASS or FAIL at all; under done_testing that would pass unnoticed.
    local ended=1 checks=0
    while IFS= read -r line; do
        case $line in
            "PASS "*) ok 0 "${line#PASS }"; checks=$((checks + 1)) ;;
            "FAIL "*) line=${line#FAIL }; ok 1 "${line%% :: *}"; diag "${line#* :: }"
                      checks=$((checks + 1)) ;;
            END-OF-CHECKS) ended=0 ;;
            *) diag "$line" ;;
        esac
    done < <("$PY" "$tmpdir/check.py" "$port" "$echo" 2>&1)
    [ $ended = 0 ] && [ $checks -gt 0 ]
    ok $? "the Python checks ran ($checks results)" || return 1
}
