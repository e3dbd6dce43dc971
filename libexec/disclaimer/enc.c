#include "enc.h"

#include <string.h>

#include "b64.h"

#define QP_LINE 76

int
enc_qp_line(struct stream_writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char out[QP_LINE + 4];
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int last = i + 1 == n, lit = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !last);
		size_t need = lit ? 1 : 3;

		/* Room for this and a soft break "=", unless it ends the line. */
		if (len + need > (last ? QP_LINE : QP_LINE - 1)) {
			out[len++] = '=';
			if (stream_write_line(w, out, len) < 0)
				return -1;
			len = 0;
		}
		if (lit)
			out[len++] = (char)c;
		else {
			out[len++] = '=';
			out[len++] = hex[c >> 4];
			out[len++] = hex[c & 15];
		}
	}
	return stream_write_line(w, out, len);
}

void
enc_b64_init(struct enc_b64 *e, struct stream_writer *w)
{
	memset(e, 0, sizeof *e);
	e->w = w;
}

static void
b64_line(struct enc_b64 *e)
{
	char out[B64_LINE_OUT + 4];
	size_t k = b64_encode(e->in, e->n, out);

	if (stream_write_line(e->w, out, k) < 0)
		e->failed = 1;
	e->n = 0;
}

void
enc_b64_put(struct enc_b64 *e, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t k = sizeof e->in - e->n < n ? sizeof e->in - e->n : n;

		memcpy(e->in + e->n, s, k);
		e->n += k;
		s += k;
		n -= k;
		if (e->n == sizeof e->in)
			b64_line(e);
	}
}

int
enc_b64_end(struct enc_b64 *e)
{
	if (e->n > 0)
		b64_line(e);
	return e->failed ? -1 : 0;
}
