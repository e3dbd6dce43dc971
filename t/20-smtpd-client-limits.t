#!/bin/bash
# Limits per client in sluice-smtpd, shared between sessions through files
# in the spool (no daemon): sessions at once per network
# (smtpd_client_net_connection_limit: the /24 of an IPv4 client), messages
# (smtpd_client_message_rate_limit) and recipients
# (smtpd_client_recipient_rate_limit) per smtpd_client_rate_window, each
# answered 421 or 450 4.7.1 while another client is served; and the tarpit:
# after smtpd_error_delay_after errors each error's reply waits
# smtpd_error_delay more than the last, up to smtpd_error_delay_max.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf net smtpd_client_net_connection_limit 3 smtpd_client_connection_limit 2
smtpd_start nport "$tmpdir/net" "$tmpdir/necho"
smtpd_conf rate smtpd_client_message_rate_limit 2 smtpd_client_recipient_rate_limit 3 \
    smtpd_client_rate_window 4s
smtpd_start rport "$tmpdir/rate" "$tmpdir/recho"
smtpd_conf tarpit smtpd_error_delay 1s smtpd_error_delay_max 2s smtpd_error_delay_after 1
smtpd_start tport "$tmpdir/tarpit" "$tmpdir/techo"

PORTS="$nport $rport $tport" py_checks "$nport" "$tmpdir/necho" <<'EOF'
nport, rport, tport = [int(p) for p in os.environ["PORTS"].split()]
def conn(src, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.s, c.buf = s, b""
    c.banner = c.reply()[-1]
    return c
# Sessions per /24: three from three addresses of 127.0.0.0/24.
held = [conn(a, nport) for a in ("127.0.0.2", "127.0.0.3", "127.0.0.4")]
check("three sessions from one /24 are served", all(c.banner.startswith("220 ") for c in held),
      [c.banner for c in held])
c = conn("127.0.0.5", nport)
check("a fourth from that /24 gets 421 4.7.0", c.banner.startswith("421 4.7.0 ") and "network" in c.banner,
      c.banner)
o = conn("127.0.1.2", nport)
check("a client of another /24 is served meanwhile", o.banner.startswith("220 "), o.banner)
o.cmd("QUIT")
held[0].cmd("QUIT")
held[0].closed(5)
time.sleep(0.2)
c = conn("127.0.0.5", nport)
check("once one ends, the /24 is served again", c.banner.startswith("220 "), c.banner)
c.cmd("QUIT")
for h in held[1:]:
    h.close()

# Messages per window: 2, counted across sessions.
def mail_once(src):
    c = conn(src, rport)
    c.cmd("EHLO c.example")
    r = c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("QUIT")
    return r
got = [mail_once("127.0.0.2") for i in range(3)]
check("two messages in the window are taken, in two sessions", all(g.startswith("250 ") for g in got[:2]), got)
check("the third is refused with 450 4.7.1", got[2].startswith("450 4.7.1 "), got)
r = mail_once("127.0.0.3")
check("another client is served meanwhile", r.startswith("250 "), r)
# Recipients per window: 3, counted across sessions, refused or not.
c = conn("127.0.0.4", rport)
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@example.org>")
got = [c.cmd("RCPT TO:<test@example.test>"), c.cmd("RCPT TO:<nobody@example.test>")]
c.close()
c = conn("127.0.0.4", rport)
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@example.org>")
got += [c.cmd("RCPT TO:<bob@example.test>"), c.cmd("RCPT TO:<test@example.test>")]
check("the fourth recipient in the window gets 450 4.7.1",
      got[0].startswith("250 ") and got[1].startswith("550 ") and got[2].startswith("250 ")
      and got[3].startswith("450 4.7.1 "), got)
c.close()
time.sleep(4.2)
r = mail_once("127.0.0.2")
check("a new window takes messages again", r.startswith("250 "), r)

# The tarpit: the first error is free, then 1 s, 2 s, 2 s.
c = conn("127.0.0.2", tport)
took = []
for i in range(4):
    t0 = time.time()
    r = c.cmd("FOO")
    took.append(round(time.time() - t0, 1))
check("errors are answered 500", r.startswith("500 "), r)
check("the delay grows by smtpd_error_delay per error, up to the maximum (%s)" % took,
      took[0] < 0.5 and 0.9 < took[1] < 1.6 and 1.9 < took[2] < 2.6 and 1.9 < took[3] < 2.6, took)
t0 = time.time()
r = c.cmd("NOOP")
check("a good command is answered at once", r.startswith("250 ") and time.time() - t0 < 0.5, r)
c.close()
EOF
files=$(ls "$tmpdir/rate/spool/smtpd/rate")
is "$(echo $files)" "127.0.0.2 127.0.0.3 127.0.0.4" "the counters are one small file per client in spool/smtpd/rate"
done_testing
