/*
 * sluice-smtpd: the RFC 5321 SMTP server.  It serves one session on
 * standard input and output (tcpserver, inetd, or a plain pipe for tests),
 * checks each recipient at RCPT time, and hands every accepted transaction
 * to $SLUICE_QUEUE as a one-transaction stream, answering the client from
 * that program's exit status.  See sluice-smtpd(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "dsn.h"
#include "log.h"
#include "prog.h"
#include "qdest.h"
#include "qid.h"
#include "route.h"
#include "slot.h"
#include "stream.h"
#include "table.h"
#include "text.h"
#include "usage.h"

/*
 * Limits, each enforced while reading.  RFC 5321 4.5.3.1.4 allows a
 * command line of 512 octets; SIZE (RFC 1870), DSN (RFC 3461: ENVID 100,
 * ORCPT 500) and SMTPUTF8 addresses (RFC 6531) lengthen MAIL and RCPT, so
 * every command may have 2048 octets with its line end.
 */
#define CMD_MAX 2048
#define TEXT_MAX 1000		/* a text line with CRLF, RFC 5321 4.5.3.1.6 */
#define HELO_MAX 255		/* the HELO/EHLO argument */
#define ERRORS_MAX 20		/* protocol errors before the server hangs up */
#define REASON_MAX 200		/* text passed on from the queue program */
#define QUEUE_ARGS 16

/*
 * Every fixed reply, with its enhanced status code (RFC 3463, 2034).  The
 * 220 greeting, the HELO/EHLO answer and 354 carry none: RFC 2034 leaves
 * them out and there is no 3.x.x class.
 */
enum reply_id {
	RP_OK, RP_SENDER_OK, RP_RCPT_OK, RP_QUEUED, RP_HELP, RP_VRFY, RP_BYE, RP_DATA,
	RP_UNKNOWN, RP_TOO_LONG, RP_BAD_CHAR, RP_HELO_SYNTAX, RP_MAIL_SYNTAX,
	RP_RCPT_SYNTAX, RP_NO_ARGS, RP_VRFY_SYNTAX, RP_PARAM_SYNTAX, RP_BAD_SENDER,
	RP_BAD_RCPT, RP_NOT_IMPL, RP_VRFY_OFF, RP_NEED_HELO, RP_NESTED_MAIL,
	RP_NEED_MAIL, RP_NEED_RCPT, RP_PARAM_UNKNOWN, RP_PARAM_NO_EHLO,
	RP_NEED_UTF8, RP_NO_USER, RP_RELAY_DENIED, RP_TOO_BIG, RP_TOO_MANY_RCPT,
	RP_BARE_EOL, RP_LONG_LINE, RP_TOO_MANY_HOPS, RP_QUEUE_PERM, RP_QUEUE_TEMP, RP_QUEUE_START,
	RP_LOOKUP_FAIL, RP_LOCAL_ERROR, RP_TIMEOUT, RP_TIME_LIMIT, RP_TOO_MANY_ERRORS,
	RP_TOO_MANY_CONN,
	RP_ACCESS_DENIED, RP_ETRN_OK, RP_ETRN_SYNTAX, RP_ETRN_DENIED, RP_ETRN_FAIL,
	RP_COUNT
};

static const struct {
	int code;
	const char *text;
} replies[RP_COUNT] = {
	[RP_OK] = { 250, "2.0.0 Ok" },
	[RP_SENDER_OK] = { 250, "2.1.0 Sender ok" },
	[RP_RCPT_OK] = { 250, "2.1.5 Recipient ok" },
	[RP_QUEUED] = { 250, "2.0.0 Ok: queued as" },
	[RP_HELP] = { 214, "2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT" },
	[RP_VRFY] = { 252, "2.5.0 Cannot VRFY user, but will accept message and attempt delivery" },
	[RP_BYE] = { 221, "2.0.0 Bye" },
	[RP_DATA] = { 354, "End data with <CR><LF>.<CR><LF>" },
	[RP_UNKNOWN] = { 500, "5.5.2 Unknown command" },
	[RP_TOO_LONG] = { 500, "5.5.2 Line too long" },
	[RP_BAD_CHAR] = { 500, "5.5.2 Invalid character in command" },
	[RP_HELO_SYNTAX] = { 501, "5.5.4 Syntax: HELO/EHLO hostname" },
	[RP_MAIL_SYNTAX] = { 501, "5.5.4 Syntax: MAIL FROM:<address>" },
	[RP_RCPT_SYNTAX] = { 501, "5.5.4 Syntax: RCPT TO:<address>" },
	[RP_NO_ARGS] = { 501, "5.5.4 Syntax: this command takes no argument" },
	[RP_VRFY_SYNTAX] = { 501, "5.5.4 Syntax: VRFY address" },
	[RP_PARAM_SYNTAX] = { 501, "5.5.4 Invalid parameter" },
	[RP_BAD_SENDER] = { 501, "5.1.7 Bad sender address syntax" },
	[RP_BAD_RCPT] = { 501, "5.1.3 Bad recipient address syntax" },
	[RP_NOT_IMPL] = { 502, "5.5.1 Command not implemented" },
	[RP_VRFY_OFF] = { 502, "5.5.1 VRFY command is disabled" },
	[RP_NEED_HELO] = { 503, "5.5.1 Send HELO or EHLO first" },
	[RP_NESTED_MAIL] = { 503, "5.5.1 Sender already specified" },
	[RP_NEED_MAIL] = { 503, "5.5.1 Send MAIL first" },
	[RP_NEED_RCPT] = { 503, "5.5.1 No valid recipients" },
	[RP_PARAM_UNKNOWN] = { 555, "5.5.4 Unsupported parameter" },
	[RP_PARAM_NO_EHLO] = { 555, "5.5.4 Parameters need EHLO" },
	[RP_NEED_UTF8] = { 553, "5.6.7 Non-ASCII address needs SMTPUTF8" },
	[RP_NO_USER] = { 550, "5.1.1 Recipient address rejected: user unknown" },
	[RP_RELAY_DENIED] = { 554, "5.7.1 Relay access denied" },
	[RP_TOO_BIG] = { 552, "5.3.4 Message size exceeds fixed limit" },
	[RP_TOO_MANY_RCPT] = { 452, "4.5.3 Too many recipients" },
	[RP_BARE_EOL] = { 550, "5.6.0 Bare CR or LF in message refused: lines must end with CRLF" },
	[RP_LONG_LINE] = { 554, "5.6.0 Message has a line longer than 1000 octets" },
	/* The code sluice-alias bounces loops with (RFC 3463: routing loop). */
	[RP_TOO_MANY_HOPS] = { 554, "5.4.6 Too many Received: fields (mail loop?)" },
	[RP_QUEUE_PERM] = { 554, "5.3.0 Message refused" },
	/* RFC 1985 */
	[RP_ETRN_OK] = { 250, "2.0.0 Queuing started for node" },
	[RP_ETRN_SYNTAX] = { 501, "5.5.4 Syntax: ETRN domain" },
	[RP_ETRN_DENIED] = { 459, "4.7.1 Node not queued for ETRN here:" },
	[RP_ETRN_FAIL] = { 458, "4.3.0 Unable to queue messages for node" },
	[RP_QUEUE_TEMP] = { 451, "4.3.0 Temporary queue failure, try again later" },
	[RP_QUEUE_START] = { 451, "4.3.0 Could not start the queue program" },
	[RP_LOOKUP_FAIL] = { 451, "4.3.0 Temporary lookup failure" },
	[RP_LOCAL_ERROR] = { 451, "4.3.0 Local error, try again later" },
	[RP_TIMEOUT] = { 421, "4.4.2 Timeout, closing connection" },
	[RP_TIME_LIMIT] = { 421, "4.4.2 Time limit exceeded, closing connection" },
	[RP_TOO_MANY_ERRORS] = { 421, "4.7.0 Too many errors, closing connection" },
	[RP_TOO_MANY_CONN] = { 421, "4.7.0 Too many connections from your address, try again later" },
	[RP_ACCESS_DENIED] = { 554, "5.7.1 Access denied" },
};

