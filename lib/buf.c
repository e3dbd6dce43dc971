#include "buf.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
rbuf_init(struct rbuf *r, int fd, size_t size)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->size = size ? size : BUF_SIZE;
	r->buf = malloc(r->size);
	return r->buf ? 0 : -1;
}

void
rbuf_free(struct rbuf *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* How long one poll may wait, in ms: the idle timeout or the deadline. */
static int
rbuf_wait_ms(const struct rbuf *r)
{
	long long ms = r->timeout ? (long long)r->timeout * 1000 : -1, left;

	if (r->deadline == 0)
		return (int)ms;
	left = r->deadline - clock_now_ms();
	if (left < 0)
		left = 0;
	return (int)(ms < 0 || left < ms ? left : ms);
}

static int
rbuf_wait(struct rbuf *r)
{
	struct pollfd p;
	int n;

	if (r->timeout == 0 && r->deadline == 0)
		return 0;
	p.fd = r->fd;
	p.events = POLLIN;
	for (;;) {
		/* Past the deadline even input that is there is not read. */
		if (r->deadline != 0 && clock_now_ms() >= r->deadline) {
			r->timedout = 1;
			r->err = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, rbuf_wait_ms(r));
		if (n > 0)
			return 0;
		if (n == 0) {
			r->timedout = 1;
			r->err = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR) {
			r->err = errno;
			return -1;
		}
	}
}

/* Read more input after the valid bytes; returns bytes read, 0 EOF, -1. */
static ssize_t
rbuf_fill(struct rbuf *r)
{
	ssize_t n;

	if (r->start > 0 && (r->start == r->end || r->end == r->size)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->size)
		return -2;
	if (rbuf_wait(r) < 0)
		return -1;
	do
		n = read(r->fd, r->buf + r->end, r->size - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err = errno;
		return -1;
	}
	if (n == 0)
		r->eof = 1;
	r->end += (size_t)n;
	return n;
}

int
rbuf_getline(struct rbuf *r, const char **line, size_t *len, size_t max)
{
	size_t scanned = 0;
	char *nl;
	ssize_t n;

	if (max > r->size)
		max = r->size;
	for (;;) {
		size_t avail = r->end - r->start;
		size_t lim = avail < max ? avail : max;

		nl = memchr(r->buf + r->start + scanned, '\n', lim - scanned);
		if (nl != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line) + 1;
			r->start += *len;
			return 1;
		}
		scanned = lim;
		if (avail >= max) {
			*line = r->buf + r->start;
			*len = max;
			r->start += max;
			return -2;
		}
		if (r->eof) {
			if (avail == 0)
				return 0;
			*line = r->buf + r->start;
			*len = avail;
			r->start += avail;
			return 1;
		}
		n = rbuf_fill(r);
		if (n == -1)
			return -1;
		/* rbuf_fill may have moved the data to the front. */
	}
}

ssize_t
rbuf_read(struct rbuf *r, char *dst, size_t n)
{
	size_t avail = r->end - r->start;
	ssize_t got;

	if (avail == 0) {
		if (r->eof)
			return 0;
		if (n >= r->size) {
			if (rbuf_wait(r) < 0)
				return -1;
			do
				got = read(r->fd, dst, n);
			while (got < 0 && errno == EINTR);
			if (got < 0)
				r->err = errno;
			if (got == 0)
				r->eof = 1;
			return got;
		}
		got = rbuf_fill(r);
		if (got < 0)
			return -1;
		avail = r->end - r->start;
		if (avail == 0)
			return 0;
	}
	if (n > avail)
		n = avail;
	memcpy(dst, r->buf + r->start, n);
	r->start += n;
	return (ssize_t)n;
}

size_t
rbuf_pending(const struct rbuf *r)
{
	return r->end - r->start;
}

int
wbuf_init(struct wbuf *w, int fd, size_t size)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->size = size ? size : BUF_SIZE;
	w->buf = malloc(w->size);
	return w->buf ? 0 : -1;
}

void
wbuf_free(struct wbuf *w)
{
	free(w->buf);
	w->buf = NULL;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t k;

	while (n > 0) {
		k = write(fd, s, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

int
wbuf_flush(struct wbuf *w)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	if (w->len > 0 && write_all(w->fd, w->buf, w->len) < 0) {
		w->err = errno;
		return -1;
	}
	w->len = 0;
	return 0;
}

int
wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	w->total += n;
	if (n > w->size - w->len) {
		if (wbuf_flush(w) < 0)
			return -1;
		if (n >= w->size) {
			if (write_all(w->fd, p, n) < 0) {
				w->err = errno;
				return -1;
			}
			return 0;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

int
wbuf_puts(struct wbuf *w, const char *s)
{
	return wbuf_put(w, s, strlen(s));
}

int
wbuf_putc(struct wbuf *w, char c)
{
	if (w->len < w->size && !w->err) {
		w->buf[w->len++] = c;
		w->total++;
		return 0;
	}
	return wbuf_put(w, &c, 1);
}

int
wbuf_printf(struct wbuf *w, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = EOVERFLOW;
		return -1;
	}
	return wbuf_put(w, tmp, (size_t)n);
}
