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

/*
 * "host:port" or "[v6]:port" into host (hsize octets with its NUL) and
 * port (a pointer into addr): 0, or -1 when malformed or too long.
 */
int sock_split_hostport(const char *addr, char *host, size_t hsize, const char **port);

struct sockaddr_storage;
/*
 * An IPv4 or IPv6 socket address as text (addr, INET6_ADDRSTRLEN octets
 * or more) and port: 0, or -1 for another family (a Unix socket).
 */
int sock_addr_text(const struct sockaddr_storage *, char *addr, size_t size,
    unsigned *port);

#endif