enum helo_kind { HELO_NONE, HELO_SMTP, HELO_ESMTP };

/* Why a message is refused at the end of DATA; the first reason wins. */
#define DATA_TOO_BIG 0x01
#define DATA_LONG_LINE 0x02
#define DATA_BARE_EOL 0x04
#define DATA_HOPS 0x08

struct queue {
	pid_t pid;
	int in;			/* the program's stdin, -1 once closed */
	int err;		/* its stdout and stderr */
	struct stream_writer w;
};

struct session {
	struct rbuf in;
	struct wbuf out;
	/* client */
	char addr[INET6_ADDRSTRLEN + 8];
	char name[256];		/* "" when unknown */
	char port[8];
	int relay;
	enum helo_kind helo;
	char helo_name[HELO_MAX + 1];
	unsigned errors;
	/* settings */
	unsigned long long size_limit;	/* 0: none */
	size_t max_rcpt;
	unsigned long max_hops;	/* Received: fields a message may bring */
	int vrfy;
	const char *hostname;
	long long session_ms, data_ms;	/* time limits, 0: none */
	long long session_end;		/* clock_now_ms() deadline, 0: none */
	unsigned client_limit;		/* sessions per client address */
	struct slot slot;		/* the one this session holds */
	/* tables */
	struct table domains, users, aliases;
	/* the queue program, resolved at the first DATA */
	char queue_buf[1024];
	char *queue_argv[QUEUE_ARGS];
	char queue_path[4096];
	int queue_ready;
	/* transaction */
	struct txn t;
	int have_mail;
	struct queue q;
};

static char lookup_val[TABLE_VAL_MAX];

/* ---- replies ---------------------------------------------------------- */

static void
session_exit(struct session *s, int code)
{
	/*
	 * The slot first: a client that reconnects as soon as it reads our
	 * last reply must find it free.
	 */
	slot_release(&s->slot);
	wbuf_flush(&s->out);
	_exit(code);
}

/* Printable ASCII only, so no client or program text can break a reply. */
static void
put_clean(struct wbuf *w, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i]; i++)
		wbuf_putc(w, (p[i] >= 32 && p[i] < 127) ? p[i] : '?');
}

static void
reply_text(struct session *s, int code, const char *text, const char *extra)
{
	struct wbuf *w = &s->out;

	wbuf_putc(w, (char)('0' + code / 100));
	wbuf_putc(w, (char)('0' + code / 10 % 10));
	wbuf_putc(w, (char)('0' + code % 10));
	wbuf_putc(w, ' ');
	wbuf_puts(w, text);
	if (extra != NULL) {
		if (*text != '\0')
			wbuf_putc(w, ' ');
		put_clean(w, extra, REASON_MAX);
	}
	wbuf_put(w, "\r\n", 2);
}

/* Count a client error; a client that makes nothing but them goes. */
static void
error_count(struct session *s)
{
	if (++s->errors >= ERRORS_MAX) {
		reply_text(s, replies[RP_TOO_MANY_ERRORS].code,
		    replies[RP_TOO_MANY_ERRORS].text, NULL);
		log_info("client=%s event=too_many_errors", s->addr);
		session_exit(s, EXIT_TEMP);
	}
}

static void
reply(struct session *s, enum reply_id id)
{
	int code = replies[id].code;

	reply_text(s, code, replies[id].text, NULL);
	if (code == 500 || code == 501 || code == 503 || code == 555)
		error_count(s);
}

/* ---- reading ---------------------------------------------------------- */

/*
 * Replies wait in the output buffer while more pipelined commands are
 * buffered (RFC 2920); they go out before the server would block reading.
 */
static void
flush(struct session *s)
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
		flush(s);
}

static void queue_abort(struct session *);

/* The client is gone or silent: say so if we can, and end the session. */
static void
read_failed(struct session *s, const char *where)
{
	if (s->q.pid > 0)
		queue_abort(s);
	if (s->in.timedout && s->in.deadline != 0 &&
	    clock_now_ms() >= s->in.deadline) {
		reply(s, RP_TIME_LIMIT);
		log_info("client=%s event=time_limit in=%s", s->addr, where);
	} else if (s->in.timedout) {
		reply(s, RP_TIMEOUT);
		log_info("client=%s event=timeout in=%s", s->addr, where);
	} else
		log_info("client=%s event=lost_connection in=%s", s->addr, where);
	session_exit(s, EXIT_TEMP);
}

