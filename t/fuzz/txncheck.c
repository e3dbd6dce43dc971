/* The stream's round trip: see txncheck.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "txncheck.h"

void
lines_add(struct lines *b, const char *s, size_t n)
{
	size_t need = b->len + sizeof n + n;

	if (need > b->size) {
		size_t sz = need * 2;
		char *p = realloc(b->buf, sz);

		if (p == NULL)
			fuzz_fail("out of memory");
		b->buf = p;
		b->size = sz;
	}
	memcpy(b->buf + b->len, &n, sizeof n);
	memcpy(b->buf + b->len + sizeof n, s, n);
	b->len = need;
}

void
lines_free(struct lines *b)
{
	free(b->buf);
	memset(b, 0, sizeof *b);
}

static int
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
x_eq(const struct xparam *a, size_t na, const struct xparam *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].val, b[i].val))
			return 0;
	return 1;
}

static void
same_envelope(const struct txn *a, const struct txn *b)
{
	size_t i;

	for (i = 0; i < XF_COUNT; i++)
		if (!str_eq(a->xf[i], b->xf[i]))
			fuzz_fail("round trip: XFORWARD differs");
	if (!str_eq(a->from, b->from) || a->has_size != b->has_size ||
	    a->size != b->size || a->body != b->body || a->smtputf8 != b->smtputf8 ||
	    a->ret != b->ret || !str_eq(a->envid, b->envid) ||
	    !str_eq(a->auth, b->auth) || !x_eq(a->x, a->nx, b->x, b->nx))
		fuzz_fail("round trip: MAIL differs");
	if (a->nrcpt != b->nrcpt)
		fuzz_fail("round trip: recipient count differs");
	for (i = 0; i < a->nrcpt; i++) {
		const struct rcpt *p = &a->rcpt[i], *q = &b->rcpt[i];

		if (!str_eq(p->addr, q->addr) || p->notify != q->notify ||
		    !str_eq(p->orcpt, q->orcpt) || !x_eq(p->x, p->nx, q->x, q->nx))
			fuzz_fail("round trip: RCPT differs");
	}
}

static void
same_body(struct stream_reader *r, const struct lines *body)
{
	size_t off = 0, n, want;
	const char *l;
	int rc;

	while ((rc = stream_read_line(r, &l, &n)) == 1) {
		if (off == body->len)
			fuzz_fail("round trip: more body lines");
		memcpy(&want, body->buf + off, sizeof want);
		if (want != n || memcmp(body->buf + off + sizeof want, l, n) != 0)
			fuzz_fail("round trip: a body line differs");
		off += sizeof want + want;
	}
	if (rc < 0 || off != body->len)
		fuzz_fail("round trip: the body does not read back");
}

void
txncheck_roundtrip(const struct txn *t, const struct lines *body)
{
	struct stream_writer w;
	struct stream_reader r;
	struct txn u;
	size_t off = 0, n;
	int fd = memfd_create("roundtrip", MFD_CLOEXEC), flags;

	if (fd < 0)
		fuzz_fail("memfd");
	/* CRLF or LF: both forms are canonical for some reader. */
	for (flags = 0; flags <= STREAM_W_CRLF; flags += STREAM_W_CRLF) {
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
		    stream_writer_init(&w, fd, (unsigned)flags) < 0)
			fuzz_fail("writer");
		if (stream_write_head(&w, t) < 0)
			fuzz_fail("round trip: the writer refuses an envelope the reader took");
		for (off = 0; off < body->len; off += sizeof n + n) {
			memcpy(&n, body->buf + off, sizeof n);
			if (stream_write_line(&w, body->buf + off + sizeof n, n) < 0)
				fuzz_fail("round trip: the writer refuses a body line");
		}
		if (stream_write_end(&w) < 0 || stream_flush(&w) < 0)
			fuzz_fail("writer");
		stream_writer_free(&w);
		if (lseek(fd, 0, SEEK_SET) < 0 || stream_reader_init(&r, fd, "rt") < 0)
			fuzz_fail("reader");
		txn_init(&u);
		if (stream_read_txn(&r, &u) != 1)
			fuzz_fail(r.err);
		same_envelope(t, &u);
		same_body(&r, body);
		if (stream_read_txn(&r, &u) != 0)
			fuzz_fail("round trip: more than one transaction");
		txn_free(&u);
		stream_reader_free(&r);
	}
	close(fd);
}
