#include "clamd.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"

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

/* "host:port" or "[v6]:port" into host and port; -1 if malformed. */
static int
split_hostport(const char *addr, char *host, size_t hsize, const char **port)
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

	if (split_hostport(addr, host, sizeof host, &port) < 0) {
		snprintf(err, esize, "bad clamd address: %.200s", addr);
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
clamd_connect(struct clamd *c, const char *addr, unsigned timeout, char *err,
    size_t esize)
{
	c->len = 0;
	c->broken = 0;
	if (strncmp(addr, "unix:", 5) == 0)
		c->fd = connect_unix(addr + 5, timeout, err, esize);
	else if (addr[0] == '/')
		c->fd = connect_unix(addr, timeout, err, esize);
	else
		c->fd = connect_tcp(addr, timeout, err, esize);
	if (c->fd < 0)
		return -1;
	/* The "z" form: the command and the replies end with a NUL. */
	if (write_all(c->fd, "zINSTREAM", 10) < 0) {
		snprintf(err, esize, "write to clamd %.200s: %s", addr, strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
send_chunk(struct clamd *c)
{
	uint32_t n = (uint32_t)c->len;

	c->buf[0] = (unsigned char)(n >> 24);
	c->buf[1] = (unsigned char)(n >> 16);
	c->buf[2] = (unsigned char)(n >> 8);
	c->buf[3] = (unsigned char)n;
	/* clamd closes early (StreamMaxLength): its reply still says why. */
	if (!c->broken && write_all(c->fd, c->buf, 4 + c->len) < 0)
		c->broken = 1;
	c->len = 0;
}

void
clamd_write(struct clamd *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t k = CLAMD_CHUNK - c->len;

		if (k > n)
			k = n;
		memcpy(c->buf + 4 + c->len, s, k);
		c->len += k;
		s += k;
		n -= k;
		if (c->len == CLAMD_CHUNK)
			send_chunk(c);
	}
}

int
clamd_finish(struct clamd *c, char *reply, size_t size)
{
	size_t len = 0;
	ssize_t r;

	if (c->len > 0)
		send_chunk(c);
	send_chunk(c);	/* the empty chunk ends the stream */
	while (len + 1 < size) {
		r = read(c->fd, reply + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (len == 0) {
				snprintf(reply, size, "no reply from clamd: %s",
				    r == 0 ? "connection closed" : strerror(errno));
				clamd_abort(c);
				return -1;
			}
			break;
		}
		len += (size_t)r;
		if (memchr(reply + len - (size_t)r, '\0', (size_t)r) != NULL)
			break;
	}
	reply[len] = '\0';
	len = strlen(reply);
	while (len > 0 && (reply[len - 1] == '\n' || reply[len - 1] == '\r'))
		reply[--len] = '\0';
	clamd_abort(c);
	return 0;
}

void
clamd_abort(struct clamd *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
