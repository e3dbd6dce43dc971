/*
 * A connection to one server: buffered writes and reads of reply lines
 * (lib/buf), each I/O within its phase's deadline, in the clear or over
 * TLS (lib/tls's transport for lib/buf).  The
 * first failure breaks the connection for good and says why in c->err.
 */
#include "smtp.h"

#include "clock.h"
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const phase_words[PH_COUNT] = {
	"connecting", "greeting or EHLO", "MAIL FROM", "RCPT TO", "DATA",
	"the message body", "end of data", "QUIT",
};

/* A closed connection to target t. */
void
conn_init(struct conn *c, const struct target *t, const int *timeout_ms)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	rbuf_init_mem(&c->in, -1, c->inmem, sizeof c->inmem);
	wbuf_init_mem(&c->out, -1, c->outmem, sizeof c->outmem);
	snprintf(c->name, sizeof c->name, "%s", t->name);
	dns_ntop(&t->a, c->ip_s, sizeof c->ip_s);
	c->port = t->port;
}

/* Connect within smtp_connect_timeout: 0, or -1 with err and c->dead. */
int
conn_connect(struct conn *c, const struct target *t, char *err, size_t errsz)
{
	struct sockaddr_storage sa = t->a.sa;
	long long deadline = clock_now_ms() + c->timeout_ms[PH_CONNECT];
	socklen_t sl = sizeof(int);
	int e = 0, one = 1;

	if (t->a.family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)t->port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)t->port);
	c->fd = socket(t->a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fmt(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&sa, t->a.len) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
		} else if (clock_wait_fd(c->fd, POLLOUT, deadline) < 0) {
			e = ETIMEDOUT;
		} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0) {
			e = errno;
		}
	}
	if (e != 0) {
		c->dead = 1;
		c->slow = e == ETIMEDOUT;
		fmt(err, errsz, "connect to %s[%s]:%u: %s", t->name, c->ip_s,
		    t->port, e == ETIMEDOUT ? "Connection timed out" : strerror(e));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->in.fd = c->out.fd = c->fd;
	return 0;
}

/*
 * Whether the server has sent anything after its 220 to STARTTLS: a
 * server speaks next only after our ClientHello, so any octet there, in
 * the buffer or still in the socket, is plain text a man in the middle
 * may have put there to be read later as if it came over TLS (the
 * client's side of CVE-2011-0411).
 */
