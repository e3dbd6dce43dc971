/*
 * sluice-tlsd: the TLS side of sluice-smtpd, in the UCSPI-TLS manner of
 * ucspi-ssl's sslserver and s6-networking's s6-tlsd.  It alone links
 * OpenSSL, so that a session that does not ask for TLS never pays for
 * loading it.  See sluice-tlsd(8).
 *
 *   sluice-tlsd -s            STARTTLS: started by sluice-smtpd after its
 *                             "220 Ready to start TLS"; the client on 0
 *                             and 1, sluice-smtpd's end of a socketpair
 *                             on 3, which gets one line of facts after
 *                             the handshake, then the plaintext
 *   sluice-tlsd prog [arg...] implicit TLS (port 465): the handshake on 0
 *                             and 1 first, then prog with 0 and 1 the
 *                             plaintext and the facts in its environment
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "prog.h"
#include "sock.h"
#include "tls.h"
#include "usage.h"

#define PLAIN_FD 3	/* sluice-smtpd's end in -s mode */

static const char *client = "unknown";

/*
 * The server handshake on standard input and output with the configured
 * certificate and key; every failure is the end of the session.
 */
static struct tls *
handshake(int timeout_ms)
{
	const char *cert = conf_get("smtpd_tls_cert", "");
	const char *key = conf_get("smtpd_tls_key", "");
	struct tls_server *sv;
	struct tls *t;
	char err[512];
	int one = 1;

	if (*cert == '\0')
		die(EXIT_TEMP, "smtpd_tls_cert is not set: no certificate for TLS");
	/*
	 * Each reply is one TLS record, written whole: Nagle's algorithm
	 * would only hold it back until the client's delayed ACK (40 ms).
	 */
	(void)setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	sv = tls_server_new(cert, *key ? key : cert,
	    conf_get("smtpd_tls_ciphers", ""), err, sizeof err);
	if (sv == NULL)
		die(EXIT_TEMP, "%s", err);
	t = tls_accept(sv, 0, 1, timeout_ms, err, sizeof err);
	if (t == NULL) {
		log_info("client=%s event=tls_failed error=\"%s\"", client, err);
		exit(EXIT_TEMP);
	}
	/*
	 * After STARTTLS the server has nothing to say when the client's
	 * Finished arrives (no session tickets): acknowledge it now, or the
	 * client's next command waits in its Nagle queue for our delayed
	 * ACK, 40 ms per session.
	 */
	(void)setsockopt(0, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	return t;
}

/*
 * Copy between the client (TLS) and the server (plain, on p) until one
 * side ends.  SSL_read is tried only when the client's socket is
 * readable or OpenSSL holds decrypted data, and gives up at once when a
 * record is incomplete, so a reply never waits behind a partial record.
 * Returns 1 when the server ended, 0 when the client did, -1 on error.
 */
static int
relay(struct tls *t, int p, int timeout_ms)
{
	struct pollfd pf[2] = { { .fd = 0, .events = POLLIN },
	    { .fd = p, .events = POLLIN } };
	char buf[16384];
	ssize_t n;

	for (;;) {
		pf[0].revents = pf[1].revents = 0;
		if (tls_pending(t) == 0 && poll(pf, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (tls_pending(t) > 0 || pf[0].revents) {
			n = tls_read(t, buf, sizeof buf, 0);
			if (n > 0 && write_all(p, buf, (size_t)n) < 0)
				return -1;
			if (n == 0 || (n < 0 && errno != ETIMEDOUT))
				return 0;
		}
		if (pf[1].revents) {
			n = read(p, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n == 0 ? 1 : -1;
			if (tls_write(t, buf, (size_t)n, timeout_ms) < 0)
				return -1;
		}
	}
}

/* Under inetd there is no TCPREMOTEIP: the program gets one all the same. */
static void
set_remote(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char a[INET6_ADDRSTRLEN], port[8];
	unsigned pn;

	if (getenv("TCPREMOTEIP") != NULL ||
	    getpeername(0, (struct sockaddr *)&ss, &sl) < 0 ||
	    sock_addr_text(&ss, a, sizeof a, &pn) < 0)
		return;
	snprintf(port, sizeof port, "%u", pn);
	setenv("TCPREMOTEIP", a, 1);
	setenv("TCPREMOTEPORT", port, 1);
}

static void
set_facts(struct tls *t)
{
	const char *proto, *cipher;
	char bits[16];
	int b;

	tls_facts(t, &proto, &cipher, &b);
	snprintf(bits, sizeof bits, "%d", b);
	if (setenv("SSL_PROTOCOL", proto, 1) < 0 || setenv("SSL_CIPHER", cipher, 1) < 0 ||
	    setenv("SSL_CIPHER_USEKEYSIZE", bits, 1) < 0)
		die_nomem();
}

/* Implicit TLS: the handshake, then prog on the plaintext. */
static int
implicit(char **argv, int timeout_ms)
{
	struct tls *t;
	int sp[2], rc, st;
	pid_t pid;

	set_remote();
	if ((client = getenv("TCPREMOTEIP")) == NULL)
		client = "unknown";
	t = handshake(timeout_ms);
	set_facts(t);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		die_sys("socketpair");
	if ((pid = fork()) < 0)
		die_sys("fork");
	if (pid == 0) {
		if (dup2(sp[1], 0) < 0 || dup2(sp[1], 1) < 0)
			die_sys("dup2");
		close(sp[0]);
		close(sp[1]);
		signal(SIGPIPE, SIG_DFL);
		prog_exec(argv);
		die_sys("unable to run %s", argv[0]);
	}
	close(sp[1]);
	rc = relay(t, sp[0], timeout_ms);
	if (rc == 1)
		tls_close(t);
	close(sp[0]);
	st = prog_wait(pid);
	return rc < 0 && st == 0 ? EXIT_TEMP : st;
}

/* STARTTLS: sluice-smtpd waits on PLAIN_FD for the facts, then plaintext. */
static int
starttls(int timeout_ms)
{
	struct tls *t;
	const char *proto, *cipher;
	char line[256];
	int n, b, rc;

	if ((client = getenv("TCPREMOTEIP")) == NULL)
		client = "unknown";
	t = handshake(timeout_ms);
	tls_facts(t, &proto, &cipher, &b);
	n = snprintf(line, sizeof line, "TLS %s %s %d\n", proto, cipher, b);
	if (n < 0 || (size_t)n >= sizeof line || write_all(PLAIN_FD, line, (size_t)n) < 0)
		die(EXIT_TEMP, "unable to pass the TLS facts on");
	rc = relay(t, PLAIN_FD, timeout_ms);
	if (rc == 1)
		tls_close(t);
	return rc < 0 ? EXIT_TEMP : EXIT_OK;
}

int
main(int argc, char **argv)
{
	long long v;
	int timeout_ms;

	static const char usage_text[] =
	    "usage: sluice-tlsd -s\n"
	    "       sluice-tlsd [--] program [arg...]\n"
	    "See sluice-tlsd(8).\n";

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	/* The handshake and each write to the client: sluice-smtpd's idle limit. */
	v = conf_time("smtpd_timeout", 300);
	timeout_ms = (v < 1 || v > 86400 ? 300 : (int)v) * 1000;
	if (argc == 2 && strcmp(argv[1], "-s") == 0)
		return starttls(timeout_ms);
	if (argc >= 2 && argv[1][0] != '-')
		return implicit(argv + 1, timeout_ms);
	if (argc >= 3 && strcmp(argv[1], "--") == 0)
		return implicit(argv + 2, timeout_ms);
	usage_die(usage_text, NULL);
}
