/*
 * The From: (or Resent-From:) field sendmail adds: the sender, with the
 * -F name as its display name, RFC 2047-encoded when it is UTF-8.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "submit.h"

#define EWORD_OCTETS 36		/* UTF-8 octets in one RFC 2047 encoded-word */
#define EWORD_LINE 76		/* RFC 2047 2: a line holding encoded-words */

static size_t
from_base64(const unsigned char *s, size_t n, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, k = 0;

	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[k] = '\0';
	return k;
}

/*
 * "field: name <addr>" with the name as RFC 2047 encoded-words: a quoted
 * string may not hold 8-bit octets (RFC 5322 3.2.4), and an encoded-word
 * may not be quoted (RFC 2047 5).  Each word holds whole UTF-8 characters,
 * and every line stays within the 76 columns RFC 2047 allows.
 */
static void
from_encoded(const char *field, const char *name, size_t len,
    const char *addr, emit_fn emit, void *ctx)
{
	char buf[1200], word[100];
	size_t i = 0, k, take;

	k = (size_t)snprintf(buf, sizeof buf, "%s:", field);
	while (i < len) {
		take = len - i < EWORD_OCTETS ? len - i : EWORD_OCTETS;
		while (i + take < len && ((unsigned char)name[i + take] & 0xc0) == 0x80)
			take--;
		from_base64((const unsigned char *)name + i, take, word);
		if (i > 0) {
			emit(ctx, buf, k);
			k = 0;
		}
		k += (size_t)snprintf(buf + k, sizeof buf - k, " =?UTF-8?B?%s?=", word);
		i += take;
	}
	if (k + 3 + strlen(addr) > EWORD_LINE) {
		emit(ctx, buf, k);
		k = 0;
	}
	k += (size_t)snprintf(buf + k, sizeof buf - k, " <%s>", addr);
	emit(ctx, buf, k);
}

/*
 * An ASCII name is a quoted string (RFC 5322 3.2.4), whatever specials it
 * has; a UTF-8 one is encoded; a name with 8-bit octets that are not
 * UTF-8 names no charset and is left out.
 */
void
from_emit(const char *field, const char *fullname, const char *sender,
    const char *domain, emit_fn emit, void *ctx)
{
	char buf[1200], name[FULLNAME_MAX + 1], addr[ADDR_PATH_MAX + 8];
	size_t i, k = 0, n;
	int eight = 0;

	snprintf(addr, sizeof addr, "%s%s%s", *sender ? sender : "MAILER-DAEMON",
	    *sender ? "" : "@", *sender ? "" : domain);
	/* Control characters have no place in a phrase, quoted or not. */
	if (fullname != NULL && strlen(fullname) <= FULLNAME_MAX)
		for (i = 0; fullname[i]; i++) {
			unsigned char c = (unsigned char)fullname[i];

			if (c < ' ' || c == 127)
				continue;
			eight |= c >= 0x80;
			name[k++] = (char)c;
		}
	name[k] = '\0';
	if (eight && !utf8_valid(name, k))
		k = 0;
	if (k == 0) {
		n = (size_t)snprintf(buf, sizeof buf, "%s: %s", field, addr);
		emit(ctx, buf, n);
		return;
	}
	if (eight) {
		from_encoded(field, name, k, addr, emit, ctx);
		return;
	}
	n = (size_t)snprintf(buf, sizeof buf, "%s: \"", field);
	for (i = 0; i < k; i++) {
		if (name[i] == '"' || name[i] == '\\')
			buf[n++] = '\\';
		buf[n++] = name[i];
	}
	n += (size_t)snprintf(buf + n, sizeof buf - n, "\" <%s>", addr);
	emit(ctx, buf, n);
}
