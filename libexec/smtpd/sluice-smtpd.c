/*
 * sluice-smtpd: the RFC 5321 SMTP server.  It serves one session on
 * standard input and output (tcpserver, inetd, or a plain pipe for tests),
 * checks each recipient at RCPT time, and writes every accepted message
 * into the queue (lib/enqueue.c) or hands it to $SLUICE_QUEUE as a
 * one-transaction stream, answering the client from the hand-off or that
 * program's exit status.  See sluice-smtpd(8); smtpd.h lists the modules.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "priv.h"
#include "smtpd.h"
#include "usage.h"

/* A client that stops reading cannot hold the server forever. */
static void
send_timeout(unsigned seconds)
{
	struct timeval tv;

	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	(void)setsockopt(1, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int
main(int argc, char **argv)
{
	/* Static: the session holds a table value of TABLE_VAL_MAX octets. */
	static struct session sess;
	struct session *s = &sess;

	usage_none(argc, argv, "usage: sluice-smtpd (no arguments: the client is "
	    "standard input and output)\nSee sluice-smtpd(8).\n");
	log_init(argv[0]);
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
	smtpd_access_greet(s);
	smtpd_session_serve(s);
}
