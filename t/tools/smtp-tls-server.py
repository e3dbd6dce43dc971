#!/usr/bin/python3
"""A small SMTP server for sluice-smtp's tests, with STARTTLS and AUTH.

    smtp-tls-server.py PORT LOGFILE CERT KEY [options]
      --no-starttls   do not offer STARTTLS
      --dsn           offer DSN
      --auth U:P      offer AUTH PLAIN LOGIN (under TLS only) for this login
      --delay S       wait S seconds before answering the end of data
      --inject        play a man in the middle: answer STARTTLS with the 220
                      and a whole EHLO reply in one segment, in the clear, and
                      leave the first EHLO over TLS unanswered, so that a
                      client that reads the injected reply after the
                      handshake goes on as if nothing were wrong
      --idle S        close a session that sends no command for S seconds

Each accepted message is appended to LOGFILE as one JSON line:
{"session": N, "active": sessions open at that moment, "tls": bool,
 "cipher": str, "auth": user|null, "mail": ..., "rcpt": [...], "data": str}.  Sessions are numbered from 1 in accept order.
"""
import base64, json, socketserver, ssl, sys, threading, time

port, logfile, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
opts = sys.argv[5:]
starttls = "--no-starttls" not in opts
dsn = "--dsn" in opts
login = opts[opts.index("--auth") + 1] if "--auth" in opts else None
delay = float(opts[opts.index("--delay") + 1]) if "--delay" in opts else 0
inject = "--inject" in opts
idle = float(opts[opts.index("--idle") + 1]) if "--idle" in opts else None
lock = threading.Lock()
counter = [0]
active = [0]

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


class Session(socketserver.StreamRequestHandler):
    def send(self, s):
        self.wfile.write((s + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        with lock:
            counter[0] += 1
            self.n = counter[0]
            active[0] += 1
        try:
            self.session()
        finally:
            with lock:
                active[0] -= 1

    def session(self):
        self.tls = False
        self.auth = None
        self.injected = False
        self.reset()
        self.send("220 mx.tls.test ESMTP test server")
        while True:
            self.connection.settimeout(idle)
            try:
                line = self.rfile.readline()
            except TimeoutError:
                return
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ")[0].upper()
            if verb in ("EHLO", "HELO") and self.injected:
                self.injected = False
            elif verb in ("EHLO", "HELO"):
                caps = ["mx.tls.test", "PIPELINING", "8BITMIME", "SIZE 10000000",
                        "SMTPUTF8"]
                if starttls and not self.tls:
                    caps.append("STARTTLS")
                if login and self.tls:
                    caps.append("AUTH PLAIN LOGIN")
                if dsn:
                    caps.append("DSN")
                for c in caps[:-1]:
                    self.send("250-" + c)
                self.send("250 " + caps[-1])
            elif verb == "STARTTLS" and starttls and not self.tls:
                if inject:
                    self.send("220 2.0.0 go ahead\r\n250-injected\r\n"
                              "250 PIPELINING")
                    self.injected = True
                else:
                    self.send("220 2.0.0 go ahead")
                sock = ctx.wrap_socket(self.connection, server_side=True)
                self.connection = sock
                self.rfile = sock.makefile("rb")
                self.wfile = sock.makefile("wb")
                self.tls = True
                self.cipher = sock.cipher()[0]
                self.reset()
            elif verb == "AUTH" and login and self.tls:
                self.do_auth(cmd.split(" ")[1:])
            elif verb == "MAIL":
                self.mail = cmd[10:]
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                self.rcpt.append(cmd[8:])
                self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                self.send("354 go on")
                data = []
                while True:
                    l = self.rfile.readline()
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    data.append(l.decode("utf-8", "replace"))
                time.sleep(delay)
                with lock, open(logfile, "a") as f:
                    f.write(json.dumps({"session": self.n, "active": active[0],
                        "tls": self.tls,
                        "cipher": getattr(self, "cipher", ""), "auth": self.auth,
                        "mail": self.mail, "rcpt": self.rcpt,
                        "data": "".join(data)}) + "\n")
                self.reset()
                self.send("250 2.0.0 Ok: queued")
            elif verb == "RSET":
                self.reset()
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 unknown command")

    def reset(self):
        self.mail, self.rcpt = None, []

    def do_auth(self, args):
        if args[0].upper() == "PLAIN" and len(args) > 1:
            parts = base64.b64decode(args[1]).decode().split("\0")
            user, pw = parts[1], parts[2]
        elif args[0].upper() == "LOGIN":
            self.send("334 VXNlcm5hbWU6")
            user = base64.b64decode(self.rfile.readline().strip()).decode()
            self.send("334 UGFzc3dvcmQ6")
            pw = base64.b64decode(self.rfile.readline().strip()).decode()
        else:
            self.send("504 5.5.4 mechanism not supported")
            return
        if user + ":" + pw == login:
            self.auth = user
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Authentication failed")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 100


Server(("127.0.0.1", port), Session).serve_forever()
