#!/bin/bash
# sluice-scan with an external scanner (scan_method command): the command
# line is run with execv, %f replaced by a temporary file and shell syntax
# passed as it is; the exit code is mapped by the configured lists and
# ranges (McAfee's 0 / 10,13 of seed 002, a suspicious code, a range, >N);
# a code in no list, a scanner run past scan_timeout and a bad setting are
# temporary failures; the temporary files are removed, and those a killed
# sluice-scan left at the next start.  Last, ClamAV's real clamscan as the
# command.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"

export TMPDIR=$tmpdir/scantmp
mkdir -p "$TMPDIR"
cat > "$tmpdir/fakescan" <<'PYEOF'
#!/usr/bin/python3
# McAfee-like: 0 clean, 13 infected, 6 error, 8 suspicious (as F-PROT's 8).
import os, sys, time
open(os.environ["SCANLOG"], "a").write(repr(sys.argv[1:]) + "\n")
data = open(sys.argv[-1], "rb").read()
if b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in data:
    print("found EICAR-Test in", sys.argv[-1]); sys.exit(13)
if b"SCANNER-ERROR" in data:
    sys.exit(6)
if b"SUSPICIOUS-SAMPLE" in data:
    sys.exit(8)
if b"SLEEP-FOREVER" in data:
    time.sleep(100)
sys.exit(0)
PYEOF
chmod +x "$tmpdir/fakescan"
export SCANLOG=$tmpdir/scanner.argv
cmd="$tmpdir/fakescan /ALL /NOBEEP --x=\$(touch${IFS:0:0}$tmpdir/pwned);y %f"
conf() { content_conf "$1" scan_method command scan_command "$cmd" scan_clean_codes 0 \
    scan_infected_codes "${2:-10,13}" scan_suspicious_codes 8 scan_timeout 2s \
    scan_infected_action tag scan_suspicious_action tag; }
conf mcafee

mail base64 > "$tmpdir/virus.in"
scan mcafee < "$tmpdir/virus.in" > "$tmpdir/virus.out"
like "$? $(grep '^X-Sluice-Scan' "$tmpdir/virus.out")" \
    "^0 X-Sluice-Scan: infected \(exit 13: found EICAR-Test in $TMPDIR/sluice-scan\.[^ ]* in part 2 'eicar\.com'\)" \
    "exit code 13 (McAfee: a virus was found) is infected"
like "$(tail -1 "$SCANLOG")" "^\['/ALL', '/NOBEEP', '--x=\\\$\(touch$tmpdir/pwned\);y', '$TMPDIR/sluice-scan\.[A-Za-z0-9]{6}'\]$" \
    "the scanner gets its arguments as written and %f as a file name"
ok $([ ! -e "$tmpdir/pwned" ]; echo $?) "no shell ran the command line"
is "$(ls -A "$TMPDIR" | grep -c sluice-scan)" 0 "the temporary files are removed"

mail clean > "$tmpdir/clean.in"
: > "$SCANLOG"
scan mcafee < "$tmpdir/clean.in" > "$tmpdir/clean.out"
cmp -s "$tmpdir/clean.in" "$tmpdir/clean.out"
ok $? "exit code 0 is clean: the message passes unchanged"
is "$(wc -l < "$SCANLOG")" 3 "the raw message and both decoded parts were scanned"

# mailk KIND TEXT: a clean message with TEXT in its text part.
mailk() { mail clean | sed "s/^Hello, here it is\.$/$1/"; }
mailk SCANNER-ERROR > "$tmpdir/err.in"
scan mcafee < "$tmpdir/err.in" > "$tmpdir/err.out"
is "$? $(stat -c %s "$tmpdir/err.out")" "111 0" "exit code 6 (in no list) is a scanner error: 111"
like "$(tail -1 "$tmpdir/scan.log")" 'fatal: 4\.3\.0 virus scan failed: exit 6' "the reason names the code"

mailk SUSPICIOUS-SAMPLE > "$tmpdir/susp.in"
scan mcafee < "$tmpdir/susp.in" > "$tmpdir/susp.out"
like "$(grep '^X-Sluice-Scan' "$tmpdir/susp.out")" '^X-Sluice-Scan: suspicious \(exit 8 in part 1' \
    "a code of scan_suspicious_codes is suspicious"

conf range ">12"
scan range < "$tmpdir/virus.in" > "$tmpdir/range.out"
like "$(grep '^X-Sluice-Scan' "$tmpdir/range.out")" 'infected \(exit 13' "the range >12 holds 13"
conf range2 "3-4, 10-12"
scan range2 < "$tmpdir/virus.in" > /dev/null
is "$?" 111 "13 in none of 3-4, 10-12: an error"

