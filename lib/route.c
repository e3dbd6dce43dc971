#include "route.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "xtext.h"

static const struct {
	const char *name;
	enum route_channel ch;
} channels[] = {
	{ "local", ROUTE_LOCAL }, { "smtp", ROUTE_SMTP },
	{ "bsmtp", ROUTE_BSMTP }, { "pipe", ROUTE_PIPE },
	{ "file", ROUTE_FILE }, { "error", ROUTE_ERROR },
	{ "defer", ROUTE_DEFER },
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* "D.ddd.ddd" with class c (RFC 3463); returns its length or 0. */
static size_t
status_len(const char *s, char c)
{
	size_t i = 0, part, digits;

	if (s[0] != c || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; isdigit((unsigned char)s[i]); i++)
			digits++;
		if (digits == 0 || digits > 3)
			return 0;
		if (part == 0 && s[i++] != '.')
			return 0;
	}
	return (s[i] == '\0' || is_ws(s[i])) ? i : 0;
}

static int
parse_smtp(const char *a, struct route *r, const char **err)
{
	const char *end, *colon;
	size_t n;
	char *e;
	long port;

	if (*a == '[') {
		if ((end = strchr(a, ']')) == NULL)
			return *err = "smtp: unclosed [", -1;
		r->mx = 0;
		n = (size_t)(end - a - 1);
		colon = end + 1;
		if (*colon != '\0' && *colon != ':')
			return *err = "smtp: text after ]", -1;
		a++;
	} else {
		r->mx = 1;
		colon = strchr(a, ':');
		n = colon ? (size_t)(colon - a) : strlen(a);
		if (colon == NULL)
			colon = a + n;
	}
	if (n == 0 || n >= sizeof r->host || !domain_valid(a, n, 0))
		return *err = "smtp: not a valid host name", -1;
	memcpy(r->host, a, n);
	r->host[n] = '\0';
	addr_lower(r->host);
	if (*colon == ':') {
		port = strtol(colon + 1, &e, 10);
		if (colon[1] == '\0' || *e != '\0' || port < 1 || port > 65535)
			return *err = "smtp: port is not a number from 1 to 65535", -1;
		r->port = (unsigned)port;
	}
	return 0;
}

static int
parse_arg(struct route *r, const char *a, const char **err)
{
	struct addr ad;
	struct addr_err ae;
	size_t n;

	switch (r->ch) {
	case ROUTE_LOCAL:
		return *a ? (*err = "local takes no argument", -1) : 0;
	case ROUTE_SMTP:
		return *a ? parse_smtp(a, r, err) : 0;
	case ROUTE_BSMTP:
		if (addr_parse(a, strlen(a), 0, &ad, &ae) < 0 || ad.domain[0] == '\0')
			return *err = "bsmtp: needs a mailbox address", -1;
		return 0;
	case ROUTE_PIPE:
	case ROUTE_FILE:
		if (*a != '/')
			return *err = "pipe and file need an absolute path", -1;
		return 0;
	case ROUTE_ERROR:
	case ROUTE_DEFER:
		n = status_len(a, r->ch == ROUTE_ERROR ? '5' : '4');
		if (n == 0)
			return *err = r->ch == ROUTE_ERROR ?
			    "error: needs a 5.x.y status" : "defer: needs a 4.x.y status", -1;
		memcpy(r->status, a, n);
		r->status[n] = '\0';
		return 0;
	}
	return *err = "unknown channel", -1;
}

int
route_parse(const char *s, struct route *r, const char **err)
{
	const char *name, *a;
	size_t n, i, len;

	memset(r, 0, sizeof *r);
	while (is_ws(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_ws(s[len - 1]))
		len--;
	if (len == 0)
		return *err = "empty route", -1;
	if (len > ROUTE_MAX)
		return *err = "route too long", -1;
	name = s;
	for (n = 0; n < len && s[n] != ':' && !is_ws(s[n]); n++)
		;
	for (i = 0; i < sizeof channels / sizeof channels[0]; i++)
		if (strlen(channels[i].name) == n &&
		    strncasecmp(channels[i].name, name, n) == 0)
			break;
	if (i == sizeof channels / sizeof channels[0])
		return *err = "unknown channel", -1;
	if (n < len && s[n] != ':')
		return *err = "a ':' must follow the channel name", -1;
	r->ch = channels[i].ch;
	/* The canonical text: lowercased channel, the argument as written. */
	snprintf(r->text, sizeof r->text, "%s%s%.*s", channels[i].name,
	    n < len ? ":" : "", (int)(n < len ? len - n - 1 : 0), s + n + 1);
	a = r->text + strlen(channels[i].name) + (n < len);
	if (parse_arg(r, a, err) < 0)
		return -1;
	if (r->ch == ROUTE_ERROR || r->ch == ROUTE_DEFER) {
		a += strlen(r->status);
		while (is_ws(*a))
			a++;
	}
	r->arg = a;
	return 0;
}

int
route_get(const struct rcpt *rc, struct route *r, const char **err)
{
	const char *v = xparam_get(rc->x, rc->nx, "X-ROUTE");
	char dec[ROUTE_MAX + 1];

	if (v == NULL)
		return 0;
	if (xtext_decode(v, strlen(v), dec, sizeof dec) < 0)
		return *err = "X-ROUTE is not valid xtext or too long", -1;
	return route_parse(dec, r, err) < 0 ? -1 : 1;
}

int
route_set(struct rcpt *rc, const char *s)
{
	char enc[STREAM_XVAL_MAX + 1];

	if (xtext_encode(s, strlen(s), enc, sizeof enc) < 0)
		return errno = EOVERFLOW, -1;
	return xparam_set(rc->x, &rc->nx, "X-ROUTE", enc) < 0 ? -1 : 0;
}

int
route_base_addr(const char *addr, const char *delims, char *out, size_t size)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr), i;

	if (delims == NULL || *delims == '\0' || addr[0] == '"')
		return 0;
	for (i = 1; i < llen; i++)
		if (strchr(delims, addr[i]) != NULL)
			break;
	if (i >= llen)
		return 0;
	if (snprintf(out, size, "%.*s%s", (int)i, addr, at ? at : "") >= (int)size)
		return 0;
	return 1;
}
