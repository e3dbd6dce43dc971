#!/bin/bash
# A client address sluice-smtpd cannot parse (a malformed TCPREMOTEIP) is
# nobody's, never the local host's: it must not inherit 127.0.0.1's access
# entry, which often allows relaying.  A session on a plain pipe still
# counts as the local host.
. "$(dirname "$0")/lib.sh"

export SLUICE_CONF=$tmpdir/conf
mkdir -p "$SLUICE_CONF" "$tmpdir/echo"
printf 'hostname mx.example.test\n' > "$SLUICE_CONF/config"
echo example.test > "$SLUICE_CONF/domains"
echo "test@example.test test/" > "$SLUICE_CONF/users"
echo "127.0.0.1 relay" > "$SLUICE_CONF/access"
for t in config domains users access; do sluice-mkcdb "$SLUICE_CONF/$t" || bail "mkcdb $t"; done
export SLUICE_QUEUE=$top/t/queue-echo.sh ECHO_DIR=$tmpdir/echo

session() { printf 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@elsewhere.example>\r\nQUIT\r\n' |
    "$@" sluice-smtpd 2>/dev/null | tr -d '\r'; }

out=$(session env -u TCPREMOTEIP)
like "$out" $'\n250 2\\.1\\.5 ' "on a pipe the session is the local host, which may relay here"
out=$(session env TCPREMOTEIP='fe80::1%eth0')
like "$out" $'\n554 5\\.7\\.1 ' "an unparsable TCPREMOTEIP may not relay"
out=$(session env TCPREMOTEIP='127.0.0.1x')
like "$out" $'\n554 5\\.7\\.1 ' "nor may a malformed one that starts like the local host"
out=$(session env TCPREMOTEIP='127.0.0.1')
like "$out" $'\n250 2\\.1\\.5 ' "a real 127.0.0.1 may"
done_testing
