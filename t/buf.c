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

/*
 * Buffers of the default size: the first two come from a static pool
 * (lib/buf.c), the rest from malloc.  Three writers and a reader at once
 * get four distinct buffers, each carries its own data, and a buffer
 * freed is taken again.
 */
static void
pool(void)
{
	struct wbuf w[3];
	struct rbuf r;
	char *seen[4], path[] = "/tmp/sluice-buf.XXXXXX", got[16];
	const char *l;
	size_t n, i, j;
	int fd[3], distinct = 1, data = 1;

	for (i = 0; i < 3; i++) {
		if ((fd[i] = mkstemp(path)) < 0)
			return (void)ok(0, "mkstemp");
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		if (wbuf_init(&w[i], fd[i], 0) < 0)
			return (void)ok(0, "wbuf_init");
		seen[i] = w[i].buf;
	}
	if (rbuf_init(&r, fd[0], 0) < 0)
		return (void)ok(0, "rbuf_init");
	seen[3] = r.buf;
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			distinct &= seen[i] != seen[j];
	ok(distinct, "three writers and a reader of the default size: four buffers");
	for (i = 0; i < 3; i++) {
		snprintf(got, sizeof got, "w%zu\n", i);
		data &= wbuf_puts(&w[i], got) == 0 && wbuf_flush(&w[i]) == 0;
	}
	for (i = 0; i < 3; i++) {
		struct rbuf rr;

		if (lseek(fd[i], 0, SEEK_SET) < 0 || rbuf_init(&rr, fd[i], 64) < 0)
			return (void)ok(0, "lseek");
		snprintf(got, sizeof got, "w%zu", i);
		data &= rbuf_getline(&rr, &l, &n, 100) == 1 && n == 3 &&
		    memcmp(l, got, 2) == 0;
		rbuf_free(&rr);
	}
	ok(data, "each writer wrote its own data");
	wbuf_free(&w[1]);
	ok(wbuf_init(&w[1], fd[1], 0) == 0 && (BUF_POOL == 0 || w[1].buf == seen[1]),
	    "a buffer freed is taken again (from the pool, when there is one)");
	for (i = 0; i < 3; i++) {
		wbuf_free(&w[i]);
		close(fd[i]);
	}
	rbuf_free(&r);
}

int
main(void)
{
	pool();
	transport();
	unread();
	deadlines();
	return tap_done();
}
