/*
 * Unit tests (TAP) for lib/buf.c's transports and deadlines; run by
 * t/13-buf-transport-deadlines.t.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "tap.h"

/* A transport over a string, three octets a read, that notes deadlines. */
struct mem {
	const char *in;
	size_t off;
	char out[256];
	size_t outlen;
	long long deadline;
	int calls;
};

static ssize_t
mem_read(void *ctx, void *p, size_t n, long long deadline)
{
	struct mem *m = ctx;
	size_t left = strlen(m->in) - m->off;

	m->deadline = deadline;
	m->calls++;
	if (n > 3)
		n = 3;
	if (n > left)
		n = left;
	memcpy(p, m->in + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

static ssize_t
mem_write(void *ctx, const void *p, size_t n, long long deadline)
{
	struct mem *m = ctx;

	m->deadline = deadline;
	m->calls++;
	if (n > 2)
		n = 2;	/* short writes: the wbuf goes on */
	memcpy(m->out + m->outlen, p, n);
	m->outlen += n;
	return (ssize_t)n;
}

static void
transport(void)
{
	struct mem m = { .in = "220 hello\r\n250 ok\r\ntail" };
	struct buf_io io = { mem_read, mem_write, &m };
	struct rbuf r;
	struct wbuf w;
	char mem[64];
	const char *l;
	size_t n;
	long long t0 = clock_now_ms();

	rbuf_init_mem(&r, -1, mem, sizeof mem);
	r.io = &io;
	r.timeout = 5;
	ok(rbuf_getline(&r, &l, &n, sizeof mem) == 1 && n == 11 &&
	    memcmp(l, "220 hello\r\n", 11) == 0 && m.calls == 4,
	    "an rbuf reads its lines through the transport");
	ok(m.deadline >= t0 + 5000 && m.deadline <= clock_now_ms() + 5000,
	    "each read is given the idle timeout as a deadline");
	r.deadline = t0 + 1000;
	ok(rbuf_getline(&r, &l, &n, sizeof mem) == 1 && n == 8 &&
	    m.deadline == t0 + 1000, "or the rbuf's deadline when that is nearer");
	ok(rbuf_getline(&r, &l, &n, sizeof mem) == 1 && n == 4 &&
	    rbuf_getline(&r, &l, &n, sizeof mem) == 0,
	    "the last piece, then the end of the input");
	rbuf_free(&r);	/* of the caller's memory: free(3) would abort here */

	m.calls = 0;
	wbuf_init_mem(&w, -1, mem, 8);
	w.io = &io;
	w.deadline = t0 + 3000;
	ok(wbuf_puts(&w, "EHLO x\r\n") == 0 && m.calls == 0 &&
	    wbuf_puts(&w, "MAIL FROM:<>\r\n") == 0 && wbuf_flush(&w) == 0,
	    "a wbuf writes through the transport");
	ok(m.outlen == 22 && memcmp(m.out, "EHLO x\r\nMAIL FROM:<>\r\n", 22) == 0 &&
	    m.deadline == t0 + 3000, "all of it, short writes and all, by its deadline");
	wbuf_free(&w);
}

/* A piece handed out whole, its last octet given back. */
static void
unread(void)
{
	struct rbuf r;
	const char *l;
	size_t n;
	int p[2];

	if (pipe(p) < 0 || write(p[1], "abcdef\r\n", 8) != 8)
		exit(2);
	close(p[1]);
	rbuf_init(&r, p[0], 6);
	ok(rbuf_getline(&r, &l, &n, 6) == -2 && n == 6, "a piece without LF");
	rbuf_unread(&r, 1);
	ok(rbuf_getline(&r, &l, &n, 6) == 1 && n == 3 && memcmp(l, "f\r\n", 3) == 0,
	    "rbuf_unread: the next line starts with the octet given back");
	rbuf_free(&r);
	close(p[0]);
}

/* Plain descriptors that are non-blocking: waited for, within deadlines. */
static void
deadlines(void)
{
	struct rbuf r;
	struct wbuf w;
	const char *l;
	char chunk[4096];
	size_t n;
	long long t0;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_NONBLOCK) < 0)
		exit(2);
	rbuf_init(&r, p[0], 0);
	r.deadline = (t0 = clock_now_ms()) + 200;
	ok(rbuf_getline(&r, &l, &n, 100) == -1 && r.timedout && r.err == ETIMEDOUT &&
	    clock_now_ms() - t0 >= 190, "no input by the deadline: ETIMEDOUT");
	r.deadline = 0;
	r.timedout = r.err = 0;
	if ((pid = fork()) == 0) {
		usleep(100000);
		_exit(write(p[1], "late\n", 5) == 5 ? 0 : 1);
	}
	ok(rbuf_getline(&r, &l, &n, 100) == 1 && n == 5,
	    "without a deadline, a non-blocking descriptor is waited for");
	waitpid(pid, NULL, 0);
	rbuf_free(&r);

	memset(chunk, 'x', sizeof chunk);
	while (write(p[1], chunk, sizeof chunk) > 0)
		;
	wbuf_init(&w, p[1], 16);
	w.deadline = (t0 = clock_now_ms()) + 200;
	ok(wbuf_put(&w, chunk, 64) == -1 && errno == ETIMEDOUT &&
	    w.err == ETIMEDOUT && clock_now_ms() - t0 >= 190,
	    "a full pipe past the deadline: ETIMEDOUT, and it sticks");
	wbuf_free(&w);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	transport();
	unread();
	deadlines();
	return tap_done();
}
