#!/usr/bin/python3
"""t/tools/tunnels.py STREAM DIR — take apart the tunnel messages in a stream
that sluice-bsmtp-encode wrote, independently of sluice's C code.

For the N-th transaction whose MAIL has X-TUNNEL (from 1), it writes
  DIR/N.env     the MAIL and RCPT lines
  DIR/N.msg     the message, dot-stuffing undone, CRLF line ends
  DIR/N.batch   the batch: the body with its transfer encoding undone
  DIR/N.mac     "ok", "bad" or "none": the X-Sluice-Tunnel-MAC checked with
                the secret in $TUNNEL_SECRET
and prints one line per tunnel message: "N CTE size=OCTETS".  Other
transactions go to DIR/rest (as they were).
"""
import base64, hashlib, hmac, os, re, sys

data = open(sys.argv[1], "rb").read().split(b"\n")
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
rest, env, body, n, i = [], [], None, 0, 0
while i < len(data) - 1:
    env = []
    while not data[i].startswith(b"DATA"):
        env.append(data[i]); i += 1
    i += 1
    body = []
    while data[i] != b".":
        body.append(data[i][1:] if data[i].startswith(b".") else data[i]); i += 1
    i += 1
    mail = [l for l in env if l.startswith(b"MAIL")][0]
    if b" X-TUNNEL" not in mail:
        rest += env + [b"DATA"] + [(b"." + l if l.startswith(b".") else l) for l in body] + [b"."]
        continue
    n += 1
    msg = b"\r\n".join(body) + b"\r\n"
    open("%s/%d.env" % (out, n), "wb").write(b"\n".join(env) + b"\n")
    open("%s/%d.msg" % (out, n), "wb").write(msg)
    head, _, content = msg.partition(b"\r\n\r\n")
    fields = dict()
    for f in re.split(rb"\r\n(?![ \t])", head):
        k, _, v = f.partition(b":")
        fields[k.strip().lower()] = v.strip()
    cte = fields.get(b"content-transfer-encoding", b"7bit").decode()
    batch = base64.b64decode(content) if cte == "base64" else content
    open("%s/%d.batch" % (out, n), "wb").write(batch)
    mid = fields[b"message-id"].strip(b"<>")
    mac = fields.get(b"x-sluice-tunnel-mac")
    res = "none"
    if mac is not None:
        want = hmac.new(os.environ.get("TUNNEL_SECRET", "").encode(), mid + b"\r\n" + batch,
                        hashlib.sha256).hexdigest()
        res = "ok" if mac == b"hmac-sha256=" + want.encode() else "bad"
    open("%s/%d.mac" % (out, n), "w").write(res + "\n")
    print("%d %s size=%d" % (n, cte, len(msg)))
open("%s/rest" % out, "wb").write(b"\n".join(rest) + (b"\n" if rest else b""))
