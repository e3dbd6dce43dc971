#include "conv.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

int
conv_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* The next code point of UTF-8 s (advancing it); a bad octet is '?'. */
static unsigned long
utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned long c = p[0];
	int k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
	    (c & 0xf8) == 0xf0 ? 3 : -1;
	int i;

	if (k < 0) {
		*s = p + 1;
		return '?';
	}
	c &= k == 0 ? 0x7f : (0x3f >> k);
	for (i = 1; i <= k; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + 1;
			return '?';
		}
		c = c << 6 | (p[i] & 0x3f);
	}
	*s = p + k + 1;
	return c;
}

size_t
conv_html(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;

	while (*p && len + 12 < size) {
		unsigned long c = utf8_next(&p);

		if (c < 0x80)
			out[len++] = (char)c;
		else
			len += (size_t)snprintf(out + len, size - len, "&#%lu;", c);
	}
	out[len] = '\0';
	return len;
}

size_t
conv_text_html(const char *s, char *out, size_t size)
{
	size_t len = 0;

	len += (size_t)snprintf(out, size, "<p>");
	for (; *s && len + 12 < size; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
		    *s == '\n' ? "<br>\n" : NULL;

		if (e != NULL)
			len += (size_t)snprintf(out + len, size - len, "%s", e);
		else
			out[len++] = *s;
	}
	if (len + 6 < size)
		len += (size_t)snprintf(out + len, size - len, "</p>");
	out[len] = '\0';
	return len;
}

long
conv_charset(const char *s, const char *charset, char *out, size_t size)
{
	char to[100], *in = (char *)s, *o = out;
	size_t inleft = strlen(s), outleft = size - 1;
	iconv_t cd;

	snprintf(to, sizeof to, "%s//TRANSLIT", charset);
	if ((cd = iconv_open(to, "UTF-8")) == (iconv_t)-1)
		return -1;
	while (inleft > 0 && outleft > 0) {
		if (iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1)
			break;
		if (errno == E2BIG)
			break;
		/* Not in the charset and no transliteration: one '?'. */
		*o++ = '?';
		outleft--;
		do {
			in++;
			inleft--;
		} while (inleft > 0 && ((unsigned char)*in & 0xc0) == 0x80);
	}
	iconv_close(cd);
	*o = '\0';
	return (long)(o - out);
}