static int
conn_plaintext_pending(const struct conn *c)
{
	char b;

	return rbuf_pending(&c->in) > 0 ||
	    recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/*
 * TLS on the connection, after the 220 to STARTTLS: 0, or -1 with err
 * (tls_connect's, or "plaintext after STARTTLS").
 */
int
conn_starttls(struct conn *c, struct tls_client *tc, const char *servername,
    int verify, int timeout_ms, char *err, size_t errsz)
{
	if (conn_plaintext_pending(c)) {
		fmt(err, errsz, "plaintext after STARTTLS");
		return -1;
	}
	if ((c->tls = tls_connect(tc, c->fd, servername, verify, timeout_ms, err,
	    errsz)) == NULL)
		return -1;
	tls_buf_io(c->tls, &c->io);
	c->in.io = c->out.io = &c->io;
	return 0;
}

void
conn_fail(struct conn *c, enum phase ph, const char *what)
{
	if (c->broken)
		return;
	c->broken = 1;
	c->timed_out = strcmp(what, "conversation timed out") == 0;
	fmt(c->err, sizeof c->err, "%s with %s[%s] while %s", what,
	    c->name, c->ip_s, phase_words[ph]);
}

/* Why I/O failed, in the words of the log: errno says. */
static const char *
conn_why(void)
{
	return errno == ETIMEDOUT ? "conversation timed out" : "lost connection";
}

/* Write p now, within the phase's deadline: 0, or -1 when it broke. */
int
conn_rawwrite(struct conn *c, const char *p, size_t n, enum phase ph)
{
	if (c->broken) {
		c->out.len = 0;
		return -1;
	}
	c->out.deadline = clock_now_ms() + c->timeout_ms[ph];
	if (wbuf_put(&c->out, p, n) < 0 || wbuf_flush(&c->out) < 0) {
		conn_fail(c, ph, conn_why());
		return -1;
	}
	return 0;
}

int
conn_flush(struct conn *c, enum phase ph)
{
	return conn_rawwrite(c, "", 0, ph);
}

int
conn_printf(struct conn *c, enum phase ph, const char *f, ...)
{
	char b[STREAM_CMD_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(b, sizeof b, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof b) {
		conn_fail(c, ph, "command too long");
		return -1;
	}
	/* A broken connection takes what fits, and writes nothing. */
	if (c->broken && (size_t)n > c->out.size - c->out.len) {
		c->out.len = 0;
		return -1;
	}
	/* What does not fit in the buffer goes out now, within this phase. */
	c->out.deadline = clock_now_ms() + c->timeout_ms[ph];
	if (wbuf_put(&c->out, b, (size_t)n) < 0) {
		conn_fail(c, ph, conn_why());
		return -1;
	}
	return 0;
}

/*
 * One reply line (without CRLF) into line, cut at max - 1, within the
 * phase's deadline; 0 or -1.  A line end that never comes is a lost
 * connection.
 */
static int
conn_getline(struct conn *c, char *line, size_t max, enum phase ph)
{
	const char *l;
	size_t n, k = 0;
	int rc;

	/* A broken connection still gives the replies it has buffered. */
	if (c->broken)
		c->in.eof = 1;
	c->in.deadline = clock_now_ms() + c->timeout_ms[ph];
	do {
		rc = rbuf_getline(&c->in, &l, &n, sizeof c->inmem);
		if (rc == -1) {
			errno = c->in.err;
			conn_fail(c, ph, conn_why());
			return -1;
		}
		if (rc == 0 || (rc == 1 && l[n - 1] != '\n')) {
			conn_fail(c, ph, "lost connection");
			return -1;
		}
		if (rc == 1)
			n--;
		if (k + n >= max)
			n = k < max - 1 ? max - 1 - k : 0;
		memcpy(line + k, l, n);
		k += n;
	} while (rc == -2);
	if (k > 0 && line[k - 1] == '\r')
		k--;
	line[k] = '\0';
	return 0;
}

/* The enhanced status code, when the server gave one (RFC 3463). */
static void
reply_status(struct reply *r)
{
	const char *p = r->text + 4;
	int n = 0;

	if (strlen(r->text) > 4 && p[0] == r->text[0] && p[1] == '.' &&
	    sscanf(p, "%*1[245].%*3[0-9].%*3[0-9]%n", &n) >= 0 && n > 0 &&
	    (p[n] == ' ' || p[n] == '\0') && (size_t)n < sizeof r->status) {
		memcpy(r->status, p, (size_t)n);
		r->status[n] = '\0';
	} else {
		snprintf(r->status, sizeof r->status, "%c.0.0", r->text[0]);
	}
}

/*
 * Read a whole (multi-line) reply; each line's text goes to each when
 * given.  A malformed one (a line without a code, or with another code
 * than the first line's) breaks the connection.  0, or -1.
 */
int
conn_reply(struct conn *c, struct reply *r, enum phase ph,
    void (*each)(struct conn *, const char *))
{
	char line[REPLY_MAX];
	size_t tl = 0;
	const char *p;

	r->code = 0;
	r->text[0] = '\0';
	for (;;) {
		if (conn_getline(c, line, sizeof line, ph) < 0)
			return -1;
		if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    (line[3] != ' ' && line[3] != '-' && line[3] != '\0') ||
		    line[0] < '2' || line[0] > '5') {
			conn_fail(c, ph, "malformed reply");
			return -1;
		}
		/*
		 * RFC 5321 4.2.1: every line of a reply has the same code.  One
		 * that changes it says two things at once (a 550 line, then 250):
		 * the code would be the last line's and the enhanced status the
		 * first's, so it is no reply we can act on.
		 */
		if (r->code != 0 && atoi(line) != r->code) {
			conn_fail(c, ph, "malformed reply");
			return -1;
		}
		r->code = atoi(line);
		if (each)
			each(c, line + 4 - (line[3] == '\0'));
		for (p = line; *p && tl + 2 < sizeof r->text; p++)
			r->text[tl++] = (*p >= ' ' && *p < 127) ? *p : '?';
		r->text[tl] = '\0';
		if (line[3] != '-')
			break;
		if (tl + 2 < sizeof r->text)
			r->text[tl++] = ' ';
	}
	reply_status(r);
	return 0;
}

/* Send the command line cmd (no CRLF) and read its reply: 0, or -1. */
int
conn_command(struct conn *c, struct reply *r, enum phase ph, const char *cmd)
{
	if (conn_printf(c, ph, "%s\r\n", cmd) < 0 || conn_flush(c, ph) < 0)
		return -1;
	return conn_reply(c, r, ph, NULL);
}

/* The text for X-DEFER and DSNs: "host mx[ip] said: 450 ... (in reply to X)". */
void
conn_said(char *buf, size_t size, const struct conn *c, const struct reply *r,
    const char *cmd)
{
	fmt(buf, size, "host %s[%s] said: %s (in reply to %s)", c->name,
	    c->ip_s, r->text, cmd);
}

/* After a 421 the server is gone whatever it says next. */
void
conn_check421(struct conn *c, const struct reply *r)
{
	if (r->code == 421 && !c->broken) {
		c->broken = 1;
		fmt(c->err, sizeof c->err, "host %s[%s] said: %s", c->name,
		    c->ip_s, r->text);
	}
}

void
conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	if (c->tls)
		tls_close(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
}
