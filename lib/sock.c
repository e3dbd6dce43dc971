#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static void
set_timeouts(int fd, unsigned timeout)
{
	struct timeval tv = { .tv_sec = timeout };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int
connect_unix(const char *path, unsigned timeout, char *err, size_t esize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, esize, "socket path too long: %.100s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, esize, "socket: %s", strerror(errno));
		return -1;
	}
	set_timeouts(fd, timeout);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		snprintf(err, esize, "connect %.200s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
sock_split_hostport(const char *addr, char *host, size_t hsize, const char **port)
{
	const char *c;
	size_t hl;

	if (addr[0] == '[') {
		if ((c = strchr(addr, ']')) == NULL || c[1] != ':')
			return -1;
		hl = (size_t)(c - addr - 1);
		addr++;
		c++;
	} else {
		if ((c = strrchr(addr, ':')) == NULL)
			return -1;
		hl = (size_t)(c - addr);
	}
	if (hl == 0 || hl >= hsize || c[1] == '\0')
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	*port = c + 1;
	return 0;
}

static int
connect_tcp(const char *addr, unsigned timeout, char *err, size_t esize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *res, *ai;
	char host[256];
	const char *port;
	int fd = -1, rc, e = 0;

	if (sock_split_hostport(addr, host, sizeof host, &port) < 0) {
		snprintf(err, esize, "bad address (host:port, [v6]:port or /path): %.200s", addr);
		return -1;
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, esize, "%.200s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			continue;
		set_timeouts(fd, timeout);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, esize, "connect %.200s: %s", addr, strerror(e ? e : ECONNREFUSED));
	return fd;
}

int
sock_connect(const char *addr, unsigned timeout, char *err, size_t esize)
{
	if (strncmp(addr, "unix:", 5) == 0)
		return connect_unix(addr + 5, timeout, err, esize);
	if (addr[0] == '/')
		return connect_unix(addr, timeout, err, esize);
	return connect_tcp(addr, timeout, err, esize);
}

int
sock_addr_text(const struct sockaddr_storage *ss, char *addr, size_t size,
    unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		*port = ntohs(a->sin_port);
		return inet_ntop(AF_INET, &a->sin_addr, addr, (socklen_t)size) ? 0 : -1;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		*port = ntohs(a->sin6_port);
		return inet_ntop(AF_INET6, &a->sin6_addr, addr, (socklen_t)size) ? 0 : -1;
	}
	return -1;
}
