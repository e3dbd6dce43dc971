#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 atext */
static int
is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the UTF-8 sequence at s, or 0 if it is not well-formed. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

static int
fail(struct addr_err *e, size_t pos, const char *msg)
{
	if (e != NULL) {
		e->pos = pos;
		e->msg = msg;
	}
	return -1;
}

long
addr_path_end(const char *s, size_t n)
{
	size_t i;
	int q = 0;

	if (n == 0 || s[0] != '<')
		return -1;
	for (i = 1; i < n; i++) {
		if (q) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '"')
				q = 0;
		} else if (s[i] == '"')
			q = 1;
		else if (s[i] == '>')
			return (long)i;
	}
	return -1;
}

/*
 * Check a domain; returns 0 or -1 with *bad set to the offending offset
 * and *why to the reason.
 */
static int
domain_check(const char *s, size_t n, unsigned flags, size_t *bad,
    const char **why)
{
	size_t i = 0, lab = 0, k;
	const unsigned char *p = (const unsigned char *)s;

	if (n == 0) {
		*bad = 0, *why = "empty domain";
		return -1;
	}
	if (n > ADDR_DOMAIN_MAX) {
		*bad = ADDR_DOMAIN_MAX, *why = "domain longer than 255 octets";
		return -1;
	}
	while (i < n) {
		if (p[i] == '.') {
			if (lab == 0) {
				*bad = i, *why = "empty label in domain";
				return -1;
			}
			if (p[i - 1] == '-') {
				*bad = i - 1, *why = "domain label ends with a hyphen";
				return -1;
			}
			lab = 0;
			i++;
			continue;
		}
		if (p[i] >= 0x80) {
			if (!(flags & ADDR_UTF8)) {
				*bad = i, *why = "8-bit octet in domain without SMTPUTF8";
				return -1;
			}
			k = utf8_seq(p + i, n - i);
			if (k == 0) {
				*bad = i, *why = "invalid UTF-8 in domain";
				return -1;
			}
		} else if (is_alpha(p[i]) || is_digit(p[i])) {
			k = 1;
		} else if (p[i] == '-') {
			if (lab == 0) {
				*bad = i, *why = "domain label starts with a hyphen";
				return -1;
			}
			k = 1;
		} else {
			*bad = i, *why = "invalid character in domain";
			return -1;
		}
		lab += k;
		i += k;
		if (lab > ADDR_LABEL_MAX) {
			*bad = i - 1, *why = "domain label longer than 63 octets";
			return -1;
		}
	}
	if (lab == 0) {
		*bad = n - 1, *why = "domain ends with a dot";
		return -1;
	}
	if (p[n - 1] == '-') {
		*bad = n - 1, *why = "domain label ends with a hyphen";
		return -1;
	}
	return 0;
}

int
domain_valid(const char *s, size_t n, unsigned flags)
{
	size_t bad;
	const char *why;

	return domain_check(s, n, flags, &bad, &why) == 0;
}

