#include "mimehdr.h"

#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SECTIONS 100	/* RFC 2231 continuations read per parameter */

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Append one octet, keeping room for the NUL. */
static void
put(char *out, size_t size, size_t *len, char c)
{
	if (*len + 1 < size)
		out[(*len)++] = c;
}

int
mimehdr_is(const char *fname, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(fname, name, n) == 0;
}

int
mimehdr_next(const char *h, size_t len, size_t *pos, const char **name,
    size_t *nlen, const char **val, size_t *vlen)
{
	size_t i = *pos, e, c;

	while (i < len) {
		const char *lf = memchr(h + i, '\n', len - i);

		e = lf ? (size_t)(lf - h) : len;
		for (c = i; c < e && h[c] > ' ' && h[c] < 127 && h[c] != ':'; c++)
			;
		*nlen = c - i;
		while (c < e && (h[c] == ' ' || h[c] == '\t'))
			c++;	/* "Subject :" (RFC 5322 obsolete syntax) */
		if (*nlen == 0 || c == e || h[c] != ':') {
			i = e + 1;	/* not a field, nor a continuation of one */
			continue;
		}
		*name = h + i;
		*val = h + c + 1;
		/* Continuation lines start with white space. */
		while (e + 1 < len && (h[e + 1] == ' ' || h[e + 1] == '\t')) {
			lf = memchr(h + e + 1, '\n', len - e - 1);
			e = lf ? (size_t)(lf - h) : len;
		}
		*vlen = (size_t)(h + e - *val);
		*pos = e + 1;
		return 1;
	}
	*pos = len;
	return 0;
}

size_t
mimehdr_unfold(const char *v, size_t n, char *out, size_t size)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			continue;
		if (v[i] == '\t' || v[i] == ' ') {
			if (len > 0 && out[len - 1] != ' ')
				put(out, size, &len, ' ');
			continue;
		}
		put(out, size, &len, v[i]);
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	if (size > 0)
		out[len] = '\0';
	return len;
}

/* RFC 2045 token characters. */
static int
tchar(char c)
{
	return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip white space and RFC 822 comments. */
static const char *
skip_cfws(const char *s)
{
	for (;;) {
		while (is_ws(*s))
			s++;
		if (*s != '(')
			return s;
		for (int depth = 0; *s; s++) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
}

int
mimehdr_type(const char *v, char *out, size_t size)
{
	size_t len = 0;
	const char *s = skip_cfws(v);

	while (tchar(*s))
		put(out, size, &len, lower(*s++));
	if (len == 0 || *s != '/') {
		out[0] = '\0';
		return -1;
	}
	put(out, size, &len, *s++);
	if (!tchar(*s)) {
		out[0] = '\0';
		return -1;
	}
	while (tchar(*s))
		put(out, size, &len, lower(*s++));
	out[len] = '\0';
	return 0;
}

void
mimehdr_token(const char *v, char *out, size_t size)
{
	size_t len = 0;
	const char *s = skip_cfws(v);

	while (tchar(*s))
		put(out, size, &len, lower(*s++));
	out[len] = '\0';
}

/* ---- parameters */

struct section {
	const char *v;	/* value as written (quoted or not) */
	int ext;	/* charset'lang'%XX form */
};

/*
 * Parse "attr=value" pairs after the first ';'.  For each pair matching
 * attr, record it: sec[n] for attr*n, *plain for attr, *star for attr*.
 */
static void
param_scan(const char *v, const char *attr, struct section *sec, int *nsec,
    const char **plain, const char **star)
{
	size_t al = strlen(attr);
	const char *s = v, *name;
	size_t nl;

	for (;;) {
		/* Find the next ';' outside quotes. */
		while (*s && *s != ';') {
			if (*s == '"')
				for (s++; *s && *s != '"'; s++)
					if (*s == '\\' && s[1])
						s++;
			if (*s)
				s++;
		}
		if (*s == '\0')
			return;
		s = skip_cfws(s + 1);
		for (name = s; *s && *s != '=' && *s != ';' && !is_ws(*s); s++)
			;
		nl = (size_t)(s - name);
		s = skip_cfws(s);
		if (*s != '=')
			continue;
		s = skip_cfws(s + 1);
		if (nl < al || strncasecmp(name, attr, al) != 0)
			continue;
		if (nl == al)
			*plain = s;
		else if (nl == al + 1 && name[al] == '*')
			*star = s;
		else if (name[al] == '*' && name[al + 1] >= '0' && name[al + 1] <= '9') {
			int k = 0, ext = 0;
			size_t i;

			for (i = al + 1; i < nl && name[i] >= '0' && name[i] <= '9' && k < 1000; i++)
				k = k * 10 + name[i] - '0';
			if (i < nl && name[i] == '*')
				ext = 1, i++;
			if (i == nl && k < SECTIONS) {
				sec[k].v = s;
				sec[k].ext = ext;
				if (k >= *nsec)
					*nsec = k + 1;
			}
		}
	}
}

/* Copy a value as written (quoted-string or token) into out. */
static void
value_copy(const char *s, char *out, size_t size, size_t *len)
{
	if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			if (*s != '\r' && *s != '\n')
				put(out, size, len, *s);
		}
		return;
	}
	for (; *s && *s != ';' && !is_ws(*s); s++)
		put(out, size, len, *s);
}

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX in out[from..*len) in place. */
static void
pct_decode(char *out, size_t from, size_t *len)
{
	size_t i, j;

	for (i = j = from; i < *len; i++) {
		int h, l;

		if (out[i] == '%' && i + 2 < *len && (h = hex(out[i + 1])) >= 0 &&
		    (l = hex(out[i + 2])) >= 0) {
			out[j++] = (char)(h << 4 | l);
			i += 2;
		} else
			out[j++] = out[i];
	}
	*len = j;
}

