#!/bin/bash
# make install puts newaliases (a link to sendmail) and mailq beside
# sendmail, sluice-logsum with the other commands, and every man page in
# its section (sluice(7) included); make uninstall
# removes everything install put in place, and never the configuration nor
# the spool.  Both run into a DESTDIR of the test's own, from the built tree
# (-o all: nothing is rebuilt under the other tests' feet).
. "$(dirname "$0")/lib.sh"

dest=$tmpdir/dest
m() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top" -o all DESTDIR="$dest" \
        SLUICE_USER=nosuchuser$$ "$@" > "$tmpdir/make.log" 2>&1
}
m install
ok $? "make install into a DESTDIR" || diag "$(tail "$tmpdir/make.log")"
bin=$dest/usr/local/bin
is "$(readlink "$bin/newaliases")" sendmail "newaliases is a link to sendmail"
ok $([ -x "$bin/mailq" ] && [ ! -L "$bin/mailq" ]; echo $?) "mailq is installed, a program of its own"
ok $([ -x "$bin/sluice-logsum" ]; echo $?) "sluice-logsum is installed"
ok $([ -e "$dest/usr/local/share/man/man1/sluice-logsum.1" ]; echo $?) "with its page"
# Every page of man/ is installed in its section, the overview sluice(7) too.
for page in "$top"/man/*.[1-9]; do
    b=$(basename "$page")
    cmp -s "$page" "$dest/usr/local/share/man/man${b##*.}/$b"
    ok $? "man/$b is installed as man${b##*.}/$b"
done

# newaliases, as installed, compiles the aliases table of its configuration.
printf 'someone\tsomeone@example.test\n' > "$tmpdir/aliases"
mkdir "$tmpdir/conf" && cp "$tmpdir/aliases" "$tmpdir/conf/"
SLUICE_CONF=$tmpdir/conf "$bin/newaliases"
is "$?/$(cdb -q "$tmpdir/conf/aliases.cdb" someone 2>/dev/null)" "0/someone@example.test" \
    "the installed newaliases compiles the aliases table"

# Changes the administrator made stay through uninstall.
echo "# mine" >> "$dest/etc/sluice/config"
touch "$dest/var/spool/sluice/keep"
find "$dest" \( -type f -o -type l \) | sort > "$tmpdir/installed"
m uninstall
ok $? "make uninstall"
find "$dest" \( -type f -o -type l \) | sort > "$tmpdir/left"
is "$(grep -v -e "^$dest/etc/sluice/" -e "^$dest/var/spool/sluice/" "$tmpdir/left")" "" \
    "nothing install put outside the configuration and the spool is left"
is "$(grep -c . "$tmpdir/left")" "$(grep -c -e "^$dest/etc/sluice/" -e "^$dest/var/spool/sluice/" "$tmpdir/installed")" \
    "every file of the configuration and the spool is kept"
is "$(tail -1 "$dest/etc/sluice/config")" "# mine" "the edited config is untouched"
ok $([ -e "$dest/var/spool/sluice/keep" ]; echo $?) "and the spool too"
m uninstall
ok $? "make uninstall a second time is harmless"

done_testing
