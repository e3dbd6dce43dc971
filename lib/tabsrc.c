#include "tabsrc.h"

#include <string.h>

#include "table.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Where the key that starts at i ends: at white space; in the aliases
 * table also at a colon (the /etc/aliases form "name: value"), except
 * inside an address literal's brackets (@[IPv6:2001:db8::1]).
 */
static size_t
key_end(const char *line, size_t i, size_t end, int aliases)
{
	int bracket = 0;

	for (; i < end && !is_space(line[i]); i++) {
		if (line[i] == '[')
			bracket = 1;
		else if (line[i] == ']')
			bracket = 0;
		else if (aliases && !bracket && line[i] == ':')
			break;
	}
	return i;
}

int
tabsrc_parse(const char *line, size_t len, int aliases, struct tabsrc_line *l,
    const char **err)
{
	size_t i = 0, k0, vend;

	memset(l, 0, sizeof *l);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL)
		return *err = "NUL octet in line", -1;
	/* Blank lines and comments. */
	while (i < len && is_space(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	vend = len;
	while (vend > i && is_space(line[vend - 1]))
		vend--;
	if (i > 0) {
		/* Continuation of the previous value. */
		l->kind = TABSRC_CONT;
		l->val = line + i;
		l->vlen = vend - i;
		return 0;
	}
	k0 = i;
	i = key_end(line, i, vend, aliases);
	if (i == k0)
		return *err = "a line begins with a colon: no key", -1;
	if (i - k0 >= TABLE_KEY_MAX)
		return *err = "key longer than 1023 octets", -1;
	/* "*.example.org" is the same as ".example.org": all subdomains. */
	if (i - k0 > 2 && line[k0] == '*' && line[k0 + 1] == '.')
		k0++;
	else if (line[k0] == '*' && i - k0 == 1)
		return *err = "a lone * is not a key; use @domain or .domain", -1;
	l->key = line + k0;
	l->klen = i - k0;
	/* The /etc/aliases form: "name: value", the colon right after the name. */
	if (aliases && i < vend && line[i] == ':')
		i++;
	while (i < vend && is_space(line[i]))
		i++;
	if (vend - i >= TABLE_VAL_MAX)
		return *err = "value longer than 65535 octets", -1;
	l->kind = TABSRC_ENTRY;
	l->val = line + i;
	l->vlen = vend - i;
	return 0;
}