int
mimehdr_param(const char *v, const char *attr, char *out, size_t size)
{
	struct section sec[SECTIONS];
	const char *plain = NULL, *star = NULL, *q;
	char raw[4096], cs[64];
	size_t len = 0, olen = 0, i;
	int nsec = 0, k;

	memset(sec, 0, sizeof sec);
	out[0] = '\0';
	cs[0] = '\0';
	param_scan(v, attr, sec, &nsec, &plain, &star);
	if (star != NULL) {
		sec[0].v = star;
		sec[0].ext = 1;
		nsec = 1;
	}
	if (nsec == 0 || sec[0].v == NULL) {
		if (plain == NULL)
			return 0;
		value_copy(plain, raw, sizeof raw, &len);
		olen = mimehdr_decode_words(raw, len, out, size);
		return 1;
	}
	for (k = 0; k < nsec && sec[k].v != NULL; k++) {
		size_t from = len;

		value_copy(sec[k].v, raw, sizeof raw, &len);
		if (!sec[k].ext)
			continue;
		if (k == 0) {
			/* charset'language'text */
			raw[len] = '\0';
			if ((q = strchr(raw, '\'')) != NULL && strchr(q + 1, '\'') != NULL) {
				i = (size_t)(q - raw) < sizeof cs ? (size_t)(q - raw) : sizeof cs - 1;
				memcpy(cs, raw, i);
				cs[i] = '\0';
				q = strchr(q + 1, '\'') + 1;
				memmove(raw, q, len - (size_t)(q - raw));
				len -= (size_t)(q - raw);
			}
		}
		pct_decode(raw, from, &len);
	}
	mimehdr_to_utf8(cs[0] ? cs : "us-ascii", raw, len, out, size, &olen);
	out[olen] = '\0';
	return 1;
}

int
mimehdr_param_raw(const char *v, const char *attr, char *out, size_t size)
{
	struct section sec[SECTIONS];
	const char *plain = NULL, *star = NULL;
	size_t len = 0;
	int nsec = 0;

	memset(sec, 0, sizeof sec);
	out[0] = '\0';
	param_scan(v, attr, sec, &nsec, &plain, &star);
	if (plain == NULL)
		return 0;
	value_copy(plain, out, size, &len);
	out[len] = '\0';
	return 1;
}

/* ---- entities */

/* A file name parameter, with control characters made harmless. */
static void
file_name(const char *v, const char *attr, char *out, size_t size)
{
	char *s;

	mimehdr_param(v, attr, out, size);
	for (s = out; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 127)
			*s = '_';
}

void
mimehdr_entity(const char *h, size_t len, char *scratch, size_t ssize,
    struct mimehdr_entity *e)
{
	static const char *const fields[] = { "content-type",
		"content-transfer-encoding", "content-disposition" };
	const char *name, *val;
	size_t pos = 0, nl, vl;
	int seen[3] = { 0, 0, 0 }, i;
	char tname[sizeof e->name];

	tname[0] = '\0';
	while (mimehdr_next(h, len, &pos, &name, &nl, &val, &vl)) {
		for (i = 0; i < 3 && !mimehdr_is(name, nl, fields[i]); i++)
			;
		if (i == 3)
			continue;
		if (seen[i]++) {
			e->bad = 1;
			continue;
		}
		mimehdr_unfold(val, vl, scratch, ssize);
		if (i == 0) {
			if (mimehdr_type(scratch, e->type, sizeof e->type) < 0) {
				snprintf(e->type, sizeof e->type, "text/plain");
				e->bad = 1;
			}
			mimehdr_param(scratch, "charset", e->charset, sizeof e->charset);
			mimehdr_param_raw(scratch, "boundary", e->boundary, sizeof e->boundary);
			file_name(scratch, "name", tname, sizeof tname);
		} else if (i == 1)
			mimehdr_token(scratch, e->cte, sizeof e->cte);
		else {
			mimehdr_token(scratch, e->disp, sizeof e->disp);
			file_name(scratch, "filename", e->name, sizeof e->name);
		}
	}
	/* The disposition's file name wins over the type's name. */
	if (e->name[0] == '\0')
		memcpy(e->name, tname, sizeof e->name);
}

/* ---- RFC 2047 */