/*
 * The next command line without its line end (CRLF or LF).  Returns 1, or
 * 0 when the line was over-long and has been answered and discarded.
 */
static int
read_cmd(struct session *s, char **line, size_t *len)
{
	const char *l;
	size_t n;
	int rc, toolong = 0;

	flush_if_idle(s);
	while ((rc = rbuf_getline(&s->in, &l, &n, CMD_MAX)) == -2)
		toolong = 1;
	if (rc <= 0 || l[n - 1] != '\n')
		read_failed(s, "command");
	if (toolong) {
		reply(s, RP_TOO_LONG);
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

/* ---- the client ------------------------------------------------------- */

static int
name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
			return 0;
	return i > 0 && i < 256;
}

/*
 * Who is talking: UCSPI variables from tcpserver, else the socket's peer
 * (inetd), else nobody: a session on a pipe counts as the local host.
 */
static void
client_identify(struct session *s)
{
	const char *ip = getenv("TCPREMOTEIP"), *host = getenv("TCPREMOTEHOST");
	const char *port = getenv("TCPREMOTEPORT");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	strcpy(s->addr, "127.0.0.1");
	if (ip != NULL && *ip != '\0') {
		struct in6_addr a6;
		struct in_addr a4;

		/*
		 * An address we cannot parse is nobody's: never the local
		 * host, whose access entry may allow relaying.
		 */
		if (inet_pton(AF_INET, ip, &a4) == 1 || inet_pton(AF_INET6, ip, &a6) == 1)
			snprintf(s->addr, sizeof s->addr, "%s", ip);
		else
			strcpy(s->addr, "unknown");
		if (port != NULL && strlen(port) < sizeof s->port)
			strcpy(s->port, port);
	} else if (getpeername(0, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, s->addr, sizeof s->addr);
			snprintf(s->port, sizeof s->port, "%u", ntohs(a->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, s->addr, sizeof s->addr);
			snprintf(s->port, sizeof s->port, "%u", ntohs(a->sin6_port));
		} else
			strcpy(s->addr, "unknown");	/* a UNIX socket, say */
	} else if (errno != ENOTSOCK) {
		strcpy(s->addr, "unknown");
	}
	/* An IPv4 client on an IPv6 socket is an IPv4 client. */
	if (strncasecmp(s->addr, "::ffff:", 7) == 0 && strchr(s->addr + 7, '.'))
		memmove(s->addr, s->addr + 7, strlen(s->addr + 7) + 1);
	if (host != NULL && name_valid(host))
		snprintf(s->name, sizeof s->name, "%s", host);
}

/*
 * The access table, keyed by the client's address, then by ever shorter
 * prefixes of whole components: 192.0.2.7, 192.0.2, 192.0, 192.
 * Returns "relay", "reject", or NULL.
 */
static const char *
access_lookup(const char *ip)
{
	struct table t;
	char key[INET6_ADDRSTRLEN + 8], *p;
	char sep = strchr(ip, ':') ? ':' : '.';
	const char *verdict = NULL;
	int rc = 0;

	if (strlen(ip) >= sizeof key)
		return NULL;
	if (table_open(&t, "access") < 0) {
		log_warn("unable to open table access: %s", strerror(errno));
		return NULL;
	}
	strcpy(key, ip);
	for (;;) {
		rc = table_get(&t, key, lookup_val, sizeof lookup_val);
		if (rc != 0 || (p = strrchr(key, sep)) == NULL)
			break;
		*p = '\0';
	}
	if (rc < 0)
		log_warn("unable to read table access: %s", strerror(errno));
	if (rc == 1) {
		if (strncasecmp(lookup_val, "relay", 5) == 0)
			verdict = "relay";
		else if (strncasecmp(lookup_val, "reject", 6) == 0)
			verdict = "reject";
		else
			log_warn("table access: unknown value for %s: %.40s", key, lookup_val);
	}
	table_close(&t);
	return verdict;
}

/*
 * One of the client's smtpd_client_connection_limit session slots, shared
 * through lock files in the spool (lib/slot.h), or 421.  Relay clients
 * are trusted and not counted, as Postfix exempts $mynetworks.  A slot
 * folder that cannot be used costs the limit, not the mail: logged, and
 * the session goes on.
 */
static void
client_slot(struct session *s)
{
	char dir[4096];
	int rc;

	if (s->client_limit == 0)
		return;
	if (snprintf(dir, sizeof dir, "%s/smtpd", conf_spool()) >= (int)sizeof dir) {
		log_warn("client=%s spool path too long for the session slots", s->addr);
		return;
	}
	rc = slot_take(&s->slot, dir, s->addr, s->client_limit);
	if (rc < 0)
		log_warn("client=%s unable to take a session slot in %s: %s",
		    s->addr, dir, strerror(errno));
	if (rc != 0)
		return;
	reply(s, RP_TOO_MANY_CONN);
	log_info("client=%s event=reject reason=connection_limit limit=%u",
	    s->addr, s->client_limit);
	session_exit(s, EXIT_TEMP);
}

/* RFC 5321 3.1: refuse with 554, then answer nothing but QUIT. */
static void
session_refuse(struct session *s)
{
	char *l;
	size_t n;

	reply(s, RP_ACCESS_DENIED);
	log_info("client=%s event=reject reason=access", s->addr);
	s->errors = 0;
	for (;;) {
		if (read_cmd(s, &l, &n) && strcasecmp(l, "QUIT") == 0) {
			reply(s, RP_BYE);
			session_exit(s, EXIT_OK);
		}
		reply(s, RP_NEED_HELO);
	}
}

/* ---- settings and tables ---------------------------------------------- */

static void
open_table(struct table *t, const char *name)
{
	if (table_open(t, name) < 0)
		die(EXIT_TEMP, "unable to open table %s: %s", name, strerror(errno));
}

static void
session_init(struct session *s)
{
	long long v;

	memset(s, 0, sizeof *s);
	s->slot.fd = -1;
	s->q.pid = -1;
	s->q.in = s->q.err = -1;
	txn_init(&s->t);
	if (rbuf_init(&s->in, 0, BUF_SIZE) < 0 || wbuf_init(&s->out, 1, 4096) < 0 ||
	    stream_writer_init(&s->q.w, -1, 0) < 0)
		die_nomem();
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
	open_table(&s->domains, "domains");
	open_table(&s->users, "users");
	open_table(&s->aliases, "aliases");
}

/* ---- the queue program ------------------------------------------------ */

static int
queue_resolve(struct session *s)
{
	const char *q = getenv("SLUICE_QUEUE");
	char **argvs[1] = { s->queue_argv };

	if (s->queue_ready)
		return 0;
	if (q == NULL || *q == '\0')
		q = "sluice-enqueue";
	if (strlen(q) >= sizeof s->queue_buf) {
		log_warn("SLUICE_QUEUE is too long");
		return -1;
	}
	strcpy(s->queue_buf, q);
	if (prog_split_chain(s->queue_buf, argvs, 1, QUEUE_ARGS) != 1) {
		log_warn("SLUICE_QUEUE is not one program with arguments: %s", q);
		return -1;
	}
	if (prog_path(s->queue_argv[0], s->queue_path, sizeof s->queue_path) < 0) {
		log_warn("queue program not found: %s", s->queue_argv[0]);
		return -1;
	}
	s->queue_ready = 1;
	return 0;
}

/* Set by a vforked child whose execv failed; the parent shares its memory. */
static volatile int spawn_errno;

/*
 * vfork, not fork: the server's pages are not copied per message.  glibc's
 * posix_spawn is a vfork too, but resets each of the 64 signals in the
 * child (128 system calls); here the child makes five.  Until execv the
 * child runs in our memory, so it makes only system calls.  We have no
 * signal handlers that it could run.
 */
static pid_t
queue_spawn(const char *path, char *const argv[], int in, int out)
{
	pid_t pid;

	spawn_errno = 0;
	pid = vfork();
	if (pid != 0)
		return pid;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
		spawn_errno = errno;
		_exit(EXIT_TEMP);
	}
	/* Ignored signals stay ignored across execv; SIGPIPE must not. */
	signal(SIGPIPE, SIG_DFL);
	execv(path, argv);
	spawn_errno = errno;
	_exit(EXIT_TEMP);
}

