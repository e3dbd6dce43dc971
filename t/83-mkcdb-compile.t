#!/bin/bash
# sluice-mkcdb: text tables compiled to cdb, looked up with tinycdb's cdb -q;
# errors name file:line and leave the old database byte for byte.
. "$(dirname "$0")/lib.sh"

command -v cdb >/dev/null || bail "cdb (package tinycdb) is not installed"
t=$tmpdir/users
q() { cdb -q "$t.cdb" "$1"; }

printf '# users\n\nBob@Example.ORG   /var/mail/bob/  \nalice@example.org\tDIR/alice/\nlist@example.org a@example.org,\n  b@example.org,\n\tc@example.org\n*.example.net  catch\r\n.example.com dot\nempty\nhash value # not a comment\n' > "$t"
ok_run "compiles a table" sluice-mkcdb "$t"
is "$(q bob@example.org)" "/var/mail/bob/" "keys are lowercased, trailing blanks dropped"
is "$(q alice@example.org)" "DIR/alice/" "tab separates key and value"
is "$(q list@example.org)" "a@example.org, b@example.org, c@example.org" "continuation lines join with one space"
is "$(q .example.net)" "catch" "*.domain is stored as .domain (and CRLF is a line end)"
is "$(q .example.com)" "dot" ".domain stays .domain"
cdb -q "$t.cdb" empty >/dev/null; ok $? "a key alone has an empty value"
is "$(q hash)" "value # not a comment" "# inside a value is text"
cdb -q "$t.cdb" Bob@Example.ORG >/dev/null; is $? 100 "keys are stored lowercased only"
cdb -q "$t.cdb" '# users' >/dev/null; is $? 100 "comments are not entries"

ok_run "-o names the output" sluice-mkcdb -o "$tmpdir/other.cdb" "$t"
cmp -s "$t.cdb" "$tmpdir/other.cdb"; ok $? "-o writes the same database"
printf 'k v\n' | sluice-mkcdb -o "$tmpdir/stdin.cdb" - && is "$(cdb -q "$tmpdir/stdin.cdb" k)" v "- reads standard input"

cp "$t.cdb" "$tmpdir/old.cdb"
# bad TEXT LINE MESSAGE NAME — the error names file:line, exit 100, old cdb kept.
bad() {
    local text=$1 line=$2 msg=$3 name=$4 err rc=0
    printf '%s' "$text" > "$t"
    err=$(sluice-mkcdb "$t" 2>&1) || rc=$?
    is "$rc:$err" "100:sluice-mkcdb: fatal: $t:$line: $msg" "$name: exit 100 naming file:line"
    cmp -s "$t.cdb" "$tmpdir/old.cdb"; ok $? "$name: the old .cdb is byte-identical"
    [ -z "$(ls "$tmpdir" | grep '\.tmp\.')" ]; ok $? "$name: no temporary file is left"
}
bad $'  continued first\nk v\n' 1 "continuation line with no entry before it" "continuation first"
bad $'# c\na 1\nA 2\n' 3 "duplicate key a" "duplicate key"
bad "a 1"$'\n'"$(head -c 1024 /dev/zero | tr '\0' k) v"$'\n' 2 "key longer than 1023 octets" "over-long key"
bad "a 1"$'\n'"$(head -c 9000 /dev/zero | tr '\0' k)"$'\n' 2 "line longer than 8192 octets" "over-long line"
bad $'a 1\n* star\n' 2 "a lone * is not a key; use @domain or .domain" "lone star"
printf 'a 1\nb \0x\n' > "$t"
rc=0; err=$(sluice-mkcdb "$t" 2>&1) || rc=$?
is "$rc:$err" "100:sluice-mkcdb: fatal: $t:2: NUL octet in line" "a NUL octet is refused with file:line"
cmp -s "$t.cdb" "$tmpdir/old.cdb"; ok $? "NUL: the old .cdb is byte-identical"

printf 'ok 1\n' > "$t"
ok_run "-c checks a good table" sluice-mkcdb -c "$t"
cmp -s "$t.cdb" "$tmpdir/old.cdb"; ok $? "-c writes nothing"
printf ' bad\n' > "$t"
rc=0; sluice-mkcdb -c "$t" 2>/dev/null || rc=$?
is "$rc" 100 "-c reports an error"

# Atomic replacement: a new inode renamed over the old one.
printf 'k new\n' > "$t"
exec 9< "$t.cdb"   # a reader holding the old database keeps it whole
ok_run "recompiles" sluice-mkcdb "$t"
is "$(q k)" new "the new value is seen"
cmp -s /dev/fd/9 "$tmpdir/old.cdb"; ok $? "a reader that opened the old .cdb still reads it intact"
exec 9<&-

rc=0; sluice-mkcdb "$tmpdir/missing" 2>/dev/null || rc=$?
is "$rc" 111 "an unreadable table is a temporary failure"

done_testing
