/*
 * The session: its settings and tables, reading commands, the command
 * table, the commands that touch no transaction or queue (HELO/EHLO, VRFY,
 * RSET, NOOP, HELP, QUIT), the error count, and the ways a session ends.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "slot.h"
#include "smtpd.h"
#include "stream.h"
#include "table.h"

/*
 * The settings (sluice-smtpd(8), SETTINGS) and the tables RCPT reads.  s
 * is main's static session, all zero as exec left it: clearing it again
 * would only fault in its pages (about 30 KiB, 8 page faults per
 * connection), and so would buffers from malloc, which musl maps and
 * unmaps one by one.  So the buffers are static too, used once per
 * process.
 */
void
smtpd_session_io(struct session *s)
{
	static char inbuf[BUF_SIZE], outbuf[4096];

	s->slot.fd = -1;
	txn_init(&s->t);
	rbuf_init_mem(&s->in, 0, inbuf, sizeof inbuf);
	wbuf_init_mem(&s->out, 1, outbuf, sizeof outbuf);
}

void
smtpd_session_init(struct session *s)
{
	long long v;

	smtpd_queue_init(&s->q);
	s->hostname = conf_hostname();
	v = conf_size("message_size_limit", 35LL * 1024 * 1024);
	s->size_limit = (unsigned long long)v;
	v = conf_num("max_recipients", 1000);
	/* The stream reader takes at most STREAM_RCPT_MAX recipients. */
	s->max_rcpt = (v < 1 || v > STREAM_RCPT_MAX) ? STREAM_RCPT_MAX : (size_t)v;
	/*
	 * max_received is sluice-alias's loop limit; with ours a message may
	 * have that many Received: fields, so it may bring one fewer.
	 */
	v = conf_num("max_received", 50);
	s->max_hops = v < 1 ? 0 : (unsigned long)v;
	v = conf_time("smtpd_timeout", 300);
	s->in.timeout = (v < 1 || v > 86400) ? 300 : (unsigned)v;
	s->vrfy = strcasecmp(conf_get("smtpd_vrfy", "yes"), "no") != 0;
	v = conf_time("smtpd_session_time_limit", 3600);
	s->session_ms = v > 0 ? v * 1000 : 0;
	v = conf_time("smtpd_data_time_limit", 1800);
	s->data_ms = v > 0 ? v * 1000 : 0;
	v = conf_num("smtpd_client_connection_limit", 10);
	s->client_limit = v < 0 ? 0 : v > 100000 ? 100000 : (unsigned)v;
	smtpd_tls_init(s);
	smtpd_auth_init(s);
	smtpd_limit_init(s);
	/*
	 * A table the session cannot open (damaged, unreadable, no descriptor
	 * left) ends it naming the table, before the greeting: main's die
	 * hook tells the client to come back (421, as RFC 5321 allows).
	 */
	table_need(&s->domains, "domains");
	table_need(&s->users, "users");
	table_need(&s->aliases, "aliases");
}

void
smtpd_session_exit(struct session *s, int code)
{
	/*
	 * The slot first: a client that reconnects as soon as it reads our
	 * last reply must find it free.
	 */
	slot_release(&s->slot);
	slot_release(&s->net_slot);
	wbuf_flush(&s->out);
	_exit(code);
}

/* Count a client error; a client that makes nothing but them goes. */
void
smtpd_session_error(struct session *s)
{
	if (++s->errors >= ERRORS_MAX) {
		smtpd_reply_extra(s, RP_TOO_MANY_ERRORS, NULL);
		log_info("client=%s event=too_many_errors", s->addr);
		smtpd_session_exit(s, EXIT_TEMP);
	}
	smtpd_limits_error_delay(s);
}

/*
 * Replies wait in the output buffer while more pipelined commands are
 * buffered (RFC 2920); they go out before the server would block reading.
 */
void
smtpd_session_flush(struct session *s)
{
	if (wbuf_flush(&s->out) < 0) {
		log_info("client=%s event=lost_connection error=write", s->addr);
		_exit(EXIT_TEMP);
	}
}

static void
flush_if_idle(struct session *s)
{
	size_t n = rbuf_pending(&s->in);

	if (n == 0 || memchr(s->in.buf + s->in.start, '\n', n) == NULL)
		smtpd_session_flush(s);
}

/* The client is gone or silent: say so if we can, and end the session. */
void
smtpd_session_read_failed(struct session *s, const char *where)
{
	smtpd_queue_abort(&s->q);
	if (s->in.timedout && s->in.deadline != 0 &&
	    clock_now_ms() >= s->in.deadline) {
		smtpd_reply(s, RP_TIME_LIMIT);
		log_info("client=%s event=time_limit in=%s", s->addr, where);
	} else if (s->in.timedout) {
		smtpd_reply(s, RP_TIMEOUT);
		log_info("client=%s event=timeout in=%s", s->addr, where);
	} else
		log_info("client=%s event=lost_connection in=%s", s->addr, where);
	smtpd_session_exit(s, EXIT_TEMP);
}

/* The next command line (or AUTH response), its line end CRLF or LF. */
int
smtpd_session_read(struct session *s, char **line, size_t *len)
{
	const char *l;
	size_t n;
	int rc, toolong = 0;

	flush_if_idle(s);
	while ((rc = rbuf_getline(&s->in, &l, &n, CMD_MAX)) == -2)
		toolong = 1;
	if (rc <= 0 || l[n - 1] != '\n')
		smtpd_session_read_failed(s, "command");
	if (toolong) {
		smtpd_reply(s, RP_TOO_LONG);
		return 0;
	}
	n--;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	/* The line lives in the read buffer until the next read. */
	*line = (char *)l;
	(*line)[n] = '\0';
	*len = n;
	return 1;
}

