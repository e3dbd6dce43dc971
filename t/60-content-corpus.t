#!/bin/bash
# Messages nobody here wrote (enmime's edge cases and malformed mail,
# Python's test_email messages) go through every content stage, each as a
# stream transaction: no stage crashes, no message is lost, and Python's
# email package reads what comes out into as many parts as it read from what
# went in.  sluice-scan (with a private clamd) changes no message (a message
# it tags is the same less its tag line); sluice-attach (blocking *.exe,
# *.bat, image/* and application/octet-stream) replaces parts one for one;
# sluice-disclaimer adds a part at most, and leaves the headers it does not
# need to change as they were.
# sluice-checks (tables whose WARN rules match every line and field) and
# sluice-spam (with a private spamd; its X-Spam-* fields are left out of the
# comparison, as they are removed from what comes in) change no message
# either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scan.sh"

enmime=/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata
pyemail=/usr/lib/python3.11/test/test_email/data
[ -d "$enmime" ] && [ -d "$pyemail" ] || bail "the corpora are missing (.ci/deps)"

clamd_start
content_conf corpus scan_clamd "$CLAMD_SOCK"
content_conf attach attach_block '*.exe *.bat image/* application/octet-stream'
content_conf disclaimer disclaimer_text "$top/t/data/content/disclaimer.txt" \
    disclaimer_html "$top/t/data/content/disclaimer.html"
content_conf checks
printf '%s\n' '/^[A-Za-z-]+:/ WARN every field' '/^X-NOTHING/ REJECT never' > "$tmpdir/checks/header_checks"
printf '%s\n' '/^(.|\n)*$/ WARN every line' > "$tmpdir/checks/body_checks"
sport=$(free_port)
spid=$("$tools/spamd.sh" start "$tmpdir/spamd" "$sport") || bail "spamd did not start"
_t_pids+=("$spid")
content_conf spam spam_spamd "127.0.0.1:$sport" spam_max_size 10M
# Each content stage with its configuration folder.
stages=("sluice-scan:corpus" "sluice-attach:attach" "sluice-disclaimer:disclaimer"
    "sluice-checks:checks" "sluice-spam:spam")

# The corpus as stream files; messages the stream cannot carry (a line over
# 998 octets: sluice-smtpd refuses them too) are counted and left out.
mkdir -p "$tmpdir/in"
"$PY" - "$tmpdir/in" $(find "$enmime" -type f | sort) "$pyemail"/msg_*.txt <<'PYEOF' > "$tmpdir/count"
import os, sys
out, files = sys.argv[1], sys.argv[2:]
kept = long = 0
for i, f in enumerate(files):
    raw = open(f, "rb").read().replace(b"\r\n", b"\n")
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    lines = raw.split(b"\n")
    if any(len(l) > 998 for l in lines):
        long += 1
        continue
    body = b"\n".join(b"." + l if l.startswith(b".") else l for l in lines)
    with open(os.path.join(out, "%03d.in" % i), "wb") as o:
        o.write(b"MAIL FROM:<sender@example.test>\nRCPT TO:<rcpt@example.test>\nDATA\n" +
                body + b"\n.\n")
    kept += 1
print(kept, long)
PYEOF
read -r kept long < "$tmpdir/count"
note "corpus: $kept messages, $long left out for lines over 998 octets"
ok $([ "$kept" -gt 120 ]; echo $?) "more than 120 messages to run"

