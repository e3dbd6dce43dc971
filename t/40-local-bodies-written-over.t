#!/bin/bash
# A stage spools each message's body into one temporary file, written
# over for the next message instead of emptied (lib/bodyfile.c: no block
# freed and allocated again per message).  What is left of a longer body
# before must never reach the next message: sluice-local delivers long,
# short, empty and middling bodies one after the other, each whole and
# alone, into Maildirs and an mbox.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf SLUICE_SPOOL=$tmpdir/spool SLUICE_LIBEXEC=$top/libexec
mkdir -p "$SLUICE_CONF" "$SLUICE_SPOOL/tmp"
mr=$tmpdir/mail
table config "hostname mx.example.test" "mailroot $mr" "postmaster postmaster@example.test"
table domains example.test
table users "@example.test box/" "m@example.test m.mbox"

# body N LINES — LINES lines, each naming message N
body() { local i; for ((i = 0; i < $2; i++)); do echo "message $1 line $i $(printf '%060d' "$i")"; done; }
sizes=(300 2 0 40 1 120 3)
{
    for i in "${!sizes[@]}"; do
        printf 'MAIL FROM:<s@example.org>\nRCPT TO:<r%d@example.test>\nRCPT TO:<m@example.test>\nDATA\nSubject: %d\n\n' "$i" "$i"
        body "$i" "${sizes[$i]}"
        echo .
    done
} > "$tmpdir/in"
sluice-local < "$tmpdir/in" > "$tmpdir/out" 2> "$tmpdir/err"
is "$?" 0 "seven messages of 300, 2, 0, 40, 1, 120 and 3 lines are delivered"
for i in "${!sizes[@]}"; do
    f=$(ls "$mr"/box/new/* | xargs grep -l "^Delivered-To: r$i@example.test")
    is "$(sed '1,/^$/d' "$f")" "$(body "$i" "${sizes[$i]}")" \
        "message $i (${sizes[$i]} lines): its own body alone in the Maildir"
done
is "$(grep -c '^message ' "$mr/m.mbox")" "$(( 300 + 2 + 0 + 40 + 1 + 120 + 3 ))" \
    "the mbox holds every body line once"
for i in "${!sizes[@]}"; do
    is "$(awk -v s="Subject: $i" '$0 == s { on = 1; next } /^From / { on = 0 } on && /^message /' "$mr/m.mbox")" \
        "$(body "$i" "${sizes[$i]}")" "message $i: its own body alone in the mbox"
done
done_testing
