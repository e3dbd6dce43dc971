# t/content.sh — helpers for the tests of the content stages and the channel
# action matrix (t/60..65); source it after t/lib.sh (and t/smtpd.sh for
# bq_start).
#
#   content_conf NAME [SETTING VALUE]...  a configuration folder $tmpdir/NAME:
#       hostname mx.example.test, the postmaster, the spool $tmpdir/spool,
#       the disclaimer texts of t/data/content, and the settings given,
#       compiled by sluice-mkcdb; CONTENT_CONF_UNCHECKED=1: compiled from
#       standard input, for a bad setting that sluice-mkcdb would refuse
#   content_table NAME TABLE < text       a table of that folder, compiled
#   msgcheck FILE...     Python's email package on each transaction of each
#       stream file: one line per message, "parts=N names=a,b text=T" where
#       T is yes when every text part a reader sees holds the disclaimer
#       ("confidential"); "unreadable: why" when it cannot be read
#   bq_start PORTVAR NAME STAGE   a content stage before the queue:
#       sluice-smtpd (t/smtpd.sh) with the configuration $tmpdir/NAME and
#       SLUICE_QUEUE='STAGE -- sluice-enqueue', into the spool $tmpdir/spool
#   bq_send PORT [FROM [TO]] < stream   the message of a stream transaction
#       (what follows DATA, unstuffed) over SMTP with smtplib, from FROM to
#       TO (sender@example.test, test@example.test): "250 queued", or the
#       refusal of the data as "CODE TEXT"
#   bq_queued    how many messages the spool's incoming/ holds

data=$top/t/data/content

content_conf() {
    local d=$tmpdir/$1
    shift
    mkdir -p "$d" "$tmpdir/spool/tmp"
    printf 'hostname mx.example.test\nspool %s\npostmaster postmaster@example.test\n' \
        "$tmpdir/spool" > "$d/config"
    cp "$top/t/data/content/disclaimer.txt" "$top/t/data/content/disclaimer.html" "$d/"
    while [ $# -ge 2 ]; do
        printf '%s %s\n' "$1" "$2" >> "$d/config"
        shift 2
    done
    if [ -n "${CONTENT_CONF_UNCHECKED:-}" ]; then
        sluice-mkcdb -o "$d/config.cdb" - < "$d/config" || bail "sluice-mkcdb $d/config failed"
    else
        sluice-mkcdb -o "$d/config.cdb" "$d/config" || bail "sluice-mkcdb $d/config failed"
    fi
}

content_table() {
    cat > "$tmpdir/$1/$2"
    sluice-mkcdb -o "$tmpdir/$1/$2.cdb" "$tmpdir/$1/$2" || bail "sluice-mkcdb $2 failed"
}

msgcheck() {
    "$PY" - "$@" <<'PYEOF'
import email, email.policy, sys
for f in sys.argv[1:]:
    data = open(f, "rb").read()
    for txn in data.split(b"\nDATA\n")[1:]:
        lines = txn.split(b"\n")
        end = lines.index(b".")
        body = b"\n".join(l[1:] if l.startswith(b".") else l for l in lines[:end])
        try:
            m = email.message_from_bytes(body, policy=email.policy.default)
            n, names, texts = 0, [], []
            for p in m.walk():
                n += 1
                if p.get_filename():
                    names.append(p.get_filename())
                if p.is_multipart():
                    continue
                payload = p.get_payload(decode=True) or b""
                if p.get_content_type() in ("text/plain", "text/html") and \
                        p.get_content_disposition() != "attachment":
                    texts.append(b"confidential" in payload)
            print("parts=%d names=%s text=%s" % (n, ",".join(names),
                  "yes" if texts and all(texts) else "some" if any(texts) else "no"))
        except Exception as e:
            print("unreadable: %s" % e)
PYEOF
}

bq_start() {
    mkdir -p "$tmpdir/spool"/{tmp,incoming,deferred,bad,dead,quarantine}
    smtpd_start "$1" "$tmpdir/$2" "$tmpdir/echo" "SLUICE_QUEUE=$3 -- sluice-enqueue"
}

bq_send() {
    "$PY" - "$1" "${2:-sender@example.test}" "${3:-test@example.test}" 3<&0 <<'PYEOF'
import os, smtplib, sys
lines = os.fdopen(3, "rb").read().split(b"\n")
start = lines.index(b"DATA") + 1
body = lines[start:lines.index(b".", start)]
msg = b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in body)
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
try:
    s.sendmail(sys.argv[2], [sys.argv[3]], msg)
    print("250 queued")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
PYEOF
}

bq_queued() { ls "$tmpdir/spool/incoming" | wc -l; }
