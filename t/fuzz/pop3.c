/*
 * Fuzz target: the POP3 client's side of a session (libexec/pop3/:
 * session.c, and conn.c's line reader), against a "server" that is the
 * input: every octet the server sends in one session, whatever the client
 * says.  The first octet picks the login (APOP or USER/PASS), the
 * profile's max messages per session, and what the feed answers.
 *
 * The real conn.c is included with its conn_open() renamed, so that the
 * connection is one end of a socket pair instead of TCP; the feed and the
 * UIDL record (a program run and a file written per message) are
 * stand-ins here that only remember what they were given.
 */
#define conn_open conn_open_tcp
#include "conn.c"
#undef conn_open

#include <sys/socket.h>

#include "fuzz.h"
#include "log.h"

struct conn *conn_open(const struct profile *, char *, size_t);

static int sv[2] = { -1, -1 };
static int feed_status;

struct conn *
conn_open(const struct profile *p, char *err, size_t errsz)
{
	struct conn *c = calloc(1, sizeof *c);

	(void)err;
	(void)errsz;
	if (c == NULL)
		fuzz_fail("out of memory");
	c->fd = sv[0];
	sv[0] = -1;		/* conn_close() closes it */
	c->timeout_ms = p->timeout_ms;
	/* As conn.c's own conn_open sets its buffers up. */
	rbuf_init_mem(&c->in, c->fd, c->inmem, sizeof c->inmem);
	c->in.timeout = (unsigned)(p->timeout_ms / 1000);
	wbuf_init_mem(&c->out, c->fd, c->outmem, sizeof c->outmem);
	snprintf(c->desc, sizeof c->desc, "plain");
	return c;
}

int
feed_run(const struct profile *p, int fd, const char *uid)
{
	(void)p;
	if (fd < 0 || uid == NULL || uid[0] == '\0')
		fuzz_fail("feed given no message or no uid");
	return feed_status;
}

void
uidl_note(struct uidl *u, char kind, const char *uid)
{
	if ((kind != 'D' && kind != 'R') || strlen(uid) > POP3_UID_MAX)
		fuzz_fail("uidl_note given a bad kind or uid");
	if (strset_add(kind == 'D' ? &u->done : &u->refused, uid) < 0)
		fuzz_fail("out of memory");
}

void
uidl_compact(struct uidl *u, const struct strset *on_server)
{
	(void)u;
	(void)on_server;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int status[4] = { 0, EXIT_PERM, EXIT_TEMP, 0 };
	struct profile p = { .name = "fuzz", .host = "pop.example.org",
	    .port = 110, .tls = TLS_NONE, .user = "user", .pass = "pass",
	    .timeout_ms = 1000, .feed = "stand-in" };
	struct uidl u = { 0 };
	int big = 1 << 20;
	unsigned fed;
	ssize_t k;

	if (size == 0 || size > 65536)
		return 0;
	p.auth = data[0] & 1 ? AUTH_APOP : AUTH_USER;
	p.max = (data[0] >> 1) & 3;
	feed_status = status[(data[0] >> 3) & 3];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	/* The whole server side at once, then its end of the connection. */
	if ((k = write(sv[1], data + 1, size - 1)) != (ssize_t)size - 1)
		fuzz_fail("the server's side does not fit the socket buffer");
	shutdown(sv[1], SHUT_WR);
	(void)session_run(&p, &u, &fed);
	strset_free(&u.done);
	strset_free(&u.refused);
	close(sv[1]);
	return 0;
}
