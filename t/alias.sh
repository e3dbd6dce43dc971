# t/alias.sh — sourced after t/lib.sh by the tests that use the
# alias test tables: a private configuration folder ($conf, exported as
# SLUICE_CONF) with aliases, domains and users from t/data/alias compiled,
# and config [LINES...] to write the test's settings plus LINES.
data=$top/t/data/alias
conf=$tmpdir/conf
mkdir -p "$conf"
export SLUICE_CONF=$conf TMPDIR=$tmpdir
for f in aliases domains users; do
    sed "s#@DATA@#$conf#g" "$data/$f" > "$conf/$f"
    sluice-mkcdb "$conf/$f" || bail "sluice-mkcdb $f"
done

config() {
    { cat "$data/config"; printf '%s\n' "$@"; } > "$conf/config"
    sluice-mkcdb "$conf/config" || bail "sluice-mkcdb config"
}
config
