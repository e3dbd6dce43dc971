#include "text.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

int
text_has8bit(const char *s, size_t n)
{
	uint64_t w, words = 0;
	unsigned char any = 0;
	size_t i = 0;

	/* Eight octets a step, no early exit: whole blocks go through here. */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		words |= w;
	}
	for (; i < n; i++)
		any |= (unsigned char)s[i];
	return any >= 0x80 || (words & 0x8080808080808080ULL) != 0;
}

size_t
text_field_name(const char *l, size_t n)
{
	size_t i = 0, k;

	while (i < n && l[i] > ' ' && l[i] < 127 && l[i] != ':')
		i++;
	if (i == 0)
		return 0;
	k = i;
	while (k < n && (l[k] == ' ' || l[k] == '\t'))
		k++;
	return (k < n && l[k] == ':') ? i : 0;
}

int
text_name_is(const char *l, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(l, name, n) == 0;
}