/*
 * Start the queue program with a pipe on its stdin and one on its stdout
 * and stderr, from which its reason line is read.
 */
static int
queue_start(struct session *s)
{
	struct queue *q = &s->q;
	int in[2], err[2];

	if (queue_resolve(s) < 0)
		return -1;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	q->pid = queue_spawn(s->queue_path, s->queue_argv, in[0], err[1]);
	close(in[0]);
	close(err[1]);
	if (q->pid < 0 || spawn_errno != 0) {
		int e = q->pid < 0 ? errno : spawn_errno;

		if (q->pid > 0)
			(void)prog_wait(q->pid);
		close(in[1]);
		close(err[0]);
		q->pid = -1;
		errno = e;
		return -1;
	}
	q->in = in[1];
	q->err = err[0];
	q->w.out.fd = q->in;
	q->w.out.len = 0;
	q->w.out.err = 0;
	q->w.out.total = 0;
	return 0;
}

/* Close the program's input without the final ".": it commits nothing. */
static void
queue_close_input(struct session *s)
{
	if (s->q.in >= 0) {
		s->q.w.out.len = 0;
		close(s->q.in);
		s->q.in = -1;
	}
}

/*
 * Copy what the program printed to our standard error (it is its log) and
 * keep the last line, its reason.  Returns its exit status.
 */
static int
queue_wait(struct session *s, char *reason, size_t rsz)
{
	char buf[4096], cur[REASON_MAX + 1];
	size_t cl = 0;
	ssize_t n, i;
	int st;

	reason[0] = '\0';
	while ((n = read(s->q.err, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		(void)write_all(2, buf, (size_t)n);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (cl > 0) {
					cur[cl] = '\0';
					snprintf(reason, rsz, "%s", cur);
				}
				cl = 0;
			} else if (cl < REASON_MAX)
				cur[cl++] = buf[i];
		}
	}
	if (cl > 0) {
		cur[cl] = '\0';
		snprintf(reason, rsz, "%s", cur);
	}
	close(s->q.err);
	s->q.err = -1;
	st = prog_wait(s->q.pid);
	s->q.pid = -1;
	return st;
}

static void
queue_abort(struct session *s)
{
	char reason[REASON_MAX + 1];

	queue_close_input(s);
	(void)queue_wait(s, reason, sizeof reason);
}

/*
 * A reason "prog: fatal: 5.7.1 text" passes its code and text on to the
 * client when the code's class matches the exit status (5 for 100, 4 for
 * 111).  Returns the text from the code on, or NULL.
 */
static const char *
reason_code(const char *reason, char cls)
{
	const char *p = strstr(reason, "fatal: ");
	size_t i = 0;
	int digits;

	if (p == NULL)
		return NULL;
	p += 7;
	if (p[0] != cls || p[1] != '.')
		return NULL;
	for (i = 2, digits = 0; p[i] >= '0' && p[i] <= '9' && digits < 3; i++)
		digits++;
	if (digits == 0 || p[i++] != '.')
		return NULL;
	for (digits = 0; p[i] >= '0' && p[i] <= '9' && digits < 3; i++)
		digits++;
	if (digits == 0 || (p[i] != ' ' && p[i] != '\0'))
		return NULL;
	return p;
}

/* ---- commands --------------------------------------------------------- */

static void
txn_reset(struct session *s)
{
	txn_free(&s->t);
	s->have_mail = 0;
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
		reply(s, RP_HELO_SYNTAX);
		return;
	}
	memcpy(s->helo_name, arg, n + 1);
	s->helo = kind;
	txn_reset(s);
	if (kind == HELO_SMTP) {
		wbuf_printf(&s->out, "250 %s\r\n", s->hostname);
		return;
	}
	wbuf_printf(&s->out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-ETRN\r\n"
	    "250 SMTPUTF8\r\n", s->hostname, s->size_limit);
}

/*
 * Split "FROM:<path> params" (prefix "FROM:" or "TO:") into the path's
 * content and the parameters.  Returns 0, or -1 on a syntax error.
 */
