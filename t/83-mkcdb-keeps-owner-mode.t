#!/bin/bash
# sluice-mkcdb gives a compiled table the owner and mode of the old .cdb,
# or of its source when there is none, never readable by more than the
# source: a chmod of either survives a rebuild, so a table of passwords
# (smtp_auth) stays private.  The file being written is private too.
. "$(dirname "$0")/lib.sh"

t=$tmpdir/smtp_auth
mode() { stat -c '%a' "$1"; }
owner() { stat -c '%U:%G' "$1"; }
printf 'relay.example.test user:secret\n' > "$t"

chmod 0600 "$t"
sluice-mkcdb "$t" || bail "mkcdb"
is "$(mode "$t.cdb")" 600 "a 0600 source makes a 0600 table"
chmod 0640 "$t"
sluice-mkcdb "$t"
is "$(mode "$t.cdb")" 600 "a rebuild keeps the old table's mode when the source allows it"
chmod 0600 "$t.cdb"; chmod 0644 "$t"
sluice-mkcdb "$t"
is "$(mode "$t.cdb")" 600 "a chmod of the table survives a rebuild"
chmod 0644 "$t.cdb"; chmod 0600 "$t"
sluice-mkcdb "$t"
is "$(mode "$t.cdb")" 600 "never more readable than the source"
rm "$t.cdb"; chmod 0644 "$t"
sluice-mkcdb "$t"
is "$(mode "$t.cdb")" 644 "a public source makes a public table"
printf 'k v\n' | sluice-mkcdb -o "$tmpdir/stdin.cdb" -
is "$(mode "$tmpdir/stdin.cdb")" 644 "from standard input, a first build is 0644"

if [ "$(id -u)" = 0 ]; then
    u=slk$$
    system_user "$u"
    rm -f "$t.cdb"
    chown "$u:mail" "$t"; chmod 0640 "$t"
    sluice-mkcdb "$t"
    is "$(owner "$t.cdb") $(mode "$t.cdb")" "$u:mail 640" "as root, a first build takes the source's owner and group"
    chown root:root "$t"; chmod 0644 "$t"
    sluice-mkcdb "$t"
    is "$(owner "$t.cdb") $(mode "$t.cdb")" "$u:mail 640" "a rebuild keeps the old table's owner and group"
    # Not root: a group it is not in cannot be given; the group gets what others do.
    chmod 0755 "$tmpdir"
    mkdir "$tmpdir/u"; chown "$u" "$tmpdir/u"
    printf 'k v\n' > "$tmpdir/u/t"; chown "$u:root" "$tmpdir/u/t"; chmod 0640 "$tmpdir/u/t"
    setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$top/bin/sluice-mkcdb" "$tmpdir/u/t"
    is "$(owner "$tmpdir/u/t.cdb") $(mode "$tmpdir/u/t.cdb")" "$u:$(id -gn "$u") 600" \
        "not root, a group it may not give gets no more than others"
else
    skip "not root: cannot give files to another user" 3
fi
done_testing
