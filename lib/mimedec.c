#include "mimedec.h"

#include <string.h>

void
mimedec_flush(struct mimedec_out *o)
{
	if (o->len > 0 && o->flush != NULL)
		o->flush(o->ctx, o->buf, o->len);
	o->len = 0;
}

void
mimedec_put(struct mimedec_out *o, const void *p, size_t n)
{
	const unsigned char *s = p;

	o->total += n;
	while (n > 0) {
		size_t k = sizeof o->buf - o->len;

		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof o->buf)
			mimedec_flush(o);
	}
}

void
mimedec_putc(struct mimedec_out *o, unsigned char c)
{
	o->total++;
	o->buf[o->len++] = c;
	if (o->len == sizeof o->buf)
		mimedec_flush(o);
}

/* ---- base64 */

/* Value of a base64 character, 64 for "=", 65 for space, 66 for others. */
static unsigned char b64_val[256];

static void
b64_table(void)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	if (b64_val['A'] == 0 && b64_val['='] == 64)
		return;
	memset(b64_val, 66, sizeof b64_val);
	for (i = 0; i < 64; i++)
		b64_val[(unsigned char)a[i]] = (unsigned char)i;
	b64_val['='] = 64;
	b64_val[' '] = b64_val['\t'] = b64_val['\r'] = b64_val['\n'] = 65;
}

void
mimedec_b64_init(struct mimedec_b64 *d)
{
	memset(d, 0, sizeof *d);
	b64_table();
}

/* Output the octets of a partial quantum cut short by padding. */
static void
b64_pad(struct mimedec_b64 *d, struct mimedec_out *o)
{
	if (d->n == 2)
		mimedec_putc(o, (unsigned char)(d->acc >> 4));
	else if (d->n == 3) {
		mimedec_putc(o, (unsigned char)(d->acc >> 10));
		mimedec_putc(o, (unsigned char)(d->acc >> 2));
	} else if (d->n == 1)
		d->bad++;
	d->n = 0;
	d->acc = 0;
}

void
mimedec_b64(struct mimedec_b64 *d, const char *s, size_t n,
    struct mimedec_out *o)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v = b64_val[(unsigned char)s[i]];

		if (v < 64) {
			/* Data after the padding: a second encoding run on. */
			if (d->ended) {
				d->ended = 0;
				d->bad++;
			}
			d->acc = d->acc << 6 | v;
			if (++d->n == 4) {
				mimedec_putc(o, (unsigned char)(d->acc >> 16));
				mimedec_putc(o, (unsigned char)(d->acc >> 8));
				mimedec_putc(o, (unsigned char)d->acc);
				d->n = 0;
				d->acc = 0;
			}
		} else if (v == 64) {
			if (!d->ended)
				b64_pad(d, o);
			d->ended = 1;
		} else if (v == 66)
			d->bad++;
	}
}

void
mimedec_b64_end(struct mimedec_b64 *d, struct mimedec_out *o)
{
	b64_pad(d, o);
}

