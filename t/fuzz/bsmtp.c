/*
 * Fuzz target: the BSMTP tunnel decoder (libexec/bsmtp-decode/): the
 * header of a tunnel message (head_read), its body out of the transfer
 * encoding with the MAC (unwrap_body), and the batch read strictly
 * (batch_read), in the order sluice-bsmtp-decode runs them.  The first
 * octet picks a plain batch (-b) or a tunnel message, and whether the
 * sender has a secret; the sender may relay (the tables are not read).
 *
 * refuse_input() ends the program in sluice-bsmtp-decode; here it frees
 * what the decoder holds at that instant (its line buffers, header and
 * envelope, known through the linker's --wrap of their init functions:
 * the Makefile's FUZZ_LDFLAGS_bsmtp) and jumps back to the target, so that
 * leaks are looked for here as in every target.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "fuzz.h"
#include "header.h"
#include "log.h"

static jmp_buf refused;
static int ready, decoding;
static struct hold out;

/* What the decoder holds, by the address of its struct. */
#define LIVE_MAX 64
static struct live {
	void *p[LIVE_MAX];
	size_t n;
} rbufs, wbufs, txns, headers;

static void
live_add(struct live *l, void *p)
{
	if (!decoding)
		return;
	if (l->n == LIVE_MAX)
		fuzz_fail("more live buffers than the target tracks");
	l->p[l->n++] = p;
}

static void
live_del(struct live *l, void *p)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->p[i] == p) {
			l->p[i] = l->p[--l->n];
			return;
		}
}

int __real_rbuf_init(struct rbuf *, int, size_t);
int __wrap_rbuf_init(struct rbuf *, int, size_t);
void __real_rbuf_free(struct rbuf *);
void __wrap_rbuf_free(struct rbuf *);
int __real_wbuf_init(struct wbuf *, int, size_t);
int __wrap_wbuf_init(struct wbuf *, int, size_t);
void __real_wbuf_free(struct wbuf *);
void __wrap_wbuf_free(struct wbuf *);
void __real_txn_init(struct txn *);
void __wrap_txn_init(struct txn *);
int __real_header_init(struct header *);
int __wrap_header_init(struct header *);
void __real_header_free(struct header *);
void __wrap_header_free(struct header *);

int
__wrap_rbuf_init(struct rbuf *r, int fd, size_t size)
{
	int rc = __real_rbuf_init(r, fd, size);

	if (rc == 0)
		live_add(&rbufs, r);
	return rc;
}

void
__wrap_rbuf_free(struct rbuf *r)
{
	live_del(&rbufs, r);
	__real_rbuf_free(r);
}

int
__wrap_wbuf_init(struct wbuf *w, int fd, size_t size)
{
	int rc = __real_wbuf_init(w, fd, size);

	if (rc == 0)
		live_add(&wbufs, w);
	return rc;
}

void
__wrap_wbuf_free(struct wbuf *w)
{
	live_del(&wbufs, w);
	__real_wbuf_free(w);
}

int
__wrap_header_init(struct header *h)
{
	int rc = __real_header_init(h);

	if (rc == 0)
		live_add(&headers, h);
	return rc;
}

void
__wrap_header_free(struct header *h)
{
	live_del(&headers, h);
	__real_header_free(h);
}

/* Kept until the input is done: txn_free() leaves a txn reusable. */
void
__wrap_txn_init(struct txn *t)
{
	__real_txn_init(t);
	live_add(&txns, t);
}

/* The decoder's frames are still there: free what they hold, then leave. */
void
refuse_input(struct decode *d, const char *fmt, ...)
{
	size_t i;

	(void)d;
	(void)fmt;
	while (rbufs.n > 0)
		__wrap_rbuf_free(rbufs.p[0]);
	while (wbufs.n > 0)
		__wrap_wbuf_free(wbufs.p[0]);
	while (headers.n > 0)
		__wrap_header_free(headers.p[0]);
	for (i = 0; i < txns.n; i++)
		txn_free(txns.p[i]);
	txns.n = 0;
	longjmp(refused, 1);
}

static void
setup(void)
{
	char conf[4200];

	snprintf(conf, sizeof conf, "%s/conf", fuzz_tmpdir());
	if (mkdir(conf, 0700) < 0 || setenv("SLUICE_CONF", conf, 1) < 0)
		fuzz_fail("configuration folder");
	log_name("sluice-bsmtp-decode");
	hold_init(&out);
	ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct decode d;
	static unsigned long long off;

	if (!ready)
		setup();
	if (size < 2)
		return 0;
	memset(&d, 0, sizeof d);
	off = 0;
	d.plain = data[0] & 1;
	if (data[0] & 2)
		snprintf(d.secret, sizeof d.secret, "s3cret");
	d.relay = 1;
	d.raw_fd = fuzz_memfd(data + 1, size - 1);
	if ((d.batch_fd = memfd_create("batch", MFD_CLOEXEC)) < 0)
		fuzz_fail("memfd");
	d.out = out;
	decoding = 1;
	if (setjmp(refused) == 0) {
		if (!d.plain)
			off = head_read(&d);
		unwrap_body(&d, off);
		batch_read(&d);
	}
	decoding = 0;
	txns.n = 0;
	if (rbufs.n > 0 || wbufs.n > 0)
		fuzz_fail("the decoder left a buffer unfreed");
	/* The held output, emptied for the next input. */
	out.w.out.len = 0;
	out.w.out.total = 0;
	if (ftruncate(out.fd, 0) < 0 || lseek(out.fd, 0, SEEK_SET) < 0)
		fuzz_fail("hold");
	close(d.raw_fd);
	close(d.batch_fd);
	return 0;
}