/* Parse an address literal s[0..n) including brackets, into out. */
static int
literal_parse(const char *s, size_t n, char *out, size_t outsz, size_t *bad,
    const char **why)
{
	char tmp[ADDR_DOMAIN_MAX + 1], txt[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t i;

	if (n < 3 || s[n - 1] != ']') {
		*bad = n - 1, *why = "address literal not closed by ]";
		return -1;
	}
	if (n - 2 >= sizeof tmp) {
		*bad = 0, *why = "address literal too long";
		return -1;
	}
	/*
	 * What follows reads tmp as a C string: a NUL inside would cut the
	 * literal there, silently.  No octet outside 33..126 belongs in any
	 * literal (RFC 5321 4.1.3), so every such octet is refused first.
	 */
	for (i = 1; i + 1 < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return *bad = i, *why = s[i] == '\0' ?
			    "NUL octet in address literal" :
			    "invalid character in address literal", -1;
	memcpy(tmp, s + 1, n - 2);
	tmp[n - 2] = '\0';
	if (strncasecmp(tmp, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, tmp + 5, bin) != 1) {
			*bad = 6, *why = "invalid IPv6 address literal";
			return -1;
		}
		inet_ntop(AF_INET6, bin, txt, sizeof txt);
		if (snprintf(out, outsz, "[IPv6:%s]", txt) >= (int)outsz)
			return *bad = 0, *why = "address literal too long", -1;
		return 0;
	}
	if (is_digit((unsigned char)tmp[0])) {
		if (inet_pton(AF_INET, tmp, bin) != 1) {
			*bad = 1, *why = "invalid IPv4 address literal";
			return -1;
		}
		inet_ntop(AF_INET, bin, txt, sizeof txt);
		snprintf(out, outsz, "[%s]", txt);
		return 0;
	}
	/* General-address-literal: Standardized-tag ":" 1*dcontent */
	for (i = 0; tmp[i] && tmp[i] != ':'; i++)
		if (!(is_alpha((unsigned char)tmp[i]) ||
		    is_digit((unsigned char)tmp[i]) || tmp[i] == '-'))
			return *bad = i + 1, *why = "invalid address literal tag", -1;
	if (i == 0 || tmp[i] != ':' || tmp[i + 1] == '\0')
		return *bad = i + 1, *why = "invalid address literal", -1;
	for (i++; tmp[i]; i++)
		if (tmp[i] < 33 || tmp[i] > 126 || tmp[i] == '[' ||
		    tmp[i] == ']' || tmp[i] == '\\')
			return *bad = i + 1, *why = "invalid character in address literal", -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Whether s is a Dot-string (atoms separated by single dots). */
static int
is_dot_string(const char *s, size_t n, unsigned flags)
{
	size_t i, k;
	int atom = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i += k) {
		unsigned char c = (unsigned char)s[i];

		k = 1;
		if (c == '.') {
			if (!atom)
				return 0;
			atom = 0;
			continue;
		}
		if (c >= 0x80) {
			if (!(flags & ADDR_UTF8))
				return 0;
			k = utf8_seq((const unsigned char *)s + i, n - i);
			if (k == 0)
				return 0;
		} else if (!is_atext(c))
			return 0;
		atom = 1;
	}
	return atom;
}

/*
 * Parse the local part at s[0..n); n is where the '@' is or the end.
 * Writes the normal form into a->local.
 */
static int
local_parse(const char *s, size_t n, unsigned flags, struct addr *a,
    struct addr_err *e)
{
	char dec[ADDR_LOCAL_MAX + 1];
	size_t i, d = 0, o = 0, k;

	if (n == 0)
		return fail(e, 0, "empty local part");
	if (n > ADDR_LOCAL_MAX)
		return fail(e, ADDR_LOCAL_MAX, "local part longer than 64 octets");
	if (s[0] != '"') {
		for (i = 0; i < n; i += k) {
			unsigned char c = (unsigned char)s[i];

			k = 1;
			if (c == '.') {
				if (i == 0 || s[i - 1] == '.' || i == n - 1)
					return fail(e, i, "misplaced dot in local part");
				continue;
			}
			if (c >= 0x80) {
				if (!(flags & ADDR_UTF8))
					return fail(e, i, "8-bit octet in local part without SMTPUTF8");
				k = utf8_seq((const unsigned char *)s + i, n - i);
				if (k == 0)
					return fail(e, i, "invalid UTF-8 in local part");
				continue;
			}
			if (!is_atext(c))
				return fail(e, i, "invalid character in local part");
		}
		memcpy(a->local, s, n);
		a->local[n] = '\0';
		return 0;
	}
	/* Quoted-string: decode, then decide whether quoting is needed. */
	if (n < 2 || s[n - 1] != '"')
		return fail(e, n, "unterminated quoted local part");
	for (i = 1; i < n - 1; i += k) {
		unsigned char c = (unsigned char)s[i];

		k = 1;
		if (c == '\\') {
			if (i + 1 >= n - 1)
				return fail(e, i, "backslash at end of quoted local part");
			c = (unsigned char)s[i + 1];
			if (c < 32 || c > 126)
				return fail(e, i + 1, "invalid quoted pair in local part");
			dec[d++] = (char)c;
			k = 2;
			continue;
		}
		if (c == '"')
			return fail(e, i, "unescaped quote in local part");
		if (c >= 0x80) {
			if (!(flags & ADDR_UTF8))
				return fail(e, i, "8-bit octet in local part without SMTPUTF8");
			k = utf8_seq((const unsigned char *)s + i, n - 1 - i);
			if (k == 0)
				return fail(e, i, "invalid UTF-8 in local part");
			memcpy(dec + d, s + i, k);
			d += k;
			continue;
		}
		if (c < 32 || c > 126)
			return fail(e, i, "control character in local part");
		dec[d++] = (char)c;
	}
	if (is_dot_string(dec, d, flags)) {
		memcpy(a->local, dec, d);
		a->local[d] = '\0';
		return 0;
	}
	/* Re-quote minimally; never longer than what was given. */
	a->local[o++] = '"';
	for (i = 0; i < d; i++) {
		if (dec[i] == '"' || dec[i] == '\\')
			a->local[o++] = '\\';
		a->local[o++] = dec[i];
	}
	a->local[o++] = '"';
	a->local[o] = '\0';
	return 0;
}

int
addr_parse(const char *s, size_t n, unsigned flags, struct addr *a,
    struct addr_err *e)
{
	size_t i, at, off = 0, bad;
	const char *why;
	int q = 0;

	memset(a, 0, sizeof *a);
	if (n == 0) {
		if (flags & ADDR_NULL_OK) {
			a->null = 1;
			return 0;
		}
		return fail(e, 0, "empty address");
	}
	/* A-d-l: "@one,@two:" is parsed for syntax and dropped. */
	if (s[0] == '@') {
		for (i = 1; i < n && s[i] != ':'; i++)
			;
		if (i == n)
			return fail(e, 0, "source route without a colon");
		{
			size_t j = 0, st;

			while (j < i) {
				if (s[j] != '@')
					return fail(e, j, "invalid source route");
				st = ++j;
				while (j < i && s[j] != ',')
					j++;
				if (domain_check(s + st, j - st, flags, &bad, &why) < 0)
					return fail(e, st + bad, why);
				if (j < i)
					j++;
			}
		}
		off = i + 1;
	}
	if (n - off > ADDR_MAILBOX_MAX)
		return fail(e, off + ADDR_MAILBOX_MAX, "address longer than 254 octets");
	/* Find the '@' that separates local part and domain. */
	at = n;
	for (i = off; i < n; i++) {
		if (q) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				q = 0;
		} else if (s[i] == '"')
			q = (i == off) ? 1 : 0;
		else if (s[i] == '@') {
			at = i;
			break;
		}
	}
	if (at == off)
		return fail(e, off, "empty local part");
	if (local_parse(s + off, at - off, flags, a, e) < 0) {
		if (e != NULL)
			e->pos += off;
		return -1;
	}
	if (at == n) {
		if (flags & ADDR_UNQUAL_OK)
			return 0;
		return fail(e, n, "address has no domain");
	}
	at++;
	if (at == n)
		return fail(e, at, "empty domain");
	if (s[at] == '[') {
		if (literal_parse(s + at, n - at, a->domain, sizeof a->domain,
		    &bad, &why) < 0)
			return fail(e, at + bad, why);
		a->literal = 1;
		return 0;
	}
	if (domain_check(s + at, n - at, flags, &bad, &why) < 0)
		return fail(e, at + bad, why);
	memcpy(a->domain, s + at, n - at);
	a->domain[n - at] = '\0';
	addr_lower(a->domain);
	return 0;
}

size_t
addr_format(const struct addr *a, char *buf, size_t size)
{
	int n;

	if (a->null)
		n = snprintf(buf, size, "%s", "");
	else if (a->domain[0] == '\0')
		n = snprintf(buf, size, "%s", a->local);
	else
		n = snprintf(buf, size, "%s@%s", a->local, a->domain);
	return n < 0 ? 0 : (size_t)n;
}

void
addr_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
addr_is_postmaster(const struct addr *a)
{
	return strcasecmp(a->local, "postmaster") == 0;
}
