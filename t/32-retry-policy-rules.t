#!/bin/bash
# The queue's policy, sluice-retry, on golden files (t/README): with the
# clock fixed (SLUICE_NOW), t/data/policy/NAME.in gives exactly NAME.out on
# standard output and NAME.err on standard error, and exits 0 (or
# NAME.status); NAME.args holds options, one per line.  One fixture per rule of
# sluice-retry(8): backoff, the end of the lifetime, a destination's own
# lifetime (smtp_dest), permanent failures, delay notices (once, as NOTIFY
# asks), double bounces and dead/, a failed chain (-t), queue_first (-q).
# GOLDEN_UPDATE=1 rewrites the expected files from what the program does.
# A notice's Message-ID and MIME boundary hold the process id: made "PID"
# on standard output before the comparison.
. "$(dirname "$0")/lib.sh"

data=$top/t/data/policy
export SLUICE_CONF=$tmpdir/conf SLUICE_NOW=1700000000 TZ=UTC
mkdir -p "$SLUICE_CONF"
for t in config smtp_dest; do
    cp "$data/conf/$t" "$SLUICE_CONF/" && sluice-mkcdb "$SLUICE_CONF/$t" || bail "sluice-mkcdb $t"
done

unpid() { sed -E "s/($SLUICE_NOW)\\.[0-9]+\\./\\1.PID./g"; }

golden_filter=unpid
golden_each "$data" sluice-retry sluice-retry
golden_filter=

# The fixed clock is checked: a malformed one is bad usage, not "now".
SLUICE_NOW=soon sluice-retry < "$data/backoff-new.in" > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 100 "a malformed SLUICE_NOW: exit 100"
like "$(cat "$tmpdir/err")" "SLUICE_NOW is not a number" "and says why"
done_testing
