/*
 * The listener of lib/listen.h.  One process: poll the bound sockets,
 * accept, fork; at the session limit it stops accepting (clients wait in
 * the backlog, as under tcpserver -c) until a child ends.  Signals are
 * blocked but inside ppoll and sigsuspend, so that a child's end or a
 * SIGTERM is never missed between a check and a wait.
 */
#include "listen.h"
#include "conf.h"
#include "log.h"
#include "priv.h"
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
listen_add(struct listen_conf *c, const char *arg, const char **why)
{
	struct listen_addr *a;

	if (c->naddr >= LISTEN_MAX)
		return *why = "too many addresses to listen on (at most 8)", -1;
	a = &c->addr[c->naddr];
	if (sock_split_hostport(arg, a->host, sizeof a->host, &a->port) < 0)
		return *why = "not ADDRESS:PORT (an IPv6 address in brackets: [::1]:25)", -1;
	if (arg[0] != '[' && strchr(a->host, ':') != NULL)
		return *why = "an IPv6 address goes in brackets: [::1]:25", -1;
	a->arg = arg;
	c->naddr++;
	return 0;
}

/* Bind one address: the socket, non-blocking, or exit (100: not one). */
static int
bind_one(const struct listen_addr *a, int backlog)
{
	struct addrinfo hints, *ai;
	int fd, on = 1, e;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if ((e = getaddrinfo(a->host, a->port, &hints, &ai)) != 0)
		die(EXIT_PERM, "listen on %s: %s", a->arg, gai_strerror(e));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_sys("listen on %s: socket", a->arg);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	/* [::]:25 beside 0.0.0.0:25: each family its own socket. */
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die_sys("listen on %s: bind", a->arg);
	if (listen(fd, backlog) < 0)
		die_sys("listen on %s: listen", a->arg);
	freeaddrinfo(ai);
	return fd;
}

/*
 * Nothing the listener was given beyond binding stays: a listener started
 * with the capability to bind port 25 (systemd's AmbientCapabilities)
 * keeps none, and neither do its sessions.
 */
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
static void
drop_caps(void)
{
	/* capset(2)'s own structures (linux/capability.h, version 3). */
	struct { uint32_t version; int pid; } h = { 0x20080522, 0 };
	struct { uint32_t effective, permitted, inheritable; } d[2];

	memset(d, 0, sizeof d);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) < 0)
		die_sys("unable to give up capabilities");
}

static void
become(const char *user)
{
	struct priv_user u;

	if (user != NULL) {
		if (priv_user(user, &u) < 0)
			die(errno == ENOENT ? EXIT_PERM : EXIT_TEMP, "-u %s: %s", user,
			    errno == ENOENT ? "no such user" : strerror(errno));
		if ((getuid() != u.uid || geteuid() != u.uid) && priv_drop(&u, (gid_t)-1) < 0)
			die_sys("unable to become %s", user);
	}
	drop_caps();
	if (user == NULL && !priv_root_allowed())
		die(EXIT_TEMP, "refusing to serve sessions as root: give -u USER, "
		    "the user they run as once the addresses are bound");
	priv_refuse_root();
}

/* TCPnameIP and TCPnamePORT, as tcpserver sets them. */
static void
put_env(const char *name, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN], p[8], n[16];
	unsigned port = 0;

	if (sock_addr_text(ss, a, sizeof a, &port) < 0)
		strcpy(a, "unknown");
	snprintf(p, sizeof p, "%u", port);
	snprintf(n, sizeof n, "TCP%sIP", name);
	if (setenv(n, a, 1) < 0)
		die_nomem();
	snprintf(n, sizeof n, "TCP%sPORT", name);
	if (setenv(n, p, 1) < 0)
		die_nomem();
}

/* The dispositions the listener was started with, for its sessions. */
static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE };
static struct sigaction started_with[sizeof handled / sizeof *handled];

/*
 * In the child: the connection on 0 and 1, tcpserver's variables (the
 * peer as accept saw it: a client gone meanwhile is still named), the
 * signals and the settings as a session started by tcpserver has them.
 */
static void
child(int c, const struct sockaddr_storage *peer, const int *fds, unsigned nfds,
    const sigset_t *old)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned i;

	for (i = 0; i < sizeof handled / sizeof *handled; i++)
		sigaction(handled[i], &started_with[i], NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
	/* As after an exec: the user may trace and read its own sessions. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* Read the settings afresh: the listener read config.cdb at its start. */
	conf_reset();
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (dup2(c, 0) < 0 || dup2(c, 1) < 0)
		die_sys("dup2");
	if (c > 1)
		close(c);
	if (setenv("PROTO", "TCP", 1) < 0)
		die_nomem();
	sl = sizeof ss;
	if (getsockname(0, (struct sockaddr *)&ss, &sl) == 0)
		put_env("LOCAL", &ss);
	put_env("REMOTE", peer);
}

static volatile sig_atomic_t stop;

/* SIGCHLD and SIGHUP only end the wait (each session reads the settings). */
static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		stop = sig;
}

/*
 * The signals still pending.  ppoll delivers a signal only when it waits:
 * one that returns at once, a listening socket always readable (an accept
 * failing for want of descriptors, a flood), restores the mask with the
 * signal left pending, so a SIGTERM would wait for a quiet moment forever.
 */
static void
take_pending(const sigset_t *set)
{
	struct timespec zero = { 0, 0 };
	int sig;

	while ((sig = sigtimedwait(set, NULL, &zero)) > 0)
		if (sig == SIGTERM || sig == SIGINT)
			stop = sig;
}

