#include "clamd.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "sock.h"

int
clamd_connect(struct clamd *c, const char *addr, unsigned timeout, char *err,
    size_t esize)
{
	c->len = 0;
	c->broken = 0;
	if ((c->fd = sock_connect(addr, timeout, err, esize)) < 0)
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
