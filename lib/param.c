#include "param.h"
#include "text.h"
#include "xtext.h"
#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
is_keychar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

static char param_ebuf[160];

/* The message names the offending parameter, as in "invalid SIZE (SIZE=x)". */
#define BAD(code, msg) do { \
	*reply_code = (code); \
	snprintf(param_ebuf, sizeof param_ebuf, "%s: %.*s", (msg), \
	    (int)(i - (size_t)(k - s) > 60 ? 60 : i - (size_t)(k - s)), k); \
	*err = param_ebuf; \
	return -1; \
} while (0)

static int
notify_parse(const char *v, size_t n, unsigned *out)
{
	unsigned f = 0;
	size_t i = 0, j;

	if (n == 5 && text_ieq(v, "NEVER", 5)) {
		*out = NOTIFY_NEVER;
		return 0;
	}
	while (i < n) {
		for (j = i; j < n && v[j] != ','; j++)
			;
		if (j - i == 7 && text_ieq(v + i, "SUCCESS", 7))
			f |= NOTIFY_SUCCESS;
		else if (j - i == 7 && text_ieq(v + i, "FAILURE", 7))
			f |= NOTIFY_FAILURE;
		else if (j - i == 5 && text_ieq(v + i, "DELAY", 5))
			f |= NOTIFY_DELAY;
		else
			return -1;
		i = j + 1;
		if (j + 1 == n && v[j] == ',')
			return -1;
	}
	if (f == 0)
		return -1;
	*out = f;
	return 0;
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Whether xtext decodes to a control character (tab aside).  ENVID and
 * ORCPT are decoded into the lines of a delivery status notice, where a
 * line end would end the notice's body in the stream; RFC 3461 4.2 and
 * 4.4 allow none.
 */
static int
xtext_has_ctl(const char *v, size_t n)
{
	size_t i;
	int h, l;

	for (i = 0; i + 2 < n; i++) {
		if (v[i] != '+')
			continue;
		h = hexdigit(v[i + 1]);
		l = hexdigit(v[i + 2]);
		if (h < 0 || l < 0)
			continue;
		if ((h < 2 && (h != 0 || l != 9)) || (h == 7 && l == 15))
			return 1;
	}
	return 0;
}

/* ORCPT=addr-type ";" xtext (RFC 3461 4.2; utf-8 type RFC 6533). */
static int
orcpt_valid(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n && v[i] != ';'; i++)
		if (!is_keychar(v[i]))
			return 0;
	if (i == 0 || i == n || i + 1 == n || xtext_has_ctl(v + i + 1, n - i - 1))
		return 0;
	if (i == 5 && text_ieq(v, "utf-8", 5))
		return utf8_valid(v + i + 1, n - i - 1);
	return xtext_valid(v + i + 1, n - i - 1);
}

static int
esmtp_value_valid(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 33 || c == '=' || c == 127)
			return 0;
	}
	return 1;
}