/*
 * The sessions running, by pid: only they count against the limit.  The
 * listener may reap others: a child it was started with, or, as pid 1 of
 * a container, an orphan (a session's sluice-tlsd).
 */
static pid_t *sessions;
static unsigned live;

static void
session_add(pid_t p)
{
	sessions[live++] = p;
}

/* Reap what ended; a session's end frees its place. */
static void
reap(void)
{
	unsigned i;
	pid_t p;
	int st;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < live && sessions[i] != p; i++)
			;
		if (i == live)
			continue;	/* not a session of ours */
		sessions[i] = sessions[--live];
		if (WIFSIGNALED(st))
			log_warn("session %ld ended by signal %d", (long)p, WTERMSIG(st));
	}
}

/* An error of accept that says nothing about the next connection. */
static void
accept_failed(void)
{
	static time_t said;
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
	    errno == ECONNABORTED || errno == EPROTO)
		return;
	/* Once a second at most: the socket stays readable meanwhile. */
	if (time(NULL) != said) {
		said = time(NULL);
		log_warn("accept: %s", strerror(errno));
	}
	/* Out of descriptors or memory: a pause, not a busy loop. */
	nanosleep(&ts, NULL);
}

/*
 * "listening on ADDRESS:PORT": the address bound, as the kernel has it,
 * so that a port 0 given shows the port chosen; the argument if unknown.
 */
static void
say_bound(int fd, const char *arg, unsigned max)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char a[INET6_ADDRSTRLEN];
	unsigned port;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    sock_addr_text(&ss, a, sizeof a, &port) == 0)
		log_info("listening on %s%s%s:%u (at most %u sessions)",
		    ss.ss_family == AF_INET6 ? "[" : "", a,
		    ss.ss_family == AF_INET6 ? "]" : "", port, max);
	else
		log_info("listening on %s (at most %u sessions)", arg, max);
}

void
listen_serve(const struct listen_conf *cf)
{
	/*
	 * What tcpserver and the programs of a chain (sluice-tlsd,
	 * sluice-dnsbl) set per client: none inherited may reach a session.
	 */
	static const char *const inherited[] = { "TCPREMOTEHOST", "TCPREMOTEINFO",
	    "TCPLOCALHOST", "RELAYCLIENT", "TCPREMOTEIP", "TCPREMOTEPORT",
	    "TCPLOCALIP", "TCPLOCALPORT", "SSL_PROTOCOL", "SSL_CIPHER",
	    "SSL_CIPHER_USEKEYSIZE", "SLUICE_DNSBL" };
	struct pollfd pfd[LISTEN_MAX];
	int fds[LISTEN_MAX];
	struct sigaction sa;
	sigset_t block, old;
	unsigned i, waits = 0;
	time_t said_full = 0;

	/* 0, 1 and 2 in use, so that no socket takes their places. */
	for (i = 0; i < 3; i++)
		if (fcntl((int)i, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			die_sys("/dev/null");
	if (getenv("RELAYCLIENT") != NULL)
		log_warn("RELAYCLIENT ignored: it is tcprules' word for one client; "
		    "mark relay clients in the access table");
	for (i = 0; i < sizeof inherited / sizeof *inherited; i++)
		unsetenv(inherited[i]);
	if ((sessions = calloc(cf->sessions, sizeof *sessions)) == NULL)
		die_nomem();
	for (i = 0; i < cf->naddr; i++) {
		fds[i] = bind_one(&cf->addr[i], cf->backlog);
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	become(cf->user);

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	for (i = 0; i < sizeof handled / sizeof *handled; i++)
		sigaction(handled[i], NULL, &started_with[i]);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < cf->naddr; i++)
		say_bound(fds[i], cf->addr[i].arg, cf->sessions);

	for (;;) {
		sigset_t wait = old;

		sigdelset(&wait, SIGCHLD);
		sigdelset(&wait, SIGTERM);
		sigdelset(&wait, SIGINT);
		sigdelset(&wait, SIGHUP);
		take_pending(&block);
		reap();
		if (stop) {
			log_info("stopping on signal %d; sessions in progress go on: %u", (int)stop, live);
			exit(EXIT_OK);
		}
		if (live >= cf->sessions) {
			/* Once a minute at most, with how often since. */
			waits++;
			if (time(NULL) - said_full >= 60) {
				log_warn("sessions at the limit (%u): further clients wait "
				    "(the limit reached %u times since the last warning)",
				    live, waits);
				said_full = time(NULL);
				waits = 0;
			}
			sigsuspend(&wait);
			continue;
		}
		if (ppoll(pfd, cf->naddr, NULL, &wait) < 0) {
			if (errno != EINTR)
				die_sys("poll");
			continue;
		}
		for (i = 0; i < cf->naddr && live < cf->sessions; i++) {
			struct sockaddr_storage peer;
			socklen_t pl = sizeof peer;
			pid_t pid;
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			if ((c = accept4(fds[i], (struct sockaddr *)&peer, &pl,
			    SOCK_CLOEXEC)) < 0) {
				accept_failed();
				continue;
			}
			if ((pid = fork()) == 0) {
				child(c, &peer, fds, cf->naddr, &old);
				return;
			}
			if (pid < 0)
				log_warn("fork: %s: connection closed", strerror(errno));
			else
				session_add(pid);
			close(c);
		}
	}
}
