/*
 * Fuzz target: the SMTP client's side of a session (libexec/smtp/:
 * smtp_conn.c's reply reader, conn_getline and conn_reply, and
 * smtp_session.c's greeting, EHLO keywords, HELO fallback, RSET and
 * QUIT) against a "server" that is the input: every octet it sends in
 * one session, whatever the client says.  After the session is open the
 * target sends one message's commands (MAIL, two RCPT, DATA, the body),
 * pipelined when the server offered PIPELINING, and reads their replies
 * as smtp_transfer.c does.
 *
 * smtp_conn.c is included with conn_connect, conn_reply and
 * conn_command renamed: the connection is lib/buf's transport over the
 * input (all at once, line by line, or an octet at a time; ending in EOF
 * or in a timeout, from the first octet), and every reply read is checked
 * against the octets it was read from: each line three digits, then a
 * dash on all lines but the last, the same code on every line
 * (RFC 5321 4.2.1); the code, the enhanced status code (of the code's
 * class) and the joined text as the lines say, printable and within
 * TEXT_MAX.  A reply that breaks these rules must break the connection.
 * sluice-smtp.c is included for its helpers (fmt), with main renamed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "smtp.h"

int smtp_main(int, char **);
#define main smtp_main
#include "sluice-smtp.c"
#undef main

int conn_connect_tcp(struct conn *, const struct target *, char *, size_t);
int conn_reply_read(struct conn *, struct reply *, enum phase,
    void (*)(struct conn *, const char *));
int conn_command_real(struct conn *, struct reply *, enum phase, const char *);
#define conn_connect conn_connect_tcp
#define conn_reply conn_reply_read
#define conn_command conn_command_real
#include "smtp_conn.c"
#undef conn_connect
#undef conn_reply
#undef conn_command

#include "fuzz.h"

/* The server: its octets, and how they arrive. */
static struct {
	const uint8_t *p;
	size_t len, off;
	size_t piece;		/* 1: an octet at a time */
	int by_line, silent;
} feed;

static ssize_t
feed_read(void *ctx, void *p, size_t n, long long deadline)
{
	(void)ctx;
	(void)deadline;
	if (feed.off == feed.len) {
		if (!feed.silent)
			return 0;
		errno = ETIMEDOUT;
		return -1;
	}
	return (ssize_t)fuzz_piece(feed.p, feed.len, &feed.off, p, n,
	    feed.piece, feed.by_line);
}

/* What the client says goes nowhere. */
static ssize_t
sink_write(void *ctx, const void *p, size_t n, long long deadline)
{
	(void)ctx;
	(void)p;
	(void)deadline;
	return (ssize_t)n;
}

static const struct buf_io io = { feed_read, sink_write, NULL };

int
conn_connect(struct conn *c, const struct target *t, char *err, size_t errsz)
{
	(void)t;
	(void)err;
	(void)errsz;
	c->in.io = c->out.io = &io;
	return 0;
}

/* One reply line as conn_getline keeps it: cut, then without its CR. */
static size_t
kept(const char *l, size_t n)
{
	if (n > REPLY_MAX - 1)
		n = REPLY_MAX - 1;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	return n;
}

static int
digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static void
status_check(const struct reply *r)
{
	const char *s = r->status;
	size_t i = 2, d;

	if (s[0] != '0' + r->code / 100 || s[1] != '.')
		fuzz_fail("an enhanced status code of another class than the reply");
	for (d = 0; digit(s[i]); i++)
		d++;
	if (d == 0 || d > 3 || s[i++] != '.')
		fuzz_fail("a malformed enhanced status code");
	for (d = 0; digit(s[i]); i++)
		d++;
	if (d == 0 || d > 3 || s[i] != '\0')
		fuzz_fail("a malformed enhanced status code");
}

/*
 * The reply read from raw (n octets): well-formed and as its lines say,
 * or the connection broke.
 */
