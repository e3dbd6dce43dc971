#ifndef LISTEN_H
#define LISTEN_H

/*
 * A listener of a program's own, for a server that would otherwise run
 * under tcpserver: it binds, accepts, and serves each connection in a
 * child of its own, forked but not executed, so that a connection costs a
 * fork instead of tcpserver's fork and the server's exec.  The child sees
 * what tcpserver would have given it: the connection as standard input and
 * output, and PROTO, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP, TCPREMOTEPORT
 * in the environment (never TCPREMOTEHOST, TCPREMOTEINFO or RELAYCLIENT:
 * the listener removes those it inherited, so that no client is given
 * what its tcprules would have).
 */

#define LISTEN_MAX 8		/* addresses one listener binds */

struct listen_addr {
	const char *arg;	/* as given: "127.0.0.1:25", "[::]:25", "0.0.0.0:smtp" */
	char host[64];		/* the address, without brackets */
	const char *port;	/* the port, in arg */
};

struct listen_conf {
	struct listen_addr addr[LISTEN_MAX];
	unsigned naddr;
	unsigned sessions;	/* children at once; at the limit, clients wait in the backlog */
	int backlog;
	const char *user;	/* become this user after binding, or NULL */
};

/*
 * Parse "ADDRESS:PORT" (an IPv6 address in brackets) into c->addr: 0, or
 * -1 with why set to what is wrong.  The address is checked when bound.
 */
int listen_add(struct listen_conf *c, const char *arg, const char **why);

/*
 * Bind every address (exit 111 naming the one that fails), become
 * c->user, then accept for good.  Returns only in a child, with the
 * connection on 0 and 1 and the signals as they were; the listener itself
 * exits 0 on SIGTERM or SIGINT, leaving the sessions in progress to end
 * by themselves.
 */
void listen_serve(const struct listen_conf *c);

#endif
