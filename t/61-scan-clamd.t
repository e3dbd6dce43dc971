#!/bin/bash
# sluice-scan with a real clamd (started here, a local EICAR signature, no
# network): EICAR is caught as it is, in base64, in quoted-printable, in
# uuencode (in a body, in a text part, as x-uuencode) and in an attachment of
# a forwarded message; clamd alone, with its own mail scanning off, does not
# see the encoded ones, so the decoding is sluice-scan's.  Clean mail passes
# unchanged, over the Unix socket and over TCP, and a forged X-Sluice-Scan
# field is removed.  ClamAV's test program clam.exe is caught in
# clamav-testfiles' mail, BinHex and archive containers.  clamd stopped in
# the middle of a batch makes the batch fail with 111 and nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"

clamd_start
content_conf unix scan_clamd "$CLAMD_SOCK" scan_infected_action tag
content_conf tcp scan_clamd "$CLAMD_TCP" scan_infected_action tag

for k in plain base64 qp uu uupart xuu nested; do
    mail "$k" > "$tmpdir/$k.in"
    scan unix < "$tmpdir/$k.in" > "$tmpdir/$k.out"
    st=$?
    like "$st $(grep '^X-Sluice-Scan:' "$tmpdir/$k.out")" \
        '^0 X-Sluice-Scan: infected \(Eicar-Test-Signature[^ ]* in .*\) by mx\.example\.test$' \
        "EICAR $k: tagged infected"
    case $k in
    plain) ;;
    *) like "$(raw_reply "$tmpdir/$k.in")" 'stream: OK' "EICAR $k: clamd alone does not see it" ;;
    esac
done
like "$(grep 'verdict=infected' "$tmpdir/scan.log" | sed -n 7p)" "where=\"part 2.1.2 'eicar.com'\"" \
    "the log names the part inside the forwarded message"

mail clean > "$tmpdir/clean.in"
for c in unix tcp; do
    scan $c < "$tmpdir/clean.in" > "$tmpdir/clean.$c.out"
    ok $? "clean mail over $c: exit 0"
    cmp -s "$tmpdir/clean.in" "$tmpdir/clean.$c.out"
    ok $? "clean mail over $c: passed unchanged"
done
like "$(tail -1 "$tmpdir/scan.log")" 'verdict=clean objects=3' \
    "clean: the message and its two decoded parts were scanned"

mail forged > "$tmpdir/forged.in"
scan unix < "$tmpdir/forged.in" > "$tmpdir/forged.out"
is "$(grep -c -i -e '^X-Sluice-Scan' -e '(forged)' "$tmpdir/forged.out")" 0 \
    "a forged X-Sluice-Scan field, with its continuation line, is removed"

tf=/usr/share/clamav-testfiles
for f in clam.mail clam.exe.mbox.base64 clam.exe.mbox.uu clam.exe.binhex; do
    mail wrap "$tf/$f" > "$tmpdir/$f.in"
    scan unix < "$tmpdir/$f.in" > "$tmpdir/$f.out"
    like "$(grep '^X-Sluice-Scan:' "$tmpdir/$f.out")" 'infected \(ClamAV-Test-File' \
        "clamav-testfiles $f: clam.exe found"
done
for f in clam.zip clam.7z clam.tar.gz clam.cab clam.exe.bz2 clam.arj clam-upx.exe; do
    mail "file:$tf/$f" > "$tmpdir/$f.in"
    scan unix < "$tmpdir/$f.in" > "$tmpdir/$f.out"
    like "$(grep '^X-Sluice-Scan:' "$tmpdir/$f.out")" 'infected \(ClamAV-Test-File.* in part 2' \
        "clamav-testfiles $f as an attachment: clam.exe found in it"
done

# A batch: the first message is scanned, then clamd stops, then the second
# comes.  The batch fails (111, 4.3.0) and nothing at all is written.
n0=$(grep -c verdict= "$tmpdir/scan.log")
mkfifo "$tmpdir/fifo"
scan unix < "$tmpdir/fifo" > "$tmpdir/batch.out" 2> "$tmpdir/batch.err" &
spid=$!
exec 7> "$tmpdir/fifo"
cat "$tmpdir/clean.in" >&7
wait_for "[ \$(grep -c verdict= '$tmpdir/scan.log') -gt $n0 ]" 20
n_before=$(grep -c verdict= "$tmpdir/scan.log")
stop_pid "$CLAMD_PID"
cat "$tmpdir/clean.in" >&7
exec 7>&-
wait "$spid"
st=$?
is "$st" 111 "clamd stopped in the middle of a batch: exit 111"
like "$(tail -1 "$tmpdir/scan.log")" 'fatal: 4\.3\.0 virus scan failed: connect .*clamd\.sock' \
    "the reason says the scanner could not be reached"
is "$(stat -c %s "$tmpdir/batch.out")" 0 "nothing of the batch was passed on"
is "$n_before" $((n0 + 1)) "(the first message had been scanned before clamd stopped)"
done_testing