static void
reply_check(const struct conn *c, const struct reply *r, int rc,
    const char *raw, size_t n)
{
	const char *l = raw, *e, *z;
	size_t ln, tl = 0, i;
	int code = -1, last = 0;

	if (rc < 0) {
		if (!c->broken || c->err[0] == '\0')
			fuzz_fail("a reply failed without breaking the connection");
		return;
	}
	for (; l < raw + n; l = e + 1) {
		if (last || (e = memchr(l, '\n', (size_t)(raw + n - l))) == NULL)
			fuzz_fail("a reply taken from something else than whole lines");
		ln = kept(l, (size_t)(e - l));
		/* The reader sees the line as a string. */
		if ((z = memchr(l, '\0', ln)) != NULL)
			ln = (size_t)(z - l);
		if (ln < 3 || !digit(l[0]) || !digit(l[1]) || !digit(l[2]) ||
		    l[0] < '2' || l[0] > '5' || (ln > 3 && l[3] != ' ' && l[3] != '-'))
			fuzz_fail("a malformed reply line was taken");
		if (code != -1 && atoi(l) != code)
			fuzz_fail("a reply whose lines disagree on the code was taken");
		code = atoi(l);
		last = ln == 3 || l[3] == ' ';
		/* The text: the lines joined by one space, '?' for controls. */
		for (i = 0; i < ln && tl < strlen(r->text); i++, tl++)
			if (r->text[tl] != ((l[i] >= ' ' && l[i] < 127) ? l[i] : '?'))
				fuzz_fail("the reply's text is not its lines");
		if (tl < strlen(r->text) && r->text[tl++] != ' ')
			fuzz_fail("the reply's lines are not joined by a space");
	}
	if (!last)
		fuzz_fail("a reply without its last line was taken");
	if (r->code != code)
		fuzz_fail("the reply's code is not its lines'");
	if (strlen(r->text) >= TEXT_MAX)
		fuzz_fail("a reply text past TEXT_MAX");
	status_check(r);
}

int
conn_reply(struct conn *c, struct reply *r, enum phase ph,
    void (*each)(struct conn *, const char *))
{
	size_t from = feed.off - rbuf_pending(&c->in);
	int rc = conn_reply_read(c, r, ph, each);

	reply_check(c, r, rc, (const char *)feed.p + from,
	    feed.off - rbuf_pending(&c->in) - from);
	return rc;
}

int
conn_command(struct conn *c, struct reply *r, enum phase ph, const char *cmd)
{
	if (conn_printf(c, ph, "%s\r\n", cmd) < 0 || conn_flush(c, ph) < 0)
		return -1;
	return conn_reply(c, r, ph, NULL);
}

/* One message's commands, pipelined or not, as smtp_transfer.c sends them. */
static void
transfer(struct conn *c)
{
	static const char *const cmd[] = { "MAIL FROM:<a@example.org>",
	    "RCPT TO:<b@example.net>", "RCPT TO:<c@example.net>", "DATA" };
	static const enum phase ph[] = { PH_MAIL, PH_RCPT, PH_RCPT, PH_DATA_INIT };
	static const char body[] = "Subject: x\r\n\r\nbody\r\n.\r\n";
	struct reply r;
	size_t i;

	for (i = 0; i < 4 && c->pipelining; i++)
		if (conn_printf(c, ph[i], "%s\r\n", cmd[i]) < 0)
			return;
	for (i = 0; i < 4; i++) {
		if (!c->pipelining && conn_printf(c, ph[i], "%s\r\n", cmd[i]) < 0)
			return;
		if (conn_flush(c, ph[i]) < 0 || conn_reply(c, &r, ph[i], NULL) < 0)
			return;
		conn_check421(c, &r);
	}
	if (r.code != 354)
		return;
	if (conn_rawwrite(c, body, sizeof body - 1, PH_DATA_BLOCK) == 0 &&
	    conn_reply(c, &r, PH_DATA_DONE, NULL) == 0)
		conn_check421(c, &r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char helo[] = "client.example.org";
	struct smtp s;
	struct job j;
	struct target t;
	struct conn c;
	char status[STATUS_MAX], err[TEXT_MAX];
	int i;

	if (size < 1 || size > 65536)
		return 0;
	memset(&s, 0, sizeof s);
	memset(&j, 0, sizeof j);
	memset(&t, 0, sizeof t);
	for (i = 0; i < PH_COUNT; i++)
		s.cf.timeout_ms[i] = 300000;
	s.cf.helo = helo;
	s.auth.fd = -1;		/* no smtp_auth: no AUTH */
	j.s = &s;
	j.tls_level = TLS_NONE;
	snprintf(t.name, sizeof t.name, "mx.example.net");
	t.a.family = AF_INET;
	t.a.len = sizeof(struct sockaddr_in);
	((struct sockaddr_in *)&t.a.sa)->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.25", &((struct sockaddr_in *)&t.a.sa)->sin_addr);
	t.port = 25;
	memset(&feed, 0, sizeof feed);
	feed.by_line = (data[0] & 3) == 1;
	feed.piece = (data[0] & 3) == 2;
	feed.silent = (data[0] & 4) != 0;
	feed.p = data + 1;
	feed.len = size - 1;
	if (session_open(&j, &t, &c, status, err, sizeof err) == 0) {
		transfer(&c);
		session_rset(&c);
		session_quit(&c);
	} else if (strchr("2345", status[0]) == NULL || status[0] == '\0' ||
	    status[1] != '.' || err[0] == '\0')
		/* The class is the reply's; the caller makes it 4 (rcpt_soft). */
		fuzz_fail("a session that failed without a status or a reason");
	return 0;
}
