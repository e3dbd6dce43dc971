#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const unsigned char v4_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Up to max dotted decimal components of 0..255, each of 1 to 3 digits;
 * returns how many were read (0 on a syntax error).  A trailing dot is
 * allowed when trailing_dot is set (the "192.0.2." prefix form).
 */
static int
v4_components(const char *s, size_t n, unsigned char *out, int max,
    int trailing_dot)
{
	size_t i = 0;
	int k = 0;

	while (i < n) {
		unsigned v = 0, digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255 || k == max)
			return 0;
		out[k++] = (unsigned char)v;
		if (i == n)
			return k;
		if (s[i++] != '.')
			return 0;
		if (i == n)
			return trailing_dot ? k : 0;
	}
	return 0;
}

/* Parse s[0..n) (blanks already trimmed) as an address; 0 or -1. */
static int
addr_parse_n(const char *s, size_t n, struct cidr_addr *a)
{
	char buf[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof buf)
		return -1;
	if (memchr(s, ':', n) == NULL) {
		memcpy(a->b, v4_prefix, sizeof v4_prefix);
		return v4_components(s, n, a->b + 12, 4, 0) == 4 ? 0 : -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, a->b) == 1 ? 0 : -1;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

int
cidr_addr_parse(const char *s, struct cidr_addr *a)
{
	size_t n = strlen(s);

	trim(&s, &n);
	return addr_parse_n(s, n, a);
}

int
cidr_is_v4(const struct cidr_addr *a)
{
	return memcmp(a->b, v4_prefix, sizeof v4_prefix) == 0;
}

const char *
cidr_ntop(const struct cidr_addr *a, char *buf, size_t size)
{
	const char *r;

	if (cidr_is_v4(a))
		r = inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)size);
	else
		r = inet_ntop(AF_INET6, a->b, buf, (socklen_t)size);
	if (r == NULL && size > 0)
		snprintf(buf, size, "?");
	return buf;
}

int
cidr_cmp(const struct cidr_addr *a, const struct cidr_addr *b)
{
	return memcmp(a->b, b->b, sizeof a->b);
}

/* Clear (set 0) or fill (set 1) every bit after the first bits of 128. */
static void
bits_after(struct cidr_addr *a, unsigned bits, int set)
{
	unsigned i;

	for (i = bits; i < 128; i++) {
		unsigned char m = (unsigned char)(0x80u >> (i % 8));

		if (set)
			a->b[i / 8] |= m;
		else
			a->b[i / 8] &= (unsigned char)~m;
	}
}

void
cidr_mask(struct cidr_addr *a, unsigned bits)
{
	unsigned max = cidr_is_v4(a) ? 32 : 128;

	if (bits > max)
		bits = max;
	bits_after(a, bits + (128 - max), 0);
}

/* "addr/len": 0 or -1. */
static int
parse_block(const char *s, size_t n, const char *slash, struct cidr_range *r)
{
	size_t an = (size_t)(slash - s), i;
	unsigned len = 0, max;

	if (addr_parse_n(s, an, &r->lo) < 0)
		return -1;
	/* The length counts the bits of the notation: ::ffff:10.0.0.0/104 */
	max = memchr(s, ':', an) == NULL ? 32 : 128;
	if (an + 1 == n || n - an - 1 > 3)
		return -1;
	for (i = an + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		len = len * 10 + (unsigned)(s[i] - '0');
	}
	if (len > max)
		return -1;
	len += 128 - max;
	bits_after(&r->lo, len, 0);
	r->hi = r->lo;
	bits_after(&r->hi, len, 1);
	return 0;
}

/* "a-b": 0 or -1. */
static int
parse_span(const char *s, size_t n, const char *dash, struct cidr_range *r)
{
	const char *b = dash + 1;
	size_t an = (size_t)(dash - s), bn = n - an - 1;

	trim(&s, &an);
	trim(&b, &bn);
	if (addr_parse_n(s, an, &r->lo) < 0 || addr_parse_n(b, bn, &r->hi) < 0)
		return -1;
	if (cidr_is_v4(&r->lo) != cidr_is_v4(&r->hi) ||
	    cidr_cmp(&r->lo, &r->hi) > 0)
		return -1;
	return 0;
}

int
cidr_parse(const char *s, struct cidr_range *r)
{
	size_t n = strlen(s);
	const char *p;
	unsigned char c[4];
	int k;

	trim(&s, &n);
	if ((p = memchr(s, '/', n)) != NULL)
		return parse_block(s, n, p, r);
	if ((p = memchr(s, '-', n)) != NULL)
		return parse_span(s, n, p, r);
	if (addr_parse_n(s, n, &r->lo) == 0) {
		r->hi = r->lo;
		return 0;
	}
	/* Whole leading components, as the access table always had them. */
	if (memchr(s, ':', n) != NULL ||
	    (k = v4_components(s, n, c, 3, 1)) == 0)
		return -1;
	memset(&r->lo, 0, sizeof r->lo);
	memcpy(r->lo.b, v4_prefix, sizeof v4_prefix);
	memcpy(r->lo.b + 12, c, (size_t)k);
	r->hi = r->lo;
	bits_after(&r->hi, 96 + 8 * (unsigned)k, 1);
	return 0;
}

int
cidr_match(const struct cidr_range *r, const struct cidr_addr *a)
{
	return cidr_cmp(&r->lo, a) <= 0 && cidr_cmp(a, &r->hi) <= 0;
}

int
cidr_list_add(struct cidr_list *l, const struct cidr_range *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct cidr_range *p = reallocarray(l->r, cap, sizeof *p);

		if (p == NULL)
			return -1;
		l->r = p;
		l->cap = cap;
	}
	l->r[l->n++] = *r;
	return 0;
}

long
cidr_list_match(const struct cidr_list *l, const struct cidr_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_match(&l->r[i], a))
			return (long)i;
	return -1;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->r);
	l->r = NULL;
	l->n = l->cap = 0;
}

int
cidr_reverse(const struct cidr_addr *a, int as_v6, const char *zone,
    char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char rev[80];
	size_t k = 0;
	int i, n;

	if (cidr_is_v4(a) && !as_v6) {
		const unsigned char *o = a->b + 12;

		snprintf(rev, sizeof rev, "%u.%u.%u.%u", o[3], o[2], o[1], o[0]);
	} else {
		for (i = 15; i >= 0; i--) {
			rev[k++] = hex[a->b[i] & 0xf];
			rev[k++] = '.';
			rev[k++] = hex[a->b[i] >> 4];
			rev[k++] = i > 0 ? '.' : '\0';
		}
	}
	n = snprintf(buf, size, "%s%s%s", rev, *zone ? "." : "", zone);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
