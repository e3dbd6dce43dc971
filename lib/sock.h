#ifndef SOCK_H
#define SOCK_H

/*
 * Connecting to a local daemon (clamd, spamd) by the address a setting
 * gives: a Unix socket ("/run/clamav/clamd.ctl", "unix:/path") or TCP
 * ("127.0.0.1:3310", "[::1]:783", "host:port").  Reads and writes on the
 * descriptor time out after the given seconds (SO_RCVTIMEO, SO_SNDTIMEO),
 * so a daemon that hangs cannot hold a stage forever.
 */

#include <stddef.h>

/*
 * The connected descriptor (close-on-exec), or -1 with err set
 * ("connect /run/clamav/clamd.ctl: No such file or directory").
 */
int sock_connect(const char *addr, unsigned timeout, char *err, size_t esize);

#endif
