#ifndef TEXT_H
#define TEXT_H

/* Questions about octets of text: lines of a body, addresses. */

#include <stddef.h>

/*
 * Whether s[0..n) has an octet with the high bit set: 8-bit body text
 * (BODY=8BITMIME) or a UTF-8 address (SMTPUTF8).
 */
int text_has8bit(const char *s, size_t n);
/*
 * The first octet c in s[0..n), or NULL: memchr, sixteen octets a step
 * (SSE2, which every x86-64 has) or eight, with no call.  The FAST build's
 * musl memchr costs about five instructions an octet on mail's short
 * lines; this, under one (doc/performance.md).
 */
const char *text_find(const char *s, size_t n, char c);
/*
 * s[0..n) without its octets c, in place, in one pass (sixteen octets a
 * step where none is c): the new length.
 */
size_t text_drop(char *s, size_t n, char c);
/*
 * The length of the field name when line l[0..n) starts a header field
 * ("Name:", white space allowed before the colon), else 0.
 */
size_t text_field_name(const char *l, size_t n);
/* Whether l[0..n) is the field name name, in any case. */
int text_name_is(const char *l, size_t n, const char *name);
/*
 * Whether s[0..k) is lit[0..k), ASCII letters in any case: strncasecmp
 * without the call, and without musl's tolower call an octet, for the
 * stream's commands and parameters, read in every stage for every
 * message (doc/performance.md).  lit holds no NUL before k.
 */
static inline int
text_ieq(const char *s, const char *lit, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		unsigned a = (unsigned char)s[i], b = (unsigned char)lit[i];

		if (a - 'A' < 26u)
			a += 32;
		if (b - 'A' < 26u)
			b += 32;
		if (a != b)
			return 0;
	}
	return 1;
}

#endif
