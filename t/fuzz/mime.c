/*
 * Fuzz target: the streaming MIME walker (lib/mime.h), fed raw octets
 * with mime_feed() in chunks of a size the first octet picks (so that
 * lines are split at every place), with the default limits or small ones.
 * Beyond not crashing: the raw lines are the input again (less CRs before
 * LF), begin and end pair up, and decoded data comes in bounded chunks.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mime.h"

struct walk {
	char *raw;		/* the raw lines, each with LF when eol */
	size_t len, size;
	size_t open;		/* entities begun and not ended */
	int skip;
};

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct walk *w = ctx;

	if (p->path == NULL || p->type == NULL || p->charset == NULL ||
	    p->disposition == NULL || p->filename == NULL)
		fuzz_fail("a part without its strings");
	if (p->header_len > 0 && p->header == NULL)
		fuzz_fail("header length without a header");
	w->open++;
	return w->skip ? MIME_SKIP : MIME_DECODE;
}

static void
put(struct walk *w, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (w->len + n > w->size) {
		size_t sz = (w->len + n) * 2 + 64;
		char *p = realloc(w->raw, sz);

		if (p == NULL)
			fuzz_fail("out of memory");
		w->raw = p;
		w->size = sz;
	}
	memcpy(w->raw + w->len, s, n);
	w->len += n;
}

static void
w_raw(void *ctx, const struct mime_part *p, enum mime_raw kind,
    const char *s, size_t n, int eol)
{
	struct walk *w = ctx;

	(void)p;
	if ((unsigned)kind > MIME_RAW_UNPARSED)
		fuzz_fail("unknown raw kind");
	put(w, s, n);
	if (eol)
		put(w, "\n", 1);
}

static void
w_data(void *ctx, const struct mime_part *p, const unsigned char *d, size_t n)
{
	(void)ctx;
	(void)p;
	if (n > MIMEDEC_OUT || (n > 0 && d == NULL))
		fuzz_fail("a data chunk larger than MIMEDEC_OUT");
}

static void
w_end(void *ctx, const struct mime_part *p)
{
	struct walk *w = ctx;

	(void)p;
	if (w->open == 0)
		fuzz_fail("end without begin");
	w->open--;
}

/* s with every CR before an LF removed, in place; its new length. */
static size_t
strip_cr(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
			s[o++] = s[i];
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mime_ops ops = { w_begin, w_raw, w_data, w_end };
	struct mime_limits small = { 3, 8, 300 };
	struct walk w = { 0 };
	struct mime *m;
	char *in;
	size_t chunk, off, n;

	if (size < 2)
		return 0;
	w.skip = data[0] & 0x80;
	chunk = (size_t)(data[1] & 0x7f) + 1;
	if ((m = mime_new(&ops, &w, data[0] & 0x40 ? &small : NULL)) == NULL)
		fuzz_fail("out of memory");
	/* A chunk of 128 stands for all at once. */
	if (chunk == 128)
		chunk = size;
	for (off = 2; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		mime_feed(m, (const char *)data + off, n);
	}
	mime_end(m);
	if (w.open != 0)
		fuzz_fail("an entity begun and never ended");
	if ((in = malloc(size)) == NULL)
		fuzz_fail("out of memory");
	memcpy(in, data + 2, size - 2);
	n = strip_cr(in, size - 2);
	if (n != w.len || (n > 0 && memcmp(in, w.raw, n) != 0))
		fuzz_fail("the raw lines are not the input");
	free(in);
	free(w.raw);
	mime_free(m);
	return 0;
}