int
param_parse(struct txn *t, struct rcpt *r, const char *s, size_t n,
    int is_rcpt, const char **err, int *reply_code)
{
	size_t i = 0;
	char tmp[STREAM_AUTH_MAX + 1];

	while (i < n) {
		const char *k = s + i, *v = NULL;
		size_t kl, vl = 0;

		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		k = s + i;
		while (i < n && is_keychar(s[i]))
			i++;
		kl = (size_t)(s + i - k);
		if (kl == 0)
			BAD(501, "invalid parameter keyword");
		if (i < n && s[i] == '=') {
			v = s + ++i;
			while (i < n && s[i] != ' ')
				i++;
			vl = (size_t)(s + i - v);
			if (vl == 0 || !esmtp_value_valid(v, vl))
				BAD(501, "invalid parameter value");
		} else if (i < n && s[i] != ' ')
			BAD(501, "invalid character in parameter keyword");

#define KEY(name) (kl == sizeof(name) - 1 && text_ieq(k, name, kl))
		if (kl > 2 && text_ieq(k, "X-", 2)) {
			struct xparam *x = is_rcpt ? r->x : t->x;
			size_t *nx = is_rcpt ? &r->nx : &t->nx;
			char key[64], *val = NULL;
			size_t j;

			if (kl >= sizeof key)
				BAD(501, "private parameter keyword too long");
			if (vl > STREAM_XVAL_MAX)
				BAD(501, "private parameter value too long");
			/* Its readers decode it to a C string, which +00 would cut. */
			if (v != NULL && memmem(v, vl, "+00", 3) != NULL)
				BAD(501, "private parameter value encodes a NUL");
			for (j = 0; j < kl; j++)
				key[j] = (k[j] >= 'a' && k[j] <= 'z') ? (char)(k[j] - 32) : k[j];
			key[kl] = '\0';
			if (xparam_get(x, *nx, key) != NULL)
				BAD(501, "duplicate private parameter");
			if (*nx == STREAM_XPARAM_MAX)
				BAD(501, "too many private parameters");
			if (v != NULL && (val = strndup(v, vl)) == NULL)
				BAD(451, "out of memory");
			if (xparam_set(x, nx, key, val) < 0) {
				free(val);
				BAD(451, "out of memory");
			}
			free(val);
			continue;
		}
		if (!is_rcpt && KEY("SIZE")) {
			unsigned long long sz = 0;
			size_t j;

			if (t->has_size)
				BAD(501, "duplicate SIZE parameter");
			if (v == NULL || vl > 20)
				BAD(501, "invalid SIZE parameter");
			for (j = 0; j < vl; j++) {
				if (v[j] < '0' || v[j] > '9')
					BAD(501, "invalid SIZE parameter");
				if (sz > (~0ULL - 9) / 10)
					BAD(501, "SIZE parameter out of range");
				sz = sz * 10 + (unsigned)(v[j] - '0');
			}
			t->size = sz;
			t->has_size = 1;
		} else if (!is_rcpt && KEY("BODY")) {
			if (t->body != BODY_NONE)
				BAD(501, "duplicate BODY parameter");
			if (v != NULL && vl == 4 && text_ieq(v, "7BIT", 4))
				t->body = BODY_7BIT;
			else if (v != NULL && vl == 8 && text_ieq(v, "8BITMIME", 8))
				t->body = BODY_8BITMIME;
			else if (v != NULL && vl == 10 && text_ieq(v, "BINARYMIME", 10))
				BAD(555, "BODY=BINARYMIME is not supported");
			else
				BAD(501, "invalid BODY parameter");
		} else if (!is_rcpt && KEY("SMTPUTF8")) {
			if (v != NULL)
				BAD(501, "SMTPUTF8 takes no value");
			if (t->smtputf8)
				BAD(501, "duplicate SMTPUTF8 parameter");
			t->smtputf8 = 1;
		} else if (!is_rcpt && KEY("RET")) {
			if (t->ret != RET_NONE)
				BAD(501, "duplicate RET parameter");
			if (v != NULL && vl == 4 && text_ieq(v, "FULL", 4))
				t->ret = RET_FULL;
			else if (v != NULL && vl == 4 && text_ieq(v, "HDRS", 4))
				t->ret = RET_HDRS;
			else
				BAD(501, "invalid RET parameter");
		} else if (!is_rcpt && KEY("ENVID")) {
			if (t->envid != NULL)
				BAD(501, "duplicate ENVID parameter");
			if (v == NULL || !xtext_valid(v, vl) || xtext_has_ctl(v, vl) ||
			    xtext_decode(v, vl, tmp, STREAM_ENVID_MAX + 1) < 0)
				BAD(501, "invalid ENVID parameter");
			if ((t->envid = strndup(v, vl)) == NULL)
				BAD(451, "out of memory");
		} else if (!is_rcpt && KEY("AUTH")) {
			if (t->auth != NULL)
				BAD(501, "duplicate AUTH parameter");
			if (v == NULL || vl > STREAM_AUTH_MAX ||
			    !(( vl == 2 && memcmp(v, "<>", 2) == 0) || xtext_valid(v, vl)))
				BAD(501, "invalid AUTH parameter");
			if ((t->auth = strndup(v, vl)) == NULL)
				BAD(451, "out of memory");
		} else if (is_rcpt && KEY("NOTIFY")) {
			if (r->notify != 0)
				BAD(501, "duplicate NOTIFY parameter");
			if (v == NULL || notify_parse(v, vl, &r->notify) < 0)
				BAD(501, "invalid NOTIFY parameter");
		} else if (is_rcpt && KEY("ORCPT")) {
			if (r->orcpt != NULL)
				BAD(501, "duplicate ORCPT parameter");
			if (v == NULL || vl > STREAM_ORCPT_MAX || !orcpt_valid(v, vl))
				BAD(501, "invalid ORCPT parameter");
			if ((r->orcpt = strndup(v, vl)) == NULL)
				BAD(451, "out of memory");
		} else
			BAD(555, is_rcpt ? "unknown RCPT parameter" :
			    "unknown MAIL parameter");
#undef KEY
	}
	return 0;
}