mailk SLEEP-FOREVER > "$tmpdir/sleep.in"
t0=$(date +%s)
scan mcafee < "$tmpdir/sleep.in" > /dev/null
st=$?
t1=$(date +%s)
is "$st" 111 "a scanner past scan_timeout is killed: an error"
ok $([ $((t1 - t0)) -lt 15 ]; echo $?) "within the timeout (took $((t1 - t0)) s)"
like "$(tail -1 "$tmpdir/scan.log")" 'timed out after 2s' "the reason says so"

CONTENT_CONF_UNCHECKED=1 content_conf badcodes scan_method command scan_command "$cmd" scan_infected_codes "1,x"
scan badcodes < "$tmpdir/clean.in" > /dev/null
like "$? $(tail -1 "$tmpdir/scan.log")" '^111 .*config:[0-9]+: setting scan_infected_codes: bad value' "a bad code list: 111"
content_conf nof scan_method command scan_command "$tmpdir/fakescan /ALL"
scan nof < "$tmpdir/clean.in" > /dev/null
like "$? $(tail -1 "$tmpdir/scan.log")" '^111 .*4\.3\.5 setting scan_command' "a command without %f: 111"

# What a killed sluice-scan left in TMPDIR goes at the next start: files
# named sluice-scan.*, its own, unlocked and a minute old.  A file a
# running scan holds (locked), a fresh one, another user's and another
# name stay.
old=$(date -d '-1 hour' +%Y%m%d%H%M)
for f in sluice-scan.left1 sluice-scan.held sluice-scan.theirs other.old; do
    echo x > "$TMPDIR/$f"; touch -t "$old" "$TMPDIR/$f"
done
echo x > "$TMPDIR/sluice-scan.fresh"
chown nobody "$TMPDIR/sluice-scan.theirs"
flock -x "$TMPDIR/sluice-scan.held" sleep 60 &
holder=$!
at_exit "kill $holder 2>/dev/null"
wait_for "! flock -xn '$TMPDIR/sluice-scan.held' true" 10
scan mcafee < "$tmpdir/clean.in" > /dev/null
is "$?" 0 "a scan after a killed one"
is "$(ls "$TMPDIR" | sort | tr '\n' ' ')" "other.old sluice-scan.fresh sluice-scan.held sluice-scan.theirs " \
    "removes what the killed one left, and only that"
like "$(cat "$tmpdir/scan.log")" "removed $TMPDIR/sluice-scan.left1: left by a sluice-scan that was killed" \
    "and logs it"
kill "$holder" 2>/dev/null
rm -f "$TMPDIR"/*

# A scan holds its file locked while the scanner reads it.
cat > "$tmpdir/lockscan.py" <<'PYEOF'
#!/usr/bin/python3
import fcntl, sys
try:
    fcntl.flock(open(sys.argv[-1], "rb"), fcntl.LOCK_EX | fcntl.LOCK_NB)
    sys.exit(0)
except OSError:
    sys.exit(13)
PYEOF
chmod +x "$tmpdir/lockscan.py"
content_conf lockscan scan_method command scan_command "$tmpdir/lockscan.py %f" \
    scan_clean_codes 0 scan_infected_codes 13 scan_infected_action tag
scan lockscan < "$tmpdir/clean.in" > "$tmpdir/lockscan.out"
like "$(grep '^X-Sluice-Scan' "$tmpdir/lockscan.out")" 'infected \(exit 13' \
    "the file is locked while the scanner reads it (the scanner could not lock it)"
is "$(ls -A "$TMPDIR")" "" "and removed after"

# The real thing: clamscan with a one-line local database.
mkdir -p "$tmpdir/db"
echo "Eicar-Test-Signature:0:*:$("$tools/clamd.sh" eicar | od -An -tx1 | tr -d ' \n')" > "$tmpdir/db/local.ndb"
content_conf clamscan scan_method command scan_timeout 60s scan_infected_action tag \
    scan_command "/usr/bin/clamscan --no-summary --stdout -d $tmpdir/db %f" \
    scan_clean_codes 0 scan_infected_codes 1
scan clamscan < "$tmpdir/virus.in" > "$tmpdir/clamscan.out"
like "$(grep '^X-Sluice-Scan' "$tmpdir/clamscan.out")" 'infected \(exit 1: .*Eicar-Test-Signature' \
    "clamscan as the command finds EICAR"
scan clamscan < "$tmpdir/clean.in" > "$tmpdir/clamscan2.out"
cmp -s "$tmpdir/clean.in" "$tmpdir/clamscan2.out"
ok $? "clamscan passes clean mail"
done_testing
