#!/bin/bash
# A command carries at most 8 private X- parameters (sluice-stream(5)).  When
# a stage must add one more to a recipient (X-ROUTE, X-DEFER, X-EXPANDED) or
# to MAIL (X-RETRY) that has 8 already, it can never succeed, on any retry:
# the stage exits 100 with "5.3.4 too many private parameters on ADDR", so
# that the runner sets that message aside (bad/), never 111 "out of memory"
# on every run.  A command with 7 still takes its stage's parameter.
. "$(dirname "$0")/lib.sh"

plan 16

export SLUICE_CONF=$tmpdir/conf TMPDIR=$tmpdir SLUICE_NOW=1700000000 TZ=UTC
mkdir -p "$SLUICE_CONF"
cat > "$SLUICE_CONF/config" <<EOT
hostname mx.example.test
postmaster postmaster@example.test
mailroot $tmpdir/mail
EOT
printf 'example.test\n' > "$SLUICE_CONF/domains"
touch "$tmpdir/afile"
cat > "$SLUICE_CONF/users" <<EOT
carol@example.test $tmpdir/afile/mbox
dave@example.test  dave/
EOT
printf 'list@example.test carol@example.test, dave@example.test\n' > "$SLUICE_CONF/aliases"
for t in config domains users aliases; do
    sluice-mkcdb "$SLUICE_CONF/$t" || bail "sluice-mkcdb $t"
done

x8='X-A=1 X-B=2 X-C=3 X-D=4 X-E=5 X-F=6 X-G=7 X-H=8'
x7='X-A=1 X-B=2 X-C=3 X-D=4 X-E=5 X-F=6 X-G=7'
msg() {	# msg MAIL-PARAMS RCPT-LINE...
    local mp=$1; shift
    echo "XFORWARD IDENT=06553f100000000001092"
    echo "MAIL FROM:<s@example.org>${mp:+ $mp}"
    printf 'RCPT TO:%s\n' "$@"
    printf 'DATA\nSubject: test\n\nhello\n.\n'
}
# run NAME PROG...: the stage on $tmpdir/in; exit status in $rc.
run() {
    local name=$1; shift
    rc=0
    "$@" < "$tmpdir/in" > "$tmpdir/$name.out" 2> "$tmpdir/$name.err" || rc=$?
}
full() {	# full NAME ADDR WHAT
    is "$rc" 100 "$3: exit 100, a permanent failure"
    like "$(cat "$tmpdir/$1.err")" "5\.3\.4 too many private parameters on $2" \
        "$3: says too many private parameters, not out of memory"
}

# sluice-route adds X-ROUTE.
msg "" "<dave@example.test> $x8" > "$tmpdir/in"
run route sluice-route
full route 'dave@example\.test' "sluice-route, X-ROUTE on a recipient with 8"
msg "" "<dave@example.test> $x7" > "$tmpdir/in"
run route7 sluice-route
is "$rc" 0 "sluice-route: a recipient with 7 gets its X-ROUTE"
like "$(grep '^RCPT' "$tmpdir/route7.out")" 'X-ROUTE=local' "and X-ROUTE is there"

# sluice-alias adds X-EXPANDED to each target of a list.
msg "" "<list@example.test> $x8" > "$tmpdir/in"
run alias sluice-alias
full alias 'list@example\.test' "sluice-alias, X-EXPANDED on an expansion of one with 8"

# sluice-local adds X-DEFER to a recipient it cannot deliver to yet
# (carol's mbox folder is a file: ENOTDIR, temporary).
msg "" "<carol@example.test> $x8" > "$tmpdir/in"
run local sluice-local
full local 'carol@example\.test' "sluice-local, X-DEFER on a recipient with 8"
msg "" "<carol@example.test> $x7" > "$tmpdir/in"
run local7 sluice-local
is "$rc" 0 "sluice-local: a recipient with 7 is deferred as usual"
like "$(grep '^RCPT' "$tmpdir/local7.out")" 'X-DEFER=4\.' "with X-DEFER"

# sluice-retry adds X-RETRY to MAIL.
msg "$x8" "<far@remote.example> X-DEFER=4.4.1+20refused" > "$tmpdir/in"
run retry sluice-retry
full retry 'MAIL' "sluice-retry, X-RETRY on a MAIL with 8"
msg "$x7" "<far@remote.example> X-DEFER=4.4.1+20refused" > "$tmpdir/in"
run retry7 sluice-retry
is "$rc" 0 "sluice-retry: a MAIL with 7 gets its X-RETRY"
like "$(grep '^MAIL' "$tmpdir/retry7.out")" 'X-RETRY=[0-9]+' "and X-RETRY is there"

# The reader still refuses a ninth on input: that was never the stage's to add.
msg "" "<dave@example.test> $x8 X-I=9" > "$tmpdir/in"
run nine sluice-route
is "$rc" 100 "nine private parameters on input: exit 100"
like "$(cat "$tmpdir/nine.err")" "too many private parameters" "the reader says why"
