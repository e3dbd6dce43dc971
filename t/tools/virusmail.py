#!/usr/bin/python3
"""Test messages for sluice-scan, as sluice stream transactions.

    virusmail.py KIND [FROM [TO]]     prints one transaction on stdout
    virusmail.py wrap FILE [FROM [TO]]  a message file as one transaction

KIND: clean, plain, base64, qp, uu, uupart, xuu, nested, forged, bigclean,
file:PATH (PATH as a base64 attachment).  EICAR is the body of every kind but
clean, forged and bigclean, encoded as the kind says; only "plain" has it as
it is, so clamd finds the others only in what sluice-scan decoded.
"""
import base64
import binascii
import sys

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def uu(data, name):
    lines = ["begin 644 %s" % name]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    lines += ["`", "end"]
    return "\n".join(lines)


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def qp_all(data):
    return "".join("=%02X" % b for b in data)


HEAD = "From: <sender@example.test>\nTo: <rcpt@example.test>\nSubject: %s\n" \
    "Message-ID: <%s@example.test>\nMIME-Version: 1.0\n"


def multipart(subject, parts, boundary="b1"):
    out = HEAD % (subject, subject) + \
        'Content-Type: multipart/mixed; boundary="%s"\n\nThis is MIME.\n' % boundary
    for p in parts:
        out += "--%s\n%s\n" % (boundary, p)
    return out + "--%s--\n" % boundary


def attachment(name, data, ctype="application/octet-stream"):
    return ('Content-Type: %s; name="%s"\nContent-Transfer-Encoding: base64\n'
            'Content-Disposition: attachment; filename="%s"\n\n%s' % (ctype, name, name, b64(data)))


TEXT = "Content-Type: text/plain; charset=us-ascii\n\nHello, here it is.\n"


def message(kind):
    if kind == "clean":
        return multipart("clean", [TEXT, attachment("data.bin", bytes(range(256)) * 40)])
    if kind == "bigclean":
        return multipart("bigclean", [TEXT] + [attachment("f%d.bin" % i, bytes(range(256)) * 4000)
                                               for i in range(3)])
    if kind == "forged":
        return "X-Sluice-Scan: clean by nobody\n  (forged)\n" + multipart("forged", [TEXT])
    if kind == "plain":
        return HEAD % ("plain", "plain") + "\nLook:\n" + EICAR.decode() + "\n"
    if kind == "base64":
        return multipart("base64", [TEXT, attachment("eicar.com", EICAR)])
    if kind == "qp":
        return multipart("qp", [TEXT, "Content-Type: text/plain\nContent-Transfer-Encoding: "
                                "quoted-printable\n\n" + qp_all(EICAR)])
    if kind == "uu":
        return HEAD % ("uu", "uu") + "\nSee the file below.\n\n" + uu(EICAR, "eicar.com") + "\nbye\n"
    if kind == "uupart":
        return multipart("uupart", ["Content-Type: text/plain\n\nfile:\n" + uu(EICAR, "e.com")])
    if kind == "xuu":
        return multipart("xuu", [TEXT, 'Content-Type: application/octet-stream; name="e.com"\n'
                                 "Content-Transfer-Encoding: x-uuencode\n\n" + uu(EICAR, "e.com")])
    if kind == "nested":
        inner = multipart("inner", [TEXT, attachment("eicar.com", EICAR)], boundary="inner-b")
        return multipart("nested", [TEXT, "Content-Type: message/rfc822\n\n" + inner])
    if kind.startswith("file:"):
        path = kind[5:]
        return multipart("file", [TEXT, attachment(path.rsplit("/", 1)[-1], open(path, "rb").read())])
    sys.exit("virusmail.py: unknown kind " + kind)


def stream(msg, frm, to):
    out = ["MAIL FROM:<%s>" % frm, "RCPT TO:<%s>" % to, "DATA"]
    if msg.endswith("\n"):
        msg = msg[:-1]
    for line in msg.split("\n"):
        out.append("." + line if line.startswith(".") else line)
    out.append(".")
    return "\n".join(out) + "\n"


def main():
    frm = sys.argv[3] if len(sys.argv) > 3 and sys.argv[1] == "wrap" else \
        (sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] != "wrap" else "sender@example.test")
    to = sys.argv[4] if len(sys.argv) > 4 and sys.argv[1] == "wrap" else \
        (sys.argv[3] if len(sys.argv) > 3 and sys.argv[1] != "wrap" else "rcpt@example.test")
    if sys.argv[1] == "wrap":
        msg = open(sys.argv[2], "rb").read().decode("latin-1").replace("\r\n", "\n")
    else:
        msg = message(sys.argv[1])
    sys.stdout.buffer.write(stream(msg, frm, to).encode("latin-1"))


main()