for s in "${stages[@]}"; do
    prog=${s%%:*} conf=${s#*:}
    mkdir -p "$tmpdir/out-$prog"
    bad=
    for f in "$tmpdir"/in/*.in; do
        o=$tmpdir/out-$prog/$(basename "$f" .in).out
        SLUICE_CONF=$tmpdir/$conf "$prog" < "$f" > "$o" 2>> "$tmpdir/$prog.log" ||
            bad="$bad $(basename "$f")(exit $?)"
    done
    is "$bad" "" "$prog: every message runs through, exit 0"
    "$PY" - "$tmpdir/in" "$tmpdir/out-$prog" "$prog" <<'PYEOF' > "$tmpdir/check-$prog"
import email, email.policy, os, sys
ind, outd, prog = sys.argv[1], sys.argv[2], sys.argv[3]
lost, changed, unread = [], [], []

def no_spam_fields(b):
    """The message without the X-Spam-* fields of its header."""
    out, drop, header = [], False, True
    for l in b.split(b"\n"):
        if header and l == b"":
            header = False
        elif header and drop and l[:1] in (b" ", b"\t"):
            continue
        elif header:
            drop = l.lower().startswith(b"x-spam-") and b":" in l
            if drop:
                continue
        out.append(l)
    return b"\n".join(out)

def body(stream):
    lines = stream.split(b"\n")
    assert lines[2] == b"DATA" and lines[-2] == b"." and lines[-1] == b""
    return b"\n".join(l[1:] if l.startswith(b".") else l for l in lines[3:-2])

def parts(b):
    m = email.message_from_bytes(b, policy=email.policy.default)
    n = 0
    for p in m.walk():
        n += 1
        if not p.is_multipart():
            p.get_payload(decode=True)
    return n

for name in sorted(os.listdir(ind)):
    src = open(os.path.join(ind, name), "rb").read()
    out = open(os.path.join(outd, name[:-3] + ".out"), "rb").read()
    if out.count(b"\nDATA\n") != 1:
        lost.append(name); continue
    b_in, b_out = body(src), body(out)
    if b_out.startswith((b"X-Sluice-Scan: ", b"X-Sluice-Attach: ")):
        b_out = b_out.split(b"\n", 1)[1]
    if prog == "sluice-spam":
        b_in, b_out = no_spam_fields(b_in), no_spam_fields(b_out)
    if prog in ("sluice-scan", "sluice-checks", "sluice-spam") and b_out != b_in:
        changed.append(name); continue
    try:
        n_in, n_out = parts(b_in), parts(b_out)
        if n_out != n_in and not (prog == "sluice-disclaimer" and n_out == n_in + 1):
            unread.append("%s(%d parts, %d before)" % (name, n_out, n_in))
    except Exception as e:
        unread.append("%s(%s)" % (name, e))
print("lost:", " ".join(lost))
print("changed:", " ".join(changed))
print("unread:", " ".join(unread))
PYEOF
    grep -q '^unread:' "$tmpdir/check-$prog"
    ok $? "$prog: the Python check ran to its end" || diag "$(cat "$tmpdir/check-$prog")"
    is "$(sed -n 's/^lost: *//p' "$tmpdir/check-$prog")" "" "$prog: no message lost"
    [ "$prog" = sluice-scan ] &&
        is "$(sed -n 's/^changed: *//p' "$tmpdir/check-$prog")" "" "$prog: no message changed"
    is "$(sed -n 's/^unread: *//p' "$tmpdir/check-$prog")" "" \
        "$prog: Python's email package reads every output into the same parts"
    case $prog in
    sluice-scan) note "$prog: $(grep -c verdict=clean "$tmpdir/$prog.log") clean," \
        "$(grep -c 'verdict=suspicious' "$tmpdir/$prog.log") suspicious" ;;
    sluice-attach) note "$prog: parts removed from $(grep -c action=remove "$tmpdir/$prog.log") messages" ;;
    sluice-disclaimer) note "$prog: added to $(grep -c disclaimer=added "$tmpdir/$prog.log") messages," \
        "$(grep -c reason=signed "$tmpdir/$prog.log") signed or encrypted" ;;
    sluice-checks) note "$prog: $(grep -c action=WARN "$tmpdir/$prog.log") lines and fields matched" ;;
    sluice-spam) note "$prog: $(grep -c verdict=ham "$tmpdir/$prog.log") ham," \
        "$(grep -c verdict=spam "$tmpdir/$prog.log") spam" ;;
    esac
done
done_testing
