#!/usr/bin/python3
"""t/tools/tunnelmsg.py — write a BSMTP tunnel message (RFC 2442) the way
sluice-bsmtp-encode(8) documents it, independently of sluice's C code, so that
tests can make good ones and bad ones.

  tunnelmsg.py [options] < batch > message

The batch is taken as it is (give it CRLF line ends).  Options:
  --from ADDR       From: (default postmaster@hub.test)
  --id ID           the Message-ID without brackets (default a fixed one)
  --secret S        add X-Sluice-Tunnel-MAC: hmac-sha256 over "ID CRLF batch"
  --mac HEX         write this MAC instead (a forgery)
  --cte 7bit|base64 Content-Transfer-Encoding (default base64)
  --ctype TYPE      Content-Type (default application/batch-SMTP)
  --extra FIELD     one more header field, e.g. "Content-Type: text/plain"
"""
import argparse, base64, hashlib, hmac, sys

ap = argparse.ArgumentParser()
ap.add_argument("--from", dest="frm", default="postmaster@hub.test")
ap.add_argument("--id", default="bsmtp.test.1@hub.test")
ap.add_argument("--secret")
ap.add_argument("--mac")
ap.add_argument("--cte", default="base64")
ap.add_argument("--ctype", default="application/batch-SMTP")
ap.add_argument("--extra", action="append", default=[])
a = ap.parse_args()
batch = sys.stdin.buffer.read()
h = ["From: BSMTP tunnel <%s>" % a.frm, "To: <tunnel@hub.test>",
     "Subject: BSMTP tunnel", "Message-ID: <%s>" % a.id, "MIME-Version: 1.0",
     "Content-Type: %s" % a.ctype, "Content-Transfer-Encoding: %s" % a.cte]
if a.secret is not None:
    mac = hmac.new(a.secret.encode(), a.id.encode() + b"\r\n" + batch, hashlib.sha256).hexdigest()
    h.append("X-Sluice-Tunnel-MAC: hmac-sha256=" + mac)
elif a.mac is not None:
    h.append("X-Sluice-Tunnel-MAC: hmac-sha256=" + a.mac)
h += a.extra
out = "\r\n".join(h).encode() + b"\r\n\r\n"
if a.cte == "base64":
    out += base64.encodebytes(batch).replace(b"\n", b"\r\n")
else:
    out += batch
sys.stdout.buffer.write(out)
