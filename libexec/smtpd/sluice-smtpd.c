/*
 * sluice-smtpd: the RFC 5321 SMTP server.  It serves one session on
 * standard input and output (tcpserver, inetd, or a plain pipe for tests),
 * checks each recipient at RCPT time, and writes every accepted message
 * into the queue (lib/enqueue.c) or hands it to $SLUICE_QUEUE as a
 * one-transaction stream, answering the client from the hand-off or that
 * program's exit status.  See sluice-smtpd(8); smtpd.h lists the modules.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "listen.h"
#include "log.h"
#include "priv.h"
#include "smtpd.h"
#include "usage.h"

static const char usage[] =
    "usage: sluice-smtpd                 (one session: the client is standard input and output)\n"
    "       sluice-smtpd -l ADDRESS:PORT [-l ...] [-c SESSIONS] [-b BACKLOG] [-u USER]\n"
    "                                    (its own listener: a session per connection)\n"
    "See sluice-smtpd(8).\n";

/* A count in 1..max, or usage. */
static unsigned
count_arg(int opt, const char *arg, unsigned max)
{
	char *end, why[64];
	unsigned long n;

	n = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end != '\0' || n < 1 || n > max) {
		snprintf(why, sizeof why, "-%c %.16s: not a number from 1 to %u", opt, arg, max);
		usage_die(usage, why);
	}
	return (unsigned)n;
}

/*
 * The options of the listener (lib/listen.h).  Without -l, none: the
 * session is on standard input and output, as under tcpserver or inetd.
 */
static void
options(int argc, char **argv, struct listen_conf *cp)
{
	struct listen_conf c = { .sessions = 100, .backlog = 100 };
	const char *why;
	int opt, other = 0;

	usage_help(argc, argv, usage);
	while ((opt = getopt(argc, argv, "l:c:b:u:")) != -1) {
		switch (opt) {
		case 'l':
			if (listen_add(&c, optarg, &why) < 0) {
				char msg[128];

				snprintf(msg, sizeof msg, "-l %.40s: %s", optarg, why);
				usage_die(usage, msg);
			}
			break;
		case 'c':
			c.sessions = count_arg(opt, optarg, 10000);
			other = 1;
			break;
		case 'b':
			c.backlog = (int)count_arg(opt, optarg, 65535);
			other = 1;
			break;
		case 'u':
			c.user = optarg;
			other = 1;
			break;
		default:
			usage_die(usage, NULL);
		}
	}
	if (optind < argc)
		usage_die(usage, "no arguments but options");
	if (other && c.naddr == 0)
		usage_die(usage, "-c, -b and -u are the listener's: -l ADDRESS:PORT is missing");
	*cp = c;
}

/* A client that stops reading cannot hold the server forever. */
static void
send_timeout(unsigned seconds)
{
	struct timeval tv;

	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	(void)setsockopt(1, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static struct session *starting;

/*
 * A death before the greeting (a table, config.cdb included, that cannot
 * be read; no memory; no descriptor): the client is told to come back
 * rather than left with a closed connection and no word.
 */
static void
unavailable(void)
{
	smtpd_reply(starting, RP_UNAVAILABLE);
	(void)wbuf_flush(&starting->out);
}

/* The session's process from here on: its buffers, and the hook above. */
static void
session_start(struct session *s)
{
	smtpd_session_io(s);
	starting = s;
	log_die_hook(unavailable);
}

int
main(int argc, char **argv)
{
	/* Static: the session holds a table value of TABLE_VAL_MAX octets. */
	static struct session sess;
	struct session *s = &sess;
	struct listen_conf lc;

	log_name(argv[0]);
	options(argc, argv, &lc);
	if (lc.naddr == 0)
		session_start(s);
	/* Reads config.cdb: a session that cannot is answered 421. */
	log_setup(LOG_ROLE_DAEMON);
	if (lc.naddr > 0) {
		listen_serve(&lc);	/* returns in each session's process */
		session_start(s);
	}
	priv_refuse_root();
	/* Write errors are seen as EPIPE; the queue program gets SIGPIPE back. */
	signal(SIGPIPE, SIG_IGN);
	/* An inherited SIGCHLD=SIG_IGN would reap the queue program unseen. */
	signal(SIGCHLD, SIG_DFL);
	smtpd_session_init(s);
	smtpd_client_identify(s);
	smtpd_access_init(s);
	send_timeout(s->in.timeout);
	if (s->session_ms)
		s->in.deadline = s->session_end = clock_now_ms() + s->session_ms;
	smtpd_access_connect(s);
	smtpd_limits_connect(s);
	/* Answered from here on: a refusal's dialogue, or the greeting. */
	log_die_hook(NULL);
	smtpd_access_greet(s);
	smtpd_session_serve(s);
}
