#ifndef CLAMD_H
#define CLAMD_H

/*
 * A client of clamd's INSTREAM command (clamd(8)): one connection per
 * object scanned, over a Unix socket ("/run/clamav/clamd.ctl",
 * "unix:/path") or TCP ("127.0.0.1:3310", "[::1]:3310", "host:port").
 * Every call returns within the timeout given to clamd_connect.
 */

#include <stddef.h>

#define CLAMD_CHUNK 65536	/* octets per INSTREAM chunk */

struct clamd {
	int fd;
	unsigned char buf[4 + CLAMD_CHUNK];	/* length prefix, then data */
	size_t len;
	int broken;		/* a write failed: clamd closed, its reply says why */
};

/* 0, or -1 with err set ("connect /run/clamav/clamd.ctl: No such file"). */
int clamd_connect(struct clamd *, const char *addr, unsigned timeout,
    char *err, size_t esize);
/* Send data (buffered into chunks). */
void clamd_write(struct clamd *, const void *p, size_t n);
/*
 * End the stream and read clamd's reply into reply ("stream: OK",
 * "stream: Eicar-Test-Signature FOUND", "... ERROR").  0, or -1 with the
 * reason in reply when there is no reply.  Closes the connection.
 */
int clamd_finish(struct clamd *, char *reply, size_t size);
/* Close without a verdict. */
void clamd_abort(struct clamd *);

#endif
