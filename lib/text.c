#include "text.h"

#include <string.h>
#include <strings.h>

int
text_has8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
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
