#!/usr/bin/python3
"""t/bench/smtpfeed.py — send a sluice stream to an SMTP server, pipelined.

    smtpfeed.py HOST PORT SESSIONS STREAM

The stream (sluice-stream(5): MAIL, RCPT..., DATA, dot-stuffed body, ".")
is cut into transactions; transaction i goes over connection i % SESSIONS.
Each connection sends EHLO, its transactions and QUIT in one go, with CRLF
line ends, without waiting for replies (the server's reads pace it), while
a second thread reads the replies.  Prints the number of messages the
server accepted (2xx after the end of data); exits 1 if that is not all of
them.  Used by t/bench/run.sh to queue the same messages in Postfix that
sluice-enqueue queues in sluice.  No X- parameters or XFORWARD: the stream
must be in export form (run.sh writes it so).
"""
import socket
import sys
import threading


def transactions(path):
    cur = []
    with open(path, "rb") as f:
        for line in f:
            cur.append(line.rstrip(b"\r\n") + b"\r\n")
            if line in (b".\n", b".\r\n"):
                yield b"".join(cur)
                cur = []
    if cur:
        sys.exit("smtpfeed: the stream ends inside a transaction")


def session(host, port, data, result, idx):
    """Send DATA over one connection; result[idx] = (accepted, error)."""
    accepted, err = 0, None
    try:
        s = socket.create_connection((host, port), timeout=120)
    except OSError as e:
        result[idx] = (0, str(e))
        return

    def send():
        nonlocal err
        try:
            s.sendall(b"EHLO feed.example.test\r\n" + data + b"QUIT\r\n")
        except OSError as e:
            err = err or str(e)

    t = threading.Thread(target=send)
    t.start()
    after_data = False  # the next final reply is the one to the end of data
    try:
        for line in s.makefile("rb"):
            if len(line) < 4 or line[3:4] == b"-":
                continue
            code = line[:3]
            if code == b"354":
                after_data = True
            elif after_data:
                after_data = False
                accepted += code[:1] == b"2"
            if code == b"221":
                break
    except OSError as e:
        err = err or str(e)
    t.join()
    s.close()
    result[idx] = (accepted, err)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: smtpfeed.py HOST PORT SESSIONS STREAM")
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    parts = [[] for _ in range(n)]
    total = 0
    for i, tx in enumerate(transactions(sys.argv[4])):
        parts[i % n].append(tx)
        total += 1
    result = [None] * n
    threads = []
    for i in range(n):
        t = threading.Thread(target=session,
                             args=(host, port, b"".join(parts[i]), result, i))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    accepted = sum(r[0] for r in result if r)
    for r in result:
        if r and r[1]:
            print("smtpfeed: %s" % r[1], file=sys.stderr)
    print(accepted)
    sys.exit(0 if accepted == total else 1)


if __name__ == "__main__":
    main()
