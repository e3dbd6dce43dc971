#include "buf.h"
#include "clock.h"
#include "copy.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The first two buffers of the default size come from here, not malloc:
 * a stage's reader and writer.  musl gives a buffer that size its own
 * mapping and unmaps it when it is freed, and an unmapping in a process
 * that ran on both CPUs interrupts the other one to flush its TLB: a
 * cost per stage per chain run, just before the exit that unmaps it all
 * anyway (doc/performance.md).  BUF_POOL (buf.h) says how many.
 */
#if BUF_POOL > 0
static char buf_pool[BUF_POOL][BUF_SIZE];
static unsigned char buf_pool_used[BUF_POOL];
#endif

static char *
buf_alloc(size_t size)
{
#if BUF_POOL > 0
	size_t i;

	if (size == BUF_SIZE)
		for (i = 0; i < BUF_POOL; i++)
			if (!buf_pool_used[i]) {
				buf_pool_used[i] = 1;
				return buf_pool[i];
			}
#endif
	return malloc(size);
}

static void
buf_release(char *p)
{
#if BUF_POOL > 0
	size_t i;

	for (i = 0; i < BUF_POOL; i++)
		if (p == buf_pool[i]) {
			buf_pool_used[i] = 0;
			return;
		}
#endif
	free(p);
}

int
rbuf_init(struct rbuf *r, int fd, size_t size)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->size = size ? size : BUF_SIZE;
	r->buf = buf_alloc(r->size);
	return r->buf ? 0 : -1;
}

void
rbuf_init_mem(struct rbuf *r, int fd, char *mem, size_t size)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->buf = mem;
	r->size = size;
	r->mem = 1;
}

void
rbuf_free(struct rbuf *r)
{
	if (!r->mem)
		buf_release(r->buf);
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

/* The deadline of one read through a transport: the nearer of the two. */
static long long
rbuf_io_deadline(const struct rbuf *r)
{
	long long idle;

	if (r->timeout == 0)
		return r->deadline;
	idle = clock_now_ms() + (long long)r->timeout * 1000;
	return r->deadline != 0 && r->deadline < idle ? r->deadline : idle;
}

/* One read(2) or transport read, waiting as the rbuf says; r->err set. */
static ssize_t
rbuf_sysread(struct rbuf *r, char *p, size_t n)
{
	ssize_t k;

	if (r->io != NULL) {
		if ((k = r->io->read(r->io->ctx, p, n, rbuf_io_deadline(r))) < 0) {
			r->err = errno;
			r->timedout = errno == ETIMEDOUT;
		} else
			r->total += (unsigned long long)k;
		return k;
	}
	for (;;) {
		if (rbuf_wait(r) < 0)
			return -1;
		if ((k = read(r->fd, p, n)) >= 0) {
			r->total += (unsigned long long)k;
			return k;
		}
		if (errno == EAGAIN && r->timeout == 0 && r->deadline == 0) {
			/* A non-blocking descriptor without a deadline: wait. */
			struct pollfd pf = { .fd = r->fd, .events = POLLIN };

			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				break;
			continue;
		}
		if (errno != EINTR && errno != EAGAIN)
			break;
	}
	r->err = errno;
	return -1;
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
	if ((n = rbuf_sysread(r, r->buf + r->end, r->size - r->end)) < 0)
		return -1;
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
			got = rbuf_sysread(r, dst, n);
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

void
rbuf_unread(struct rbuf *r, size_t n)
{
	r->start -= n <= r->start ? n : r->start;
}

int
wbuf_init(struct wbuf *w, int fd, size_t size)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->size = size ? size : BUF_SIZE;
	w->buf = buf_alloc(w->size);
	return w->buf ? 0 : -1;
}

void
wbuf_init_mem(struct wbuf *w, int fd, char *mem, size_t size)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->buf = mem;
	w->size = size;
	w->mem = 1;
}

void
wbuf_free(struct wbuf *w)
{
	if (!w->mem)
		buf_release(w->buf);
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

/* Wait until fd takes output, until the deadline (0: none); 0 or -1. */
static int
wbuf_wait(const struct wbuf *w)
{
	struct pollfd p = { .fd = w->fd, .events = POLLOUT };
	long long left = -1;
	int n;

	for (;;) {
		if (w->deadline != 0 && (left = w->deadline - clock_now_ms()) <= 0)
			return errno = ETIMEDOUT, -1;
		n = poll(&p, 1, left < 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* All of p through the transport, or to a descriptor that may block or not. */
static int
wbuf_write_all(struct wbuf *w, const char *p, size_t n)
{
	ssize_t k;

	if (w->io == NULL && w->deadline == 0)
		return write_all(w->fd, p, n);
	while (n > 0) {
		if (w->io != NULL)
			k = w->io->write(w->io->ctx, p, n, w->deadline);
		else
			k = write(w->fd, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (w->io != NULL || (errno != EAGAIN && errno != EINTR)) {
			return -1;
		} else if (errno == EAGAIN && wbuf_wait(w) < 0) {
			return -1;
		}
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
	if (w->len > 0 && wbuf_write_all(w, w->buf, w->len) < 0) {
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
			if (wbuf_write_all(w, p, n) < 0) {
				w->err = errno;
				return -1;
			}
			return 0;
		}
	}
	copy_octets(w->buf + w->len, p, n);
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
wbuf_putu(struct wbuf *w, unsigned long long v)
{
	char d[20], *p = d + sizeof d;

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	return wbuf_put(w, p, (size_t)(d + sizeof d - p));
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