static size_t
b64_text(const char *s, size_t n, char *out, size_t size)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long acc = 0;
	size_t i, len = 0;
	int bits = 0;

	for (i = 0; i < n && s[i] != '='; i++) {
		const char *p = memchr(a, s[i], 64);

		if (p == NULL || s[i] == '\0')
			continue;
		acc = (acc << 6 | (unsigned long)(p - a)) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			put(out, size, &len, (char)(acc >> bits));
		}
	}
	return len;
}

static size_t
q_text(const char *s, size_t n, char *out, size_t size)
{
	size_t i, len = 0;
	int h, l;

	for (i = 0; i < n; i++) {
		if (s[i] == '_')
			put(out, size, &len, ' ');
		else if (s[i] == '=' && i + 2 < n && (h = hex(s[i + 1])) >= 0 &&
		    (l = hex(s[i + 2])) >= 0) {
			put(out, size, &len, (char)(h << 4 | l));
			i += 2;
		} else
			put(out, size, &len, s[i]);
	}
	return len;
}

/*
 * An encoded-word at s: "=?charset?B|Q?text?=".  Returns its length and
 * appends its text in UTF-8, or 0 when s does not start one.
 */
static size_t
word(const char *s, size_t n, char *out, size_t size, size_t *len)
{
	char cs[64], buf[1024];
	const char *q1, *q2, *end, *star;
	size_t cl, tl;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	if ((q1 = memchr(s + 2, '?', n - 2)) == NULL || q1 + 3 >= s + n ||
	    q1[2] != '?')
		return 0;
	q2 = q1 + 2;
	for (end = q2 + 1; end + 1 < s + n && !(end[0] == '?' && end[1] == '='); end++)
		if (is_ws(*end))
			return 0;
	if (end + 1 >= s + n)
		return 0;
	cl = (size_t)(q1 - s - 2);
	if (cl == 0 || cl >= sizeof cs)
		return 0;
	memcpy(cs, s + 2, cl);
	cs[cl] = '\0';
	if ((star = strchr(cs, '*')) != NULL)	/* RFC 2231 5: charset*language */
		cs[star - cs] = '\0';
	if (lower(q1[1]) == 'b')
		tl = b64_text(q2 + 1, (size_t)(end - q2 - 1), buf, sizeof buf);
	else if (lower(q1[1]) == 'q')
		tl = q_text(q2 + 1, (size_t)(end - q2 - 1), buf, sizeof buf);
	else
		return 0;
	mimehdr_to_utf8(cs, buf, tl, out, size, len);
	return (size_t)(end + 2 - s);
}

/* Whether s starts an encoded-word, without decoding it anywhere. */
static int
is_word(const char *s, size_t n)
{
	char tmp[1];
	size_t tl = 0;

	return word(s, n, tmp, 1, &tl) > 0;
}

size_t
mimehdr_decode_words(const char *s, size_t n, char *out, size_t size)
{
	size_t i = 0, len = 0, k, j;
	int prev_word = 0;

	while (i < n) {
		if ((k = word(s + i, n - i, out, size, &len)) > 0) {
			prev_word = 1;
			i += k;
			continue;
		}
		if (prev_word && is_ws(s[i])) {
			/* White space between two encoded-words is dropped. */
			for (j = i; j < n && is_ws(s[j]); j++)
				;
			if (j < n && is_word(s + j, n - j)) {
				i = j;
				continue;
			}
		}
		prev_word = 0;
		put(out, size, &len, s[i++]);
	}
	if (size > 0)
		out[len] = '\0';
	return len;
}

/* ---- charsets */

static void
latin1(const unsigned char *s, size_t n, char *out, size_t size, size_t *len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x80)
			put(out, size, len, (char)s[i]);
		else if (*len + 2 < size) {
			out[(*len)++] = (char)(0xc0 | s[i] >> 6);
			out[(*len)++] = (char)(0x80 | (s[i] & 0x3f));
		}
	}
}

void
mimehdr_to_utf8(const char *charset, const char *s, size_t n, char *out,
    size_t size, size_t *len)
{
	iconv_t cd;
	char *in = (char *)s, *o;
	size_t il = n, ol;

	if (size == 0)
		return;
	if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "us-ascii") == 0 ||
	    strcasecmp(charset, "utf8") == 0 || *charset == '\0') {
		for (size_t i = 0; i < n; i++)
			put(out, size, len, s[i]);
		return;
	}
	if (strcasecmp(charset, "iso-8859-1") == 0 || strcasecmp(charset, "latin1") == 0) {
		latin1((const unsigned char *)s, n, out, size, len);
		return;
	}
	if ((cd = iconv_open("UTF-8", charset)) == (iconv_t)-1) {
		for (size_t i = 0; i < n; i++)
			put(out, size, len, (s[i] & 0x80) ? '?' : s[i]);
		return;
	}
	o = out + *len;
	ol = size - 1 - *len;
	while (il > 0 && ol > 0) {
		if (iconv(cd, &in, &il, &o, &ol) != (size_t)-1)
			break;
		if (ol == 0)
			break;
		/* An octet that does not convert: a "?" for it, and on. */
		*o++ = '?';
		ol--;
		in++;
		il--;
	}
	*len = (size_t)(o - out);
	iconv_close(cd);
}
