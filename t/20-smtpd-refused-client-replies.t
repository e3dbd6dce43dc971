#!/bin/bash
# A client the access table refuses (554) gets one reply per line: 503 to
# everything but QUIT, 500 alone to an over-long line (not 500 and then
# 503, which would put a pipelining client out of step); and a line "QUIT"
# followed by a NUL and more is not QUIT (a command line with a NUL is
# refused everywhere else, 500 5.5.2), so it gets 503 too, and the session
# goes on to the real QUIT.  The smtpd fuzz target found both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"

smtpd_conf refused
echo '192.0.2.66 reject' > "$tmpdir/refused/access"
sluice-mkcdb -o "$tmpdir/refused/access.cdb" "$tmpdir/refused/access"
mkdir -p "$tmpdir/echo"

# session INPUT — the reply codes of a refused client's session
session() {
    printf "$1" | env SLUICE_CONF="$tmpdir/refused" TCPREMOTEIP=192.0.2.66 \
        SLUICE_QUEUE="$top/t/queue-echo.sh" ECHO_DIR="$tmpdir/echo" \
        sluice-smtpd 2>>"$tmpdir/log" | tr -d '\r' | cut -c1-9
}

is "$(session 'NOOP\r\nQUIT\0x\r\nquit\r\n')" "554 5.7.1
503 5.5.1
503 5.5.1
221 2.0.0" "refused: 554, 503 to NOOP and to QUIT NUL x, 221 to QUIT"
long=$(head -c 3000 /dev/zero | tr '\0' a)
is "$(session "NOOP $long\r\nNOOP\r\nQUIT\r\n")" "554 5.7.1
500 5.5.2
503 5.5.1
221 2.0.0" "an over-long line gets 500 alone, the next line its 503"
done_testing
