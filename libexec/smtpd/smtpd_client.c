/*
 * Who is talking: the client's address, port and name, for the policy,
 * the log and the Received: field.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "smtpd.h"
#include "sock.h"

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
 * From tcpserver's TCPREMOTEIP and TCPREMOTEPORT.  An address we cannot
 * parse, or cannot keep whole, is nobody's: never the local host, whose
 * access entry may allow relaying.
 */
static void
client_from_env(struct session *s, const char *ip, const char *port)
{
	struct in6_addr a6;
	struct in_addr a4;
	int n;

	if (inet_pton(AF_INET, ip, &a4) == 1 || inet_pton(AF_INET6, ip, &a6) == 1) {
		n = snprintf(s->addr, sizeof s->addr, "%s", ip);
		if (n < 0 || (size_t)n >= sizeof s->addr)
			strcpy(s->addr, "unknown");
	} else
		strcpy(s->addr, "unknown");
	if (port != NULL && strlen(port) < sizeof s->port)
		strcpy(s->port, port);
}

/* From the socket on standard input (inetd), or nobody on a pipe. */
static void
client_from_socket(struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	unsigned port;

	if (getpeername(0, (struct sockaddr *)&ss, &sl) < 0) {
		if (errno != ENOTSOCK)
			strcpy(s->addr, "unknown");
		return;
	}
	if (sock_addr_text(&ss, s->addr, sizeof s->addr, &port) < 0) {
		strcpy(s->addr, "unknown");	/* a UNIX socket, say */
		return;
	}
	/* Five digits at most: port always fits. */
	snprintf(s->port, sizeof s->port, "%u", port);
}

/*
 * UCSPI variables from tcpserver, else the socket's peer (inetd), else
 * nobody: a session on a pipe counts as the local host.
 */
void
smtpd_client_identify(struct session *s)
{
	const char *ip = getenv("TCPREMOTEIP"), *host = getenv("TCPREMOTEHOST");

	strcpy(s->addr, "127.0.0.1");
	if (ip != NULL && *ip != '\0')
		client_from_env(s, ip, getenv("TCPREMOTEPORT"));
	else
		client_from_socket(s);
	/* An IPv4 client on an IPv6 socket is an IPv4 client. */
	if (strncasecmp(s->addr, "::ffff:", 7) == 0 && strchr(s->addr + 7, '.'))
		memmove(s->addr, s->addr + 7, strlen(s->addr + 7) + 1);
	/* name_valid keeps it under 256 octets: it fits. */
	if (host != NULL && name_valid(host))
		snprintf(s->name, sizeof s->name, "%s", host);
}