static int
path_split(char *arg, const char *prefix, const char **path, size_t *pl,
    const char **params, size_t *parl)
{
	size_t k = strlen(prefix), n;
	long e;

	if (strncasecmp(arg, prefix, k) != 0)
		return -1;
	arg += k;
	while (*arg == ' ')
		arg++;
	n = strlen(arg);
	if (n == 0 || arg[0] != '<' || (e = addr_path_end(arg, n)) < 0)
		return -1;
	if (arg[e + 1] != '\0' && arg[e + 1] != ' ')
		return -1;
	*path = arg + 1;
	*pl = (size_t)e - 1;
	*params = arg + e + 1;
	*parl = n - (size_t)e - 1;
	return 0;
}

/* The parameters of MAIL (r NULL) or RCPT; 0, or -1 when answered. */
static int
params_check(struct session *s, struct rcpt *r, const char *p, size_t n)
{
	const char *err;
	int code;

	if (n > 0 && s->helo != HELO_ESMTP) {
		reply(s, RP_PARAM_NO_EHLO);
		return -1;
	}
	if (param_parse(&s->t, r, p, n, r != NULL, &err, &code) < 0) {
		reply(s, code == 451 ? RP_LOCAL_ERROR :
		    code == 555 ? RP_PARAM_UNKNOWN : RP_PARAM_SYNTAX);
		return -1;
	}
	/*
	 * The private X- parameters steer later stages (routes, retries) and
	 * AUTH= is not offered: neither may come from a client.
	 */
	if ((r != NULL && r->nx > 0) || (r == NULL && (s->t.nx > 0 || s->t.auth))) {
		reply(s, RP_PARAM_UNKNOWN);
		return -1;
	}
	return 0;
}

static void
cmd_mail(struct session *s, char *arg)
{
	const char *p, *par;
	size_t pl, parl;
	struct addr a;
	struct addr_err e;
	char fmt[ADDR_PATH_MAX + 8];

	if (path_split(arg, "FROM:", &p, &pl, &par, &parl) < 0) {
		reply(s, RP_MAIL_SYNTAX);
		return;
	}
	if (s->helo == HELO_NONE) {
		reply(s, RP_NEED_HELO);
		return;
	}
	if (s->have_mail) {
		reply(s, RP_NESTED_MAIL);
		return;
	}
	txn_free(&s->t);
	if (params_check(s, NULL, par, parl) < 0) {
		txn_free(&s->t);
		return;
	}
	if (addr_parse(p, pl, ADDR_NULL_OK | (s->t.smtputf8 ? ADDR_UTF8 : 0),
	    &a, &e) < 0) {
		reply(s, !s->t.smtputf8 && text_has8bit(p, pl) ? RP_NEED_UTF8 : RP_BAD_SENDER);
		txn_free(&s->t);
		return;
	}
	if (s->size_limit && s->t.has_size && s->t.size > s->size_limit) {
		reply(s, RP_TOO_BIG);
		txn_free(&s->t);
		return;
	}
	addr_format(&a, fmt, sizeof fmt);
	if (txn_set_from(&s->t, fmt) < 0) {
		reply(s, RP_LOCAL_ERROR);
		txn_free(&s->t);
		return;
	}
	s->have_mail = 1;
	reply(s, RP_SENDER_OK);
}

/* Table lookup where a value that fits nowhere still counts as found. */
static int
found(int rc)
{
	return rc == 1 || (rc < 0 && errno == EOVERFLOW) ? 1 : rc;
}

/*
 * Recipient policy: a local domain's recipients must exist (users, then
 * aliases; postmaster always); other domains only for relay clients.
 */
static enum reply_id
rcpt_policy(struct session *s, const struct addr *a, const char *full)
{
	char base[ADDR_PATH_MAX + 1];
	int rc;

	if (a->domain[0] == '\0')	/* <postmaster>, checked by the caller */
		return RP_RCPT_OK;
	rc = found(table_lookup_domain(&s->domains, a->domain, lookup_val,
	    sizeof lookup_val));
	if (rc < 0)
		return RP_LOOKUP_FAIL;
	if (rc == 0)
		return s->relay ? RP_RCPT_OK : RP_RELAY_DENIED;
	if (addr_is_postmaster(a))
		return RP_RCPT_OK;
	rc = found(table_lookup_addr(&s->users, full, lookup_val,
	    sizeof lookup_val, NULL, 0));
	if (rc == 0)
		rc = found(table_lookup_addr(&s->aliases, full, lookup_val,
		    sizeof lookup_val, NULL, 0));
	/* user+detail: known when the user is, as the delivery stages see it. */
	if (rc == 0 && route_base_addr(full, conf_get("recipient_delimiter", "+"),
	    base, sizeof base)) {
		rc = found(table_lookup_addr(&s->users, base, lookup_val,
		    sizeof lookup_val, NULL, 0));
		if (rc == 0)
			rc = found(table_lookup_addr(&s->aliases, base, lookup_val,
			    sizeof lookup_val, NULL, 0));
	}
	return rc < 0 ? RP_LOOKUP_FAIL : rc == 1 ? RP_RCPT_OK : RP_NO_USER;
}

/*
 * The recipient as the stream gets it, in the form recipients are
 * compared by (rcpt_key): <postmaster> without a domain, which RFC 5321
 * 4.5.1 makes this host's postmaster, is the postmaster setting (see
 * sluice-smtpd(8)), so that it never gets a foreign domain downstream.
 * Returns a string to free, or NULL when out of memory.
 */
static char *
rcpt_address(const struct addr *a)
{
	char fmt[ADDR_PATH_MAX + 8];

	if (a->domain[0] == '\0')
		return rcpt_key(dsn_postmaster());
	addr_format(a, fmt, sizeof fmt);
	return rcpt_key(fmt);
}

/*
 * Add the recipient, or answer why not.  A duplicate (same key) is kept
 * once, with the first one's parameters, and answered 250 as Postfix
 * does: a client that lists an address twice has done nothing wrong.
 */
