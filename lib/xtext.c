#include "xtext.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
xtext_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			/* RFC 3461 requires upper-case hex digits. */
			if (i + 2 >= n || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0)
				return 0;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=')
			return 0;
	}
	return 1;
}

long
xtext_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;

	if (!xtext_valid(s, n))
		return -1;
	for (i = 0; i < n; i++) {
		if (o + 1 >= outsz)
			return -1;
		if (s[i] == '+') {
			out[o] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			if (out[o++] == '\0')
				return -1;
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return (long)o;
}

long
xtext_encode(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126 || c == '+' || c == '=') {
			if (o + 4 > outsz)
				return -1;
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (o + 2 > outsz)
				return -1;
			out[o++] = (char)c;
		}
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return (long)o;
}