/* ---- quoted-printable */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t
mimedec_qp_line(const char *s, size_t n, unsigned char *out, int *soft,
    unsigned long *bad)
{
	size_t i, run, len = 0;
	int h, l;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	*soft = n > 0 && s[n - 1] == '=';
	if (*soft)
		n--;
	for (i = 0; i < n; ) {
		const char *eq = memchr(s + i, '=', n - i);

		run = eq ? (size_t)(eq - (s + i)) : n - i;
		memcpy(out + len, s + i, run);
		len += run;
		i += run;
		if (i == n)
			break;
		if (i + 2 < n && (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			out[len++] = (unsigned char)(h << 4 | l);
			i += 3;
		} else {
			out[len++] = '=';
			(*bad)++;
			i++;
		}
	}
	return len;
}

/* ---- uuencode */

int
mimedec_uu_begin(const char *s, size_t n, const char **name, size_t *nlen)
{
	size_t i, digits;
	int kind;

	if (n > 13 && memcmp(s, "begin-base64 ", 13) == 0) {
		kind = 2;
		i = 13;
	} else if (n > 6 && memcmp(s, "begin ", 6) == 0) {
		kind = 1;
		i = 6;
	} else
		return 0;
	for (digits = 0; i < n && s[i] >= '0' && s[i] <= '7'; i++)
		digits++;
	if (digits < 3 || digits > 4 || i >= n || s[i] != ' ')
		return 0;
	i++;
	while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (i >= n)
		return 0;
	*name = s + i;
	*nlen = n - i;
	return kind;
}

#define UU(c) (((unsigned char)(c) - 32) & 63)

int
mimedec_uu_line(const char *s, size_t n, struct mimedec_out *o)
{
	size_t len, need, i, k;
	unsigned char q[4], b[3];

	while (n > 0 && s[n - 1] == '\r')
		n--;
	if (n == 0 || s[0] < ' ' || s[0] > '`')
		return -1;
	len = UU(s[0]);
	need = (len + 2) / 3 * 4;
	/* Trailing spaces (zero sextets) may have been stripped in transit. */
	if (n - 1 < (len * 4 + 2) / 3 || n - 1 > need + 2)
		return -1;
	for (i = 1; i < n; i++)
		if (s[i] < ' ' || s[i] > '`')
			return -1;
	for (i = 0, k = 0; k < len; i += 4) {
		size_t j;

		for (j = 0; j < 4; j++)
			q[j] = 1 + i + j < n ? UU(s[1 + i + j]) : 0;
		b[0] = (unsigned char)(q[0] << 2 | q[1] >> 4);
		b[1] = (unsigned char)(q[1] << 4 | q[2] >> 2);
		b[2] = (unsigned char)(q[2] << 6 | q[3]);
		for (j = 0; j < 3 && k < len; j++, k++)
			mimedec_putc(o, b[j]);
	}
	return (int)len;
}

/* ---- BinHex 4.0 */

static const char hqx_alpha[] =
    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

enum { PH_HDR, PH_DATA, PH_DCRC, PH_RSRC, PH_RCRC, PH_END };

void
mimedec_hqx_init(struct mimedec_hqx *h,
    void (*on_header)(void *ctx, const char *name), void *ctx)
{
	memset(h, 0, sizeof *h);
	h->hneed = 1;
	h->on_header = on_header;
	h->ctx = ctx;
}

int
mimedec_hqx_marker(const char *s, size_t n)
{
	static const char m[] = "(This file must be converted with BinHex";

	return n >= sizeof m - 1 && memcmp(s, m, sizeof m - 1) == 0;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header is complete: name length, name, version, type, creator,
 * flags, data length, resource length, CRC. */
static void
hqx_header(struct mimedec_hqx *h)
{
	size_t nl = h->hdr[0];

	memcpy(h->name, h->hdr + 1, nl);
	h->name[nl] = '\0';
	h->left = be32(h->hdr + 1 + nl + 1 + 4 + 4 + 2);
	h->rsrc = be32(h->hdr + 1 + nl + 1 + 4 + 4 + 2 + 4);
	h->phase = PH_DATA;
	if (h->on_header != NULL)
		h->on_header(h->ctx, h->name);
}

/* One octet of the decompressed stream. */
static void
hqx_octet(struct mimedec_hqx *h, unsigned char c, struct mimedec_out *o)
{
	switch (h->phase) {
	case PH_HDR:
		h->hdr[h->hlen++] = c;
		if (h->hlen == 1) {
			if (c < 1 || c > 63) {
				h->state = HQX_BAD;
				h->bad++;
				return;
			}
			h->hneed = 1 + c + 1 + 4 + 4 + 2 + 4 + 4 + 2;
		} else if (h->hlen == h->hneed)
			hqx_header(h);
		return;
	case PH_DATA:
		if (h->left > 0) {
			mimedec_putc(o, c);
			if (--h->left > 0)
				return;
			h->phase = PH_DCRC;
			h->left = 2;
			return;
		}
		h->phase = PH_DCRC;
		h->left = 2;
		/* FALLTHROUGH */
	case PH_DCRC:
	case PH_RSRC:
	case PH_RCRC:
		/* The CRCs and the resource fork are skipped. */
		if (h->left > 0 && --h->left > 0)
			return;
		h->phase++;
		h->left = h->phase == PH_RSRC ? h->rsrc : h->phase == PH_RCRC ? 2 : 0;
		if (h->phase == PH_RSRC && h->left == 0) {
			h->phase = PH_RCRC;
			h->left = 2;
		}
		return;
	default:
		return;
	}
}

/* One octet of the 8-bit stream: undo the run-length encoding. */
static void
hqx_rle(struct mimedec_hqx *h, unsigned char c, struct mimedec_out *o)
{
	if (h->rle) {
		h->rle = 0;
		if (c == 0) {
			hqx_octet(h, 0x90, o);
			h->last = 0x90;
			h->have_last = 1;
		} else if (h->have_last) {
			unsigned i;

			for (i = 1; i < c && h->state == HQX_BODY; i++)
				hqx_octet(h, h->last, o);
		} else
			h->bad++;
		return;
	}
	if (c == 0x90) {
		h->rle = 1;
		return;
	}
	hqx_octet(h, c, o);
	h->last = c;
	h->have_last = 1;
}

void
mimedec_hqx_line(struct mimedec_hqx *h, const char *s, size_t n,
    struct mimedec_out *o)
{
	static unsigned char val[256];
	size_t i;

	if (val['!'] == 0) {
		memset(val, 0xff, sizeof val);
		for (i = 0; i < 64; i++)
			val[(unsigned char)hqx_alpha[i]] = (unsigned char)i;
	}
	for (i = 0; i < n && (h->state == HQX_START || h->state == HQX_BODY); i++) {
		unsigned char c = (unsigned char)s[i], v;

		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		if (c == ':') {
			h->state = h->state == HQX_START ? HQX_BODY : HQX_DONE;
			continue;
		}
		if (h->state == HQX_START || (v = val[c]) == 0xff) {
			h->state = HQX_BAD;
			h->bad++;
			return;
		}
		h->acc = h->acc << 6 | v;
		h->nbits += 6;
		if (h->nbits >= 8) {
			h->nbits -= 8;
			hqx_rle(h, (unsigned char)(h->acc >> h->nbits), o);
			h->acc &= (1u << h->nbits) - 1;
		}
	}
}