static void
rcpt_add(struct session *s, const struct addr *a, const char *par, size_t parl)
{
	struct rcpt *r;
	enum reply_id verdict;
	char *key;

	if ((key = rcpt_address(a)) == NULL || (r = txn_add_rcpt(&s->t, key)) == NULL) {
		free(key);
		reply(s, RP_LOCAL_ERROR);
		return;
	}
	if (params_check(s, r, par, parl) < 0) {
		txn_del_rcpt(&s->t, s->t.nrcpt - 1);
		free(key);
		return;
	}
	if (txn_find_rcpt(&s->t, key, s->t.nrcpt - 1) >= 0) {
		txn_del_rcpt(&s->t, s->t.nrcpt - 1);
		log_info("client=%s event=duplicate to=<%s>", s->addr, key);
		free(key);
		reply(s, RP_RCPT_OK);
		return;
	}
	verdict = rcpt_policy(s, a, key);
	if (verdict != RP_RCPT_OK) {
		txn_del_rcpt(&s->t, s->t.nrcpt - 1);
		log_info("client=%s event=reject to=<%s> reply=\"%d %.5s\"", s->addr,
		    key, replies[verdict].code, replies[verdict].text);
	}
	free(key);
	reply(s, verdict);
	/* Address guessing: refused recipients count as errors too. */
	if (replies[verdict].code >= 500)
		error_count(s);
}

static void
cmd_rcpt(struct session *s, char *arg)
{
	const char *p, *par;
	size_t pl, parl;
	struct addr a;
	struct addr_err e;

	if (path_split(arg, "TO:", &p, &pl, &par, &parl) < 0) {
		reply(s, RP_RCPT_SYNTAX);
		return;
	}
	if (!s->have_mail) {
		reply(s, RP_NEED_MAIL);
		return;
	}
	if (s->t.nrcpt >= s->max_rcpt) {
		reply(s, RP_TOO_MANY_RCPT);
		return;
	}
	if (addr_parse(p, pl, ADDR_UNQUAL_OK | (s->t.smtputf8 ? ADDR_UTF8 : 0),
	    &a, &e) < 0) {
		if (!s->t.smtputf8 && text_has8bit(p, pl)) {
			reply(s, RP_NEED_UTF8);
			error_count(s);
		} else
			reply(s, RP_BAD_RCPT);
		return;
	}
	/* RFC 5321 4.1.1.3: only <postmaster> may come without a domain. */
	if (a.domain[0] == '\0' && !addr_is_postmaster(&a)) {
		reply(s, RP_BAD_RCPT);
		return;
	}
	rcpt_add(s, &a, par, parl);
}

static void
cmd_vrfy(struct session *s, const char *arg)
{
	if (!s->vrfy)
		reply(s, RP_VRFY_OFF);
	else if (*arg == '\0')
		reply(s, RP_VRFY_SYNTAX);
	else
		reply(s, RP_VRFY);
}

/* ---- DATA ------------------------------------------------------------- */

static const char *
proto_name(const struct session *s)
{
	if (s->helo != HELO_ESMTP)
		return "SMTP";
	return s->t.smtputf8 ? "UTF8SMTP" : "ESMTP";
}

/* The RFC 5321 4.4 trace field, first line of the message. */
static int
write_received(struct session *s, const char *qid)
{
	struct stream_writer *w = &s->q.w;
	char line[TEXT_MAX], date[64], helo[HELO_MAX + 1];
	struct tm tm;
	time_t now = time(NULL);
	size_t i;
	int n;

	for (i = 0; s->helo_name[i]; i++)
		helo[i] = (s->helo_name[i] > 32 && s->helo_name[i] < 127 &&
		    s->helo_name[i] != '(' && s->helo_name[i] != ')') ?
		    s->helo_name[i] : '?';
	helo[i] = '\0';
	/* UTC: no time zone file to read per connection. */
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(line, sizeof line, "Received: from %s (%s [%s])", helo,
	    s->name[0] ? s->name : "unknown", s->addr);
	if (stream_write_line(w, line, (size_t)n) < 0)
		return -1;
	/* RFC 5322 3.6.7: the date follows a ";", with or without "for". */
	n = snprintf(line, sizeof line, "\tby %s (sluice) with %s id %s%s",
	    s->hostname, proto_name(s), qid, s->t.nrcpt == 1 ? "" : ";");
	if (n < 0 || (size_t)n >= sizeof line ||
	    stream_write_line(w, line, (size_t)n) < 0)
		return -1;
	if (s->t.nrcpt == 1)
		n = snprintf(line, sizeof line, "\tfor <%s>; %s", s->t.rcpt[0].addr, date);
	else
		n = snprintf(line, sizeof line, "\t%s", date);
	if (n < 0 || (size_t)n >= sizeof line)
		return -1;
	return stream_write_line(w, line, (size_t)n);
}

/* XFORWARD for the stream: who sent it, and the queue id to use. */
static int
set_xforward(struct session *s, const char *qid)
{
	struct txn *t = &s->t;

	if (txn_set_xf(t, XF_IDENT, qid) < 0 || txn_set_xf(t, XF_ADDR, s->addr) < 0 ||
	    txn_set_xf(t, XF_HELO, s->helo_name) < 0 ||
	    txn_set_xf(t, XF_PROTO, proto_name(s)) < 0)
		return -1;
	if (s->name[0] && txn_set_xf(t, XF_NAME, s->name) < 0)
		return -1;
	if (s->port[0] && txn_set_xf(t, XF_PORT, s->port) < 0)
		return -1;
	return 0;
}

/*
 * Where the reading of DATA is: whether the next octets start a line,
 * whether the line before ended with CRLF (only then can "." end the
 * data), whether the last piece of an over-long line ended with CR (its
 * LF may come in the next piece), and the header block's Received:
 * fields, counted with no memory beyond this struct.
 */
struct data_scan {
	int bol, after_crlf, piece_cr, in_hdr;
	unsigned long hops;
};

/* A header field named Received, in any case, WSP allowed before ':'. */
static int
is_received(const char *l, size_t n)
{
	size_t i = 8;

	if (n < 9 || strncasecmp(l, "Received", 8) != 0)
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < n && l[i] == ':';
}

/*
 * One whole line (l, n with its line end) or the last piece of an
 * over-long one: 1 for the final ".", else 0 with the refusal flags in
 * *bad.  text/tl get the line without its end and with its dot-stuffing
 * undone.
 */
