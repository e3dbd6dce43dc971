/*
 * Addresses as a person writes them: on the command line, and in the To:,
 * Cc: and Bcc: fields that -t reads.  Each is qualified with
 * qualify_domain when it has no domain, and written in normal form.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "log.h"
#include "submit.h"
#include "text.h"

const char *
addrlist_shown(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 32 && c != 127) {
			buf[k++] = (char)c;
			continue;
		}
		buf[k++] = '\\';
		if (c == 0 || c == '\r' || c == '\n' || c == '\t')
			buf[k++] = c == 0 ? '0' : c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		else
			k += (size_t)snprintf(buf + k, size - k, "x%02x", c);
	}
	buf[k] = '\0';
	return buf;
}

int
addrlist_qualify(struct names *nm, const char *s, size_t n, char *out,
    size_t size, const char **why)
{
	struct addr a;
	struct addr_err e;

	if (addr_parse(s, n, ADDR_UNQUAL_OK | ADDR_UTF8, &a, &e) < 0) {
		*why = e.msg;
		return -1;
	}
	if (!a.null && a.domain[0] == '\0') {
		if (strlen(nm->domain) > ADDR_DOMAIN_MAX) {
			*why = "qualify_domain is too long";
			return -1;
		}
		strcpy(a.domain, nm->domain);
		addr_lower(a.domain);
	}
	if (addr_format(&a, out, size) >= size) {
		*why = "address too long";
		return -1;
	}
	if (strlen(out) > ADDR_MAILBOX_MAX) {
		*why = "address longer than 254 octets";
		return -1;
	}
	if (text_has8bit(s, strnlen(s, n)))
		nm->utf8 = 1;
	return 0;
}

void
addrlist_add(struct txn *t, const char *addr, unsigned notify)
{
	struct rcpt *r;
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if (strcmp(t->rcpt[i].addr, addr) == 0)
			return;
	if (t->nrcpt == STREAM_RCPT_MAX)
		die(EX_DATAERR, "more than %d recipients", STREAM_RCPT_MAX);
	if ((r = txn_add_rcpt(t, addr)) == NULL)
		die(EX_TEMPFAIL, "out of memory");
	r->notify = notify;
}

/* One address of a list, as written, while it is read. */
struct unit {
	char text[UNIT_MAX];
	size_t len;
	int overflow;
	char angle[UNIT_MAX];
	size_t alen;
	int has_angle, in_angle;
};

static int
unit_end(struct names *nm, struct unit *u, struct txn *t, unsigned notify,
    const char **why)
{
	char out[ADDR_PATH_MAX + 8], buf[UNIT_MAX * 4 + 8];
	const char *s = u->has_angle ? u->angle : u->text;
	size_t n = u->has_angle ? u->alen : u->len;

	if (u->in_angle) {
		*why = "unclosed <";
		return -1;
	}
	if (!u->has_angle && u->overflow) {
		*why = "address too long";
		return -1;
	}
	if (n > 0) {
		if (addrlist_qualify(nm, s, n, out, sizeof out, why) < 0) {
			/* Name the address: a header field may hold many. */
			snprintf(nm->why, sizeof nm->why, "<%s>: %s",
			    addrlist_shown(s, n, buf, sizeof buf), *why);
			*why = nm->why;
			return -1;
		}
		addrlist_add(t, out, notify);
	}
	u->len = u->alen = 0;
	u->overflow = u->has_angle = u->in_angle = 0;
	return 0;
}

static void
unit_put(struct unit *u, char c)
{
	if (u->in_angle) {
		if (u->alen < UNIT_MAX - 1)
			u->angle[u->alen++] = c;
		else
			u->overflow = 1;
	} else if (u->len < UNIT_MAX - 1) {
		u->text[u->len++] = c;
	} else {
		u->overflow = 1;
	}
}

/* The special c outside quotes and comments; 0, or -1 with *why set. */
static int
unit_special(struct names *nm, struct unit *u, char c, int bracket,
    struct txn *t, unsigned notify, const char **why)
{
	switch (c) {
	case '<':
		if (u->in_angle || u->has_angle) {
			*why = "second < in one address";
			return -1;
		}
		u->in_angle = u->has_angle = 1;
		return 0;
	case '>':
		if (!u->in_angle) {
			*why = "> without <";
			return -1;
		}
		u->in_angle = 0;
		return 0;
	case ':':
		/* A group's display name, unless part of a route or literal. */
		if (u->in_angle || bracket) {
			unit_put(u, c);
			return 0;
		}
		if (u->has_angle) {
			*why = "':' after an address";
			return -1;
		}
		u->len = 0;
		u->overflow = 0;
		return 0;
	default:	/* ',' and ';' */
		if (u->in_angle || bracket) {
			unit_put(u, c);
			return 0;
		}
		return unit_end(nm, u, t, notify, why);
	}
}

int
addrlist_parse(struct names *nm, const char *s, size_t n, struct txn *t,
    unsigned notify, const char **why)
{
	struct unit u;
	int comment = 0, quote = 0, bracket = 0;
	size_t i;

	memset(&u, 0, sizeof u);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (comment > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
			continue;
		}
		if (quote) {
			unit_put(&u, c);
			if (c == '\\' && i + 1 < n)
				unit_put(&u, s[++i]);
			else if (c == '"')
				quote = 0;
			continue;
		}
		switch (c) {
		case '"':
			quote = 1;
			unit_put(&u, c);
			break;
		case '(':
			comment = 1;
			break;
		case ' ': case '\t': case '\r': case '\n':
			break;
		case '[': case ']':
			bracket = c == '[';
			unit_put(&u, c);
			break;
		case '<': case '>': case ':': case ',': case ';':
			if (unit_special(nm, &u, c, bracket, t, notify, why) < 0)
				return -1;
			break;
		default:
			if (u.has_angle && !u.in_angle) {
				*why = "text after <address>";
				return -1;
			}
			unit_put(&u, c);
		}
	}
	if (comment || quote) {
		*why = comment ? "unclosed comment" : "unclosed quoted string";
		return -1;
	}
	return unit_end(nm, &u, t, notify, why);
}
