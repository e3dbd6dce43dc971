# t/dsn.sh — sourced after t/lib.sh by the tests of notices made
# by sluice-local for an unknown user: a private configuration (example.test
# local, alice its only user, postmaster@example.test) and spool.
export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
mailroot $tmpdir/mail
postmaster postmaster@example.test
EOT
echo example.test > "$SLUICE_CONF/domains"
echo "alice@example.test alice/" > "$SLUICE_CONF/users"
for t in config domains users; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