static int
data_line(struct data_scan *ds, const char *l, size_t n, unsigned *bad,
    const char **text, size_t *tl)
{
	int crlf = (n >= 2 && l[n - 2] == '\r') ||
	    (n == 1 && !ds->bol && ds->piece_cr);
	int whole = ds->bol;

	ds->bol = 1;
	if (whole && ds->after_crlf && n == 3 && l[0] == '.' && crlf)
		return 1;
	ds->after_crlf = crlf;
	if (!whole)
		return 0;	/* the end of a line refused as over-long */
	*tl = n - (crlf ? 2 : 1);
	*text = l;
	/* RFC 5321 4.5.3.1.6 counts the line, not the stuffing. */
	if (l[0] == '.')
		(*text)++, (*tl)--;
	if (!crlf || memchr(l, '\r', *tl + (l[0] == '.')) != NULL)
		*bad |= DATA_BARE_EOL;
	if (*tl > TEXT_MAX - 2)
		*bad |= DATA_LONG_LINE;
	if (ds->in_hdr) {
		if (*tl == 0)
			ds->in_hdr = 0;
		else if (is_received(*text, *tl))
			ds->hops++;
	}
	return 0;
}

/*
 * Read the message up to CRLF.CRLF, copying it into the queue program's
 * stream as it arrives.  Only a "." between two CRLFs ends it; a bare CR
 * or LF never does (the SMTP smuggling family) and makes the message
 * refused, as does an over-long line, which is read in pieces so that
 * the end is found whatever the line lengths.  After a refusal the rest
 * is read and dropped, and the queue program's input is closed without
 * the final ".", so it commits nothing.  Returns the DATA_* refusal flags.
 */
static unsigned
data_read(struct session *s, unsigned long long *size)
{
	struct data_scan ds = { 1, 1, 0, 1, 0 };
	unsigned bad = 0;
	const char *l, *text = NULL;
	size_t n, tl = 0;
	int rc;

	*size = 0;
	for (;;) {
		/* A 998-octet line with CRLF and a stuffed dot fits whole. */
		rc = rbuf_getline(&s->in, &l, &n, TEXT_MAX + 1);
		if (rc == 0 || rc == -1 || (rc == 1 && l[n - 1] != '\n'))
			read_failed(s, "data");
		if (rc == -2) {
			bad |= DATA_LONG_LINE;
			ds.bol = 0;
			ds.piece_cr = l[n - 1] == '\r';
			text = NULL;
		} else if (data_line(&ds, l, n, &bad, &text, &tl))
			break;
		*size += n;
		if (s->size_limit && *size > s->size_limit)
			bad |= DATA_TOO_BIG;
		if (s->max_hops && ds.hops >= s->max_hops)
			bad |= DATA_HOPS;
		if (bad) {
			queue_close_input(s);
			continue;
		}
		if (s->q.in >= 0 && stream_write_line(&s->q.w, text, tl) < 0)
			queue_close_input(s);
	}
	return bad;
}

/* The answer after the final ".", from the refusal or the queue's status. */
static void
data_answer(struct session *s, unsigned bad, int wrote, const char *qid,
    unsigned long long size)
{
	char reason[REASON_MAX + 1];
	const char *pass = NULL;
	enum reply_id id;
	int st;

	if (bad)
		queue_close_input(s);
	st = queue_wait(s, reason, sizeof reason);
	if (bad & DATA_TOO_BIG)
		id = RP_TOO_BIG;
	else if (bad & DATA_LONG_LINE)
		id = RP_LONG_LINE;
	else if (bad & DATA_BARE_EOL)
		id = RP_BARE_EOL;
	else if (bad & DATA_HOPS)
		id = RP_TOO_MANY_HOPS;
	else if (st == 0 && wrote)
		id = RP_QUEUED;
	else if (st == EXIT_PERM) {
		id = RP_QUEUE_PERM;
		pass = reason_code(reason, '5');
	} else {
		id = RP_QUEUE_TEMP;
		pass = reason_code(reason, '4');
	}
	if (id == RP_QUEUED)
		reply_text(s, replies[id].code, replies[id].text, qid);
	else if (pass != NULL)
		reply_text(s, replies[id].code, "", pass);
	else
		reply(s, id);
	log_info("qid=%s client=%s from=<%s> nrcpt=%zu size=%llu proto=%s "
	    "queue_status=%d reply=%d", qid, s->addr, s->t.from, s->t.nrcpt,
	    size, proto_name(s), st, replies[id].code);
}

/* DATA has its own limit, within the session's. */
static void
data_deadline(struct session *s, int on)
{
	long long end;

	s->in.deadline = s->session_end;
	if (!on || s->data_ms == 0)
		return;
	end = clock_now_ms() + s->data_ms;
	if (s->in.deadline == 0 || end < s->in.deadline)
		s->in.deadline = end;
}

static void
cmd_data(struct session *s, const char *arg)
{
	char qid[QID_LEN + 1];
	unsigned long long size;
	unsigned bad;
	int wrote;

	if (*arg != '\0') {
		reply(s, RP_NO_ARGS);
		return;
	}
	if (!s->have_mail) {
		reply(s, RP_NEED_MAIL);
		return;
	}
	if (s->t.nrcpt == 0) {
		reply(s, RP_NEED_RCPT);
		return;
	}
	qid_make(qid);
	if (set_xforward(s, qid) < 0) {
		reply(s, RP_LOCAL_ERROR);
		txn_reset(s);
		return;
	}
	if (queue_start(s) < 0) {
		log_warn("qid=%s unable to start the queue program: %s", qid,
		    strerror(errno));
		reply(s, RP_QUEUE_START);
		txn_reset(s);
		return;
	}
	if (stream_write_head(&s->q.w, &s->t) < 0 || write_received(s, qid) < 0)
		queue_close_input(s);
	reply(s, RP_DATA);
	flush(s);
	data_deadline(s, 1);
	bad = data_read(s, &size);
	data_deadline(s, 0);
	wrote = 0;
	if (!bad && s->q.in >= 0 && stream_write_end(&s->q.w) == 0 &&
	    stream_flush(&s->q.w) == 0)
		wrote = 1;
	queue_close_input(s);
	data_answer(s, bad, wrote, qid, size);
	txn_reset(s);
}

/* ---- the session ------------------------------------------------------ */

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