/*
 * RFC 5321 3.1: refuse with 554, then answer nothing but QUIT (the whole
 * line: "QUIT" then a NUL is not it, as no line with a NUL is a command).
 */
void
smtpd_session_refuse(struct session *s)
{
	char *l;
	size_t n;

	smtpd_reply(s, RP_ACCESS_DENIED);
	log_info("client=%s event=reject reason=access", s->addr);
	s->errors = 0;
	for (;;) {
		/* An over-long line has had its 500: one reply per line. */
		if (!smtpd_session_read(s, &l, &n))
			continue;
		if (n == 4 && strcasecmp(l, "QUIT") == 0) {
			smtpd_reply(s, RP_BYE);
			smtpd_session_exit(s, EXIT_OK);
		}
		smtpd_reply(s, RP_NEED_HELO);
	}
}

static void
cmd_helo(struct session *s, char *arg, enum helo_kind kind)
{
	size_t i, n = strlen(arg);

	while (n > 0 && arg[n - 1] == ' ')
		arg[--n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 32 || arg[i] == 127)
			break;
	if (n == 0 || n > HELO_MAX || i < n) {
		smtpd_reply(s, RP_HELO_SYNTAX);
		return;
	}
	memcpy(s->helo_name, arg, n + 1);
	s->helo = kind;
	smtpd_txn_reset(s);
	if (kind == HELO_SMTP) {
		wbuf_printf(&s->out, "250 %s\r\n", s->hostname);
		return;
	}
	wbuf_printf(&s->out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-ETRN\r\n",
	    s->hostname, s->size_limit);
	/* RFC 3207: not again once TLS is on; AUTH only under TLS (RFC 4954). */
	if (s->tls_offer && !s->tls)
		wbuf_puts(&s->out, "250-STARTTLS\r\n");
	if (s->auth_offer && s->tls && s->auth_user[0] == '\0')
		wbuf_puts(&s->out, "250-AUTH PLAIN LOGIN\r\n");
	wbuf_puts(&s->out, "250 SMTPUTF8\r\n");
}

static void
cmd_vrfy(struct session *s, const char *arg)
{
	if (!s->vrfy)
		smtpd_reply(s, RP_VRFY_OFF);
	else if (*arg == '\0')
		smtpd_reply(s, RP_VRFY_SYNTAX);
	else
		smtpd_reply(s, RP_VRFY);
}

/* RSET and QUIT take no argument. */
static void
cmd_rset(struct session *s, const char *arg)
{
	if (*arg != '\0')
		smtpd_reply(s, RP_NO_ARGS);
	else {
		smtpd_txn_reset(s);
		smtpd_reply(s, RP_OK);
	}
}

static void
cmd_quit(struct session *s, const char *arg)
{
	if (*arg != '\0')
		smtpd_reply(s, RP_NO_ARGS);
	else {
		smtpd_reply(s, RP_BYE);
		smtpd_session_exit(s, EXIT_OK);
	}
}

/* "VERB" or "VERB arg": the verb's length, and arg after one space. */
static int
verb_is(const char *l, size_t n, const char *verb, char **arg)
{
	size_t k = strlen(verb);

	if (n < k || strncasecmp(l, verb, k) != 0 || (n > k && l[k] != ' '))
		return 0;
	*arg = (char *)l + (n > k ? k + 1 : k);
	return 1;
}

static void
session_command(struct session *s, char *l, size_t n)
{
	char *arg;

	if (memchr(l, '\0', n) != NULL)
		smtpd_reply(s, RP_BAD_CHAR);
	else if (verb_is(l, n, "EHLO", &arg))
		cmd_helo(s, arg, HELO_ESMTP);
	else if (verb_is(l, n, "HELO", &arg))
		cmd_helo(s, arg, HELO_SMTP);
	else if (verb_is(l, n, "MAIL", &arg))
		smtpd_txn_mail(s, arg);
	else if (verb_is(l, n, "RCPT", &arg))
		smtpd_txn_rcpt(s, arg);
	else if (verb_is(l, n, "DATA", &arg))
		smtpd_data(s, arg);
	else if (verb_is(l, n, "RSET", &arg))
		cmd_rset(s, arg);
	else if (verb_is(l, n, "NOOP", &arg))
		smtpd_reply(s, RP_OK);
	else if (verb_is(l, n, "HELP", &arg))
		smtpd_reply(s, RP_HELP);
	else if (verb_is(l, n, "VRFY", &arg))
		cmd_vrfy(s, arg);
	else if (verb_is(l, n, "ETRN", &arg))
		smtpd_etrn(s, arg);
	else if (verb_is(l, n, "QUIT", &arg))
		cmd_quit(s, arg);
	else if (verb_is(l, n, "STARTTLS", &arg))
		smtpd_tls_starttls(s, arg);
	else if (verb_is(l, n, "AUTH", &arg))
		smtpd_auth(s, arg);
	else if (verb_is(l, n, "EXPN", &arg) || verb_is(l, n, "BDAT", &arg) ||
	    verb_is(l, n, "TURN", &arg))
		smtpd_reply(s, RP_NOT_IMPL);
	else
		smtpd_reply(s, RP_UNKNOWN);
}

/* Answer commands until the client quits or the session ends otherwise. */
void
smtpd_session_serve(struct session *s)
{
	char *l;
	size_t n;

	for (;;)
		if (smtpd_session_read(s, &l, &n))
			session_command(s, l, n);
}
