#!/bin/bash
# The configuration is checked: sluice-mkcdb refuses a config with an
# unknown setting or a bad value, naming file and line; every program
# refuses to start with such a config.cdb (compiled another way), naming
# file, line and setting, never falling back to a default; sluice-check
# reports every problem: bad settings, tables that do not compile or whose
# text is newer than their .cdb, passwords readable by others, missing
# folders the settings name.
. "$(dirname "$0")/lib.sh"

conf=$tmpdir/conf
export SLUICE_CONF=$conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$conf" "$SLUICE_SPOOL" "$tmpdir/mail"
chmod 0750 "$SLUICE_SPOOL" "$tmpdir/mail"
good="hostname mx.example.test
mailroot $tmpdir/mail
log stderr"

# sluice-mkcdb refuses what the issue found compiling silently.
compile_bad() {	# compile_bad LINE NAME PATTERN
    printf '%s\n%s\n' "$good" "$1" > "$conf/config"
    err=$(sluice-mkcdb "$conf/config" 2>&1)
    is "$?" 100 "sluice-mkcdb refuses $2"
    like "$err" "^sluice-mkcdb: fatal: $conf/config:4: $3" "naming file and line ($2)"
    ok $([ ! -e "$conf/config.cdb" ]; echo $?) "and writes no config.cdb ($2)"
}
compile_bad "mesage_size_limit 10M" "a misspelt setting name" "unknown setting mesage_size_limit"
compile_bad "message_size_limit 10X" "a bad size" 'setting message_size_limit: bad value "10X": not a size'
compile_bad "smtpd_vrfy maybe" "a bad yes/no" 'setting smtpd_vrfy: bad value "maybe": use yes or no'
compile_bad "smtp_tls_level sometimes" "a bad enum" 'setting smtp_tls_level: bad value "sometimes": use one of none\|may\|require\|verify'
compile_bad "alias_max_depth 1000" "a number out of range" 'setting alias_max_depth: bad value "1000": out of range: from 1 to 100'
compile_bad "dns_timeout soon" "a bad time" 'setting dns_timeout: bad value "soon": not a time'
sluice-mkcdb -c "$conf/config" 2>/dev/null
is "$?" 100 "sluice-mkcdb -c refuses it too"
printf 'mesage_size_limit 10M\n' > "$tmpdir/other"
sluice-mkcdb "$tmpdir/other"; is "$?" 0 "another table may have any keys"

# A config.cdb made another way (an older sluice, from standard input):
# every program refuses to start.
printf '%s\nmessage_size_limit 10X\n' "$good" > "$conf/config"
sluice-mkcdb -o "$conf/config.cdb" - < "$conf/config"
for p in "$top"/bin/* "$top"/libexec/*; do
    [ -f "$p" ] && [ -x "$p" ] || continue
    name=${p##*/}
    case $name in
    sluice-mkcdb) continue ;;	# it must run to repair the config
    sluice-check) continue ;;	# it reports, below
    sluice-queue) args=(show 0123456789abcdef01234) ;;
    *) args=() ;;
    esac
    err=$(timeout 10 "$p" "${args[@]}" </dev/null 2>&1 >/dev/null); rc=$?
    is "$rc" 111 "$name refuses to start with a bad setting (111)"
    like "$err" "^$name: fatal: $conf/config:4: setting message_size_limit: bad value \"10X\"" \
        "$name names file, line and setting"
done
is "$(printf 'message_size_limit 10X\n' | sluice-mkcdb -o "$tmpdir/x.cdb" - 2>&1; echo $?)" 0 \
    "sluice-mkcdb still runs, to repair it"

# sluice-check: a clean configuration passes.
printf '%s\n' "$good" > "$conf/config"
for t in domains users aliases; do cp "$top/conf/$t" "$conf/"; done
for t in config domains users aliases; do sluice-mkcdb "$conf/$t"; done
out=$(sluice-check 2>&1); rc=$?
is "$rc" 0 "sluice-check passes a clean configuration" || diag "$out"
like "$out" "sluice-check: $conf: 0 errors" "and says so"

# ... and reports every problem.
printf '%s\nmesage_size_limit 10M\nmessage_size_limit 10X\nsmtpd_vrfy maybe\n' "$good" > "$conf/config"
printf "%s\n" "$good" | sluice-mkcdb -o "$conf/config.cdb" -
touch -d '-1 minute' "$conf/config.cdb"
printf 'relay.example.test user:secret\n' > "$conf/smtp_auth"
sluice-mkcdb "$conf/smtp_auth"; chmod 0644 "$conf/smtp_auth" "$conf/smtp_auth.cdb"
printf 'a@example.test x\na@example.test y\n' > "$conf/routes"
sluice-mkcdb -o "$conf/routes.cdb" - < /dev/null
touch -d '-1 minute' "$conf/routes.cdb"
rmdir "$tmpdir/mail"
out=$(sluice-check 2>&1); rc=$?
is "$rc" 100 "sluice-check fails (100)"
like "$out" "error: $conf/config:4: unknown setting mesage_size_limit" "an unknown name, with its line"
like "$out" "error: $conf/config:5: setting message_size_limit: bad value \"10X\"" "a bad size"
like "$out" "error: $conf/config:6: setting smtpd_vrfy: bad value \"maybe\"" "a bad enum"
like "$out" "error: $conf/config is newer than $conf/config.cdb: the change is not in force" \
    "a table whose text is newer than its .cdb"
like "$out" "error: $conf/smtp_auth holds passwords and is readable by every local user" \
    "smtp_auth readable by others"
like "$out" "error: $conf/smtp_auth.cdb holds passwords and is readable" "its .cdb too"
like "$out" "error: .*routes:2: duplicate key a@example.test" "a table that does not compile"
like "$out" "error: mailroot $tmpdir/mail: No such file or directory" "a missing mailroot folder"
like "$out" "sluice-check: $conf: 9 errors" "counted"
chmod 0777 "$conf/domains"
like "$(sluice-check 2>&1)" "error: $conf/domains is writable by every local user" "a table others may write"

sluice-check --help > "$tmpdir/out"; is "$?" 0 "sluice-check --help exits 0"
like "$(cat "$tmpdir/out")" "^usage: sluice-check" "with the usage"
sluice-check -x 2>/dev/null; is "$?" 100 "bad usage exits 100"

done_testing