/*
 * ETRN (RFC 1985): start the queue for a destination that table smtp_dest
 * marks queue_first=yes, by leaving a flush request for sluice-runq
 * (sluice-runq -D).  Any client may ask: the mail goes to the
 * destination's own route, never to the client.  Other names get 459, so
 * that a stranger cannot make the runner scan the queue at will.
 */
static void
cmd_etrn(struct session *s, char *arg)
{
	char name[QDEST_NAME_MAX + 2], path[4096], err[256];
	char *av[] = { path, "-D", name, NULL };
	struct dest_opts o = { 0, 0, -1, -1 };
	pid_t pid;
	int fd;

	if (s->helo == HELO_NONE) {
		reply(s, RP_NEED_HELO);
		return;
	}
	if (*arg == '\0' || *arg == '#' || strlen(arg) >= sizeof name ||
	    (strcpy(name, arg), qdest_check(name) < 0)) {
		reply(s, RP_ETRN_SYNTAX);
		return;
	}
	/*
	 * A relay client (one we trust to send anywhere) may flush any
	 * destination; anyone else only a destination we hold mail for on
	 * purpose (smtp_dest queue_first=yes, RFC 1985), so that strangers
	 * cannot make the runner rescan the queue at will.
	 */
	if (!s->relay &&
	    (dest_lookup(name[0] == '@' ? name + 1 : name, &o, err, sizeof err) != 1 ||
	    o.queue_first != 1)) {
		log_info("client=%s etrn=%s status=refused", s->addr, name);
		reply_text(s, replies[RP_ETRN_DENIED].code,
		    replies[RP_ETRN_DENIED].text, name);
		return;
	}
	if (prog_path("sluice-runq", path, sizeof path) < 0 ||
	    (pid = fork()) < 0) {
		log_warn("client=%s etrn=%s unable to run sluice-runq: %s",
		    s->addr, name, strerror(errno));
		reply_text(s, replies[RP_ETRN_FAIL].code, replies[RP_ETRN_FAIL].text,
		    name);
		return;
	}
	if (pid == 0) {
		/* The client's socket is ours, not the runner's. */
		if ((fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) < 0 ||
		    dup2(fd, 1) < 0)
			_exit(EXIT_TEMP);
		if (fd > 2)
			close(fd);
		signal(SIGPIPE, SIG_DFL);
		execv(path, av);
		_exit(EXIT_TEMP);
	}
	if (prog_wait(pid) != 0) {
		log_info("client=%s etrn=%s status=failed", s->addr, name);
		reply_text(s, replies[RP_ETRN_FAIL].code, replies[RP_ETRN_FAIL].text,
		    name);
		return;
	}
	log_info("client=%s etrn=%s status=started", s->addr, name);
	reply_text(s, replies[RP_ETRN_OK].code, replies[RP_ETRN_OK].text, name);
}

static void
session_command(struct session *s, char *l, size_t n)
{
	char *arg;

	if (memchr(l, '\0', n) != NULL)
		reply(s, RP_BAD_CHAR);
	else if (verb_is(l, n, "EHLO", &arg))
		cmd_helo(s, arg, HELO_ESMTP);
	else if (verb_is(l, n, "HELO", &arg))
		cmd_helo(s, arg, HELO_SMTP);
	else if (verb_is(l, n, "MAIL", &arg))
		cmd_mail(s, arg);
	else if (verb_is(l, n, "RCPT", &arg))
		cmd_rcpt(s, arg);
	else if (verb_is(l, n, "DATA", &arg))
		cmd_data(s, arg);
	else if (verb_is(l, n, "RSET", &arg)) {
		if (*arg != '\0')
			reply(s, RP_NO_ARGS);
		else {
			txn_reset(s);
			reply(s, RP_OK);
		}
	} else if (verb_is(l, n, "NOOP", &arg))
		reply(s, RP_OK);
	else if (verb_is(l, n, "HELP", &arg))
		reply(s, RP_HELP);
	else if (verb_is(l, n, "VRFY", &arg))
		cmd_vrfy(s, arg);
	else if (verb_is(l, n, "ETRN", &arg))
		cmd_etrn(s, arg);
	else if (verb_is(l, n, "QUIT", &arg)) {
		if (*arg != '\0')
			reply(s, RP_NO_ARGS);
		else {
			reply(s, RP_BYE);
			session_exit(s, EXIT_OK);
		}
	} else if (verb_is(l, n, "EXPN", &arg) || verb_is(l, n, "STARTTLS", &arg) ||
	    verb_is(l, n, "AUTH", &arg) || verb_is(l, n, "BDAT", &arg) ||
	    verb_is(l, n, "TURN", &arg))
		reply(s, RP_NOT_IMPL);
	else
		reply(s, RP_UNKNOWN);
}

int
main(int argc, char **argv)
{
	static struct session sess;
	struct session *s = &sess;
	struct timeval tv;
	const char *verdict;
	char *l;
	size_t n;

	usage_none(argc, argv, "usage: sluice-smtpd (no arguments: the client is "
	    "standard input and output)\nSee sluice-smtpd(8).\n");
	log_init(argv[0]);
	/* Write errors are seen as EPIPE; the queue program gets SIGPIPE back. */
	signal(SIGPIPE, SIG_IGN);
	/* An inherited SIGCHLD=SIG_IGN would reap the queue program unseen. */
	signal(SIGCHLD, SIG_DFL);
	session_init(s);
	client_identify(s);
	/* A client that stops reading cannot hold the server forever. */
	tv.tv_sec = s->in.timeout;
	tv.tv_usec = 0;
	(void)setsockopt(1, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (s->session_ms)
		s->in.deadline = s->session_end = clock_now_ms() + s->session_ms;
	verdict = getenv("RELAYCLIENT") ? "relay" : access_lookup(s->addr);
	if (verdict == NULL || strcmp(verdict, "relay") != 0)
		client_slot(s);
	if (verdict != NULL && strcmp(verdict, "reject") == 0)
		session_refuse(s);
	s->relay = verdict != NULL;
	wbuf_printf(&s->out, "220 %s ESMTP sluice\r\n", s->hostname);
	for (;;)
		if (read_cmd(s, &l, &n))
			session_command(s, l, n);
}
