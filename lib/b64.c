#include "b64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = alphabet[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		out[o++] = alphabet[in[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = alphabet[(in[i + 1] & 15) << 2];
		out[o++] = '=';
	}
	return o;
}

unsigned long long
b64_encoded_size(unsigned long long n)
{
	unsigned long long lines = (n + B64_LINE_IN - 1) / B64_LINE_IN;

	return (n + 2) / 3 * 4 + 2 * lines;
}

void
b64_dec_init(struct b64_dec *d)
{
	d->acc = 0;
	d->nbits = 0;
	d->ended = 0;
	d->pad = 0;
}

static int
value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
b64_dec_line(struct b64_dec *d, const char *s, size_t n, unsigned char *out,
    size_t *outn)
{
	size_t i, o = 0;
	int v;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '=') {
			/* Padding completes a quantum of 2 or 3 characters. */
			if (d->pad == 0 ? d->nbits != 12 && d->nbits != 18 :
			    d->pad != 1 || d->nbits != 12)
				return -1;
			d->ended = 1;
			d->pad++;
			continue;
		}
		if (d->ended || (v = value((unsigned char)s[i])) < 0)
			return -1;
		d->acc = (d->acc << 6 | (unsigned)v) & 0xffffff;
		d->nbits += 6;
		if (d->nbits == 24) {
			out[o++] = (unsigned char)(d->acc >> 16);
			out[o++] = (unsigned char)(d->acc >> 8);
			out[o++] = (unsigned char)d->acc;
			d->acc = 0;
			d->nbits = 0;
		}
	}
	/* At the padding: flush the 1 or 2 octets of the last quantum once. */
	if (d->ended && d->nbits > 0) {
		if (d->nbits == 12 && d->pad == 2) {
			out[o++] = (unsigned char)(d->acc >> 4);
			d->nbits = 0;
		} else if (d->nbits == 18 && d->pad == 1) {
			out[o++] = (unsigned char)(d->acc >> 10);
			out[o++] = (unsigned char)(d->acc >> 2);
			d->nbits = 0;
		}
	}
	*outn = o;
	return 0;
}

int
b64_dec_end(const struct b64_dec *d)
{
	if (d->nbits != 0)
		return -1;
	return 0;
}
