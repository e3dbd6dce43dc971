/*
 * The connection to a POP3 server: TCP with a deadline on every step,
 * then TLS through lib/tls (OpenSSL), with the certificate checked
 * against the profile's host name unless the profile says verify=no.
 * Reads and writes are lib/buf's, through lib/tls's transport once TLS
 * is on.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "pop3.h"
#include "tls.h"

#define CONN_BUF 16384
#define CONN_OUT (POP3_LINE_MAX * 2)

struct conn {
	int fd;
	struct tls_client *tc;
	struct tls *tls;
	int timeout_ms;
	struct rbuf in;		/* over inmem, outmem: plain, or through io */
	struct wbuf out;
	struct buf_io io;	/* TLS */
	char inmem[CONN_BUF], outmem[CONN_OUT];
	char line[CONN_BUF + 1];
	char desc[200];
};

/* Connect to one address with a deadline; the socket or -1 (errno). */
static int
try_connect(const struct addrinfo *ai, long long deadline)
{
	int fd, e = 0;
	socklen_t el = sizeof e;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS || clock_wait_fd(fd, POLLOUT, deadline) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
			if (e != 0)
				errno = e;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

struct conn *
conn_open(const struct profile *p, char *err, size_t errsz)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	long long deadline = clock_now_ms() + p->timeout_ms;
	struct conn *c;
	char port[16];
	int rc, fd = -1;

	snprintf(port, sizeof port, "%u", p->port);
	if ((rc = getaddrinfo(p->host, port, &hints, &res)) != 0) {
		snprintf(err, errsz, "unable to look up %s: %s", p->host,
		    gai_strerror(rc));
		return NULL;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = try_connect(ai, deadline);
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errsz, "unable to connect to %s:%s: %s", p->host, port,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->timeout_ms = p->timeout_ms;
	rbuf_init_mem(&c->in, fd, c->inmem, sizeof c->inmem);
	/* The wait for each read: timeout= is whole seconds (1s..1d). */
	c->in.timeout = (unsigned)(p->timeout_ms / 1000);
	wbuf_init_mem(&c->out, fd, c->outmem, sizeof c->outmem);
	snprintf(c->desc, sizeof c->desc, "plain");
	return c;
}

int
conn_tls(struct conn *c, const struct profile *p, char *err, size_t errsz)
{
	if (rbuf_pending(&c->in) > 0) {
		/* Plain text sent after our STLS could be an attacker's. */
		snprintf(err, errsz, "the server sent data before the TLS handshake");
		return -1;
	}
	if ((c->tc = tls_client_new(p->ca[0] ? p->ca : NULL, err, errsz)) == NULL)
		return -1;
	c->tls = tls_connect(c->tc, c->fd, p->host, p->verify, c->timeout_ms, err,
	    errsz);
	if (c->tls == NULL)
		return -1;
	tls_buf_io(c->tls, &c->io);
	c->in.io = c->out.io = &c->io;
	tls_describe(c->tls, c->desc, sizeof c->desc);
	return 0;
}

int
conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[POP3_LINE_MAX * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf - 2)
		return errno = EMSGSIZE, -1;
	memcpy(buf + n, "\r\n", 2);
	c->out.deadline = clock_now_ms() + c->timeout_ms;
	return wbuf_put(&c->out, buf, (size_t)n + 2) < 0 ||
	    wbuf_flush(&c->out) < 0 ? -1 : 0;
}

int
conn_getline(struct conn *c, char **line, size_t *len, int *partial)
{
	const char *l;
	size_t n;
	int rc;

	rc = rbuf_getline(&c->in, &l, &n, sizeof c->inmem);
	if (rc == -1)
		return errno = c->in.err, -1;
	if (rc == 0 || (rc == 1 && l[n - 1] != '\n'))
		return errno = ECONNRESET, -1;
	/*
	 * A full buffer without LF is handed out as a piece, but without its
	 * last octet, which may be the CR of a CRLF.
	 */
	*partial = rc == -2;
	if (*partial)
		rbuf_unread(&c->in, 1);
	n--;
	memcpy(c->line, l, n);
	if (!*partial && n > 0 && c->line[n - 1] == '\r')
		n--;
	c->line[n] = '\0';
	*line = c->line;
	*len = n;
	return 1;
}

const char *
conn_describe(struct conn *c)
{
	return c->desc;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	tls_close(c->tls);
	tls_client_free(c->tc);
	close(c->fd);
	free(c);
}
