#!/usr/bin/python3
"""Random canonical sluice streams (sluice-stream(5)), for t/11-stream-identity.t.

    genstream.py SEED COUNT DIR   writes DIR/0000.bsmtp ... one stream per file

Every file is in canonical form, so reading and writing it again must give
the same octets.  The same seed gives the same files.
"""
import random
import sys

seed, count, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
R = random.Random(seed)

XF = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"]
ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"


def xtext(raw):
    out = []
    for b in raw:
        if b < 33 or b > 126 or b in (ord("+"), ord("=")):
            out.append("+%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def rbytes(lo, hi, eight=False):
    n = R.randint(lo, hi)
    top = 255 if eight else 126
    return bytes(R.randint(32, top) for _ in range(n))


def word(lo=1, hi=12, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(R.choice(alphabet) for _ in range(R.randint(lo, hi)))


def domain():
    return ".".join(word(1, 10) for _ in range(R.randint(1, 4)))


def addr():
    k = R.random()
    if k < 0.1:
        return '"%s %s"@%s' % (word(), word(), domain())
    if k < 0.15:
        return '"a>b\\"c"@%s' % domain()
    if k < 0.2:
        return "%s@[192.0.2.%d]" % (word(), R.randint(0, 255))
    local = ".".join(word(1, 8, ATEXT) for _ in range(R.randint(1, 3)))
    return "%s@%s" % (local, domain())


def xparams():
    ps = []
    for k in R.sample(["X-ROUTE", "X-DEFER", "X-WARNED", "X-NOTICE", "X-A1", "X-B-C"], R.randint(0, 3)):
        if R.random() < 0.2:
            ps.append(k)
        else:
            ps.append("%s=%s" % (k, xtext(rbytes(1, 30))))
    return ps


def body():
    lines = []
    for _ in range(R.choice([0, 0, 1, 3, 10, 40])):
        k = R.random()
        if k < 0.15:
            line = b"." * R.randint(1, 4) + rbytes(0, 20)
        elif k < 0.25:
            line = b""
        elif k < 0.3:
            n = R.randint(990, 998)
            line = bytes(R.randint(33, 126) for _ in range(n))
        elif k < 0.45:
            line = rbytes(0, 80, eight=True)
        else:
            line = rbytes(0, 80)
        # Dot-stuffing: the transmitted line, with its dot, fits in 998.
        if line.startswith(b"."):
            line = b"." + line[:997]
        lines.append(line)
    return lines


def txn():
    out = []
    if R.random() < 0.5:
        attrs = [a for a in XF if R.random() < 0.5] or ["IDENT"]
        out.append("XFORWARD " + " ".join("%s=%s" % (a, xtext(rbytes(1, 40))) for a in attrs))
    mail = "MAIL FROM:<%s>" % ("" if R.random() < 0.15 else addr())
    if R.random() < 0.5:
        mail += " SIZE=%d" % R.randint(0, 10 ** 9)
    if R.random() < 0.4:
        mail += " BODY=" + R.choice(["7BIT", "8BITMIME"])
    if R.random() < 0.2:
        mail += " SMTPUTF8"
    if R.random() < 0.3:
        mail += " RET=" + R.choice(["FULL", "HDRS"])
    if R.random() < 0.3:
        mail += " ENVID=" + xtext(rbytes(1, 30))
    if R.random() < 0.2:
        mail += " AUTH=" + R.choice(["<>", xtext(addr().encode())])
    mail += "".join(" " + p for p in xparams())
    out.append(mail)
    for _ in range(R.choice([1, 1, 2, 3, 7, 50])):
        rc = "RCPT TO:<%s>" % addr()
        if R.random() < 0.3:
            if R.random() < 0.2:
                rc += " NOTIFY=NEVER"
            else:
                fl = [f for f in ["SUCCESS", "FAILURE", "DELAY"] if R.random() < 0.6] or ["FAILURE"]
                rc += " NOTIFY=" + ",".join(fl)
        if R.random() < 0.3:
            rc += " ORCPT=rfc822;" + xtext(addr().encode())
        rc += "".join(" " + p for p in xparams())
        out.append(rc)
    out.append("DATA")
    data = "\n".join(out).encode() + b"\n"
    for line in body():
        data += line + b"\n"
    return data + b".\n"


for i in range(count):
    with open("%s/%04d.bsmtp" % (outdir, i), "wb") as f:
        for _ in range(R.choice([0, 1, 1, 1, 2, 5])):
            f.write(txn())
