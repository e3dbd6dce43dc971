/*
 * The report line, written by a worker and parsed by the parent; smtp.h
 * gives its format.  The parser takes nothing on trust: a line it cannot
 * read whole is an error for the caller to act on, never skipped.
 */
#include "smtp.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_word[] = { "", "", "sent", "deferred",
	"bounced" };
static const char kind_class[] = { 0, 0, '2', '4', '5' };

/* Printable ASCII without TAB: other octets become '?'. */
void
report_clean(char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s >= 127)
			*s = '?';
}

/* 0, or -1 with errno. */
int
report_write(struct wbuf *w, const struct report *r)
{
	return wbuf_printf(w, "%zu\t%zu\t%s\t%d\t%s\t%s\t%s\n", r->msg, r->rcpt,
	    kind_word[r->st], r->passed ? 1 : 0, r->status, r->mta, r->text);
}

/* A decimal index: digits, no sign, no leading zero, fits a size_t. */
static int
index_of(const char *s, size_t n, size_t *v)
{
	size_t i, x = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    x > (SIZE_MAX - (size_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (size_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

/* 1 to 3 digits */
static size_t
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
		;
	return i >= 1 && i <= 3 ? i : 0;
}

/* class.subject.detail (RFC 3463) whose class is cls. */
static int
status_ok(const char *s, size_t n, char cls)
{
	size_t a, b;

	if (n < 5 || n >= STATUS_MAX || s[0] != cls || s[1] != '.' ||
	    (a = digits(s + 2, n - 2)) == 0 || 2 + a >= n || s[2 + a] != '.' ||
	    (b = digits(s + 3 + a, n - 3 - a)) == 0 || 3 + a + b != n)
		return -1;
	return 0;
}

static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] >= 127)
			return -1;
	return 0;
}

/* Copy field f (n octets) into dst of size dsz: -1 when it does not fit. */
static int
copy(char *dst, size_t dsz, const char *f, size_t n)
{
	if (n >= dsz)
		return -1;
	memcpy(dst, f, n);
	dst[n] = '\0';
	return 0;
}

#define BAD(why) do { snprintf(err, errsz, "%s", why); return -1; } while (0)

/* The MSG and RCPT fields into r when they parse, else SIZE_MAX. */
static void
indices(const char *line, size_t len, struct report *r)
{
	const char *t1 = memchr(line, '\t', len), *t2;
	size_t msg;

	r->msg = r->rcpt = SIZE_MAX;
	if (t1 == NULL || (t2 = memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 -
	    line))) == NULL)
		return;
	if (index_of(line, (size_t)(t1 - line), &msg) == 0 &&
	    index_of(t1 + 1, (size_t)(t2 - t1 - 1), &r->rcpt) == 0)
		r->msg = msg;
	else
		r->rcpt = SIZE_MAX;
}

/*
 * Parse one report line (with its LF) into r.  0, or -1 with err saying
 * what is wrong, and r->msg and r->rcpt set when the line's first two
 * fields are numbers (else SIZE_MAX), so that the caller can tell which
 * recipient a bad line was about.  Whether that recipient is the worker's
 * to report is the caller's to check.
 */
int
report_parse(const char *line, size_t len, struct report *r, char *err,
    size_t errsz)
{
	const char *f[7], *p = line, *end;
	size_t n[7], i;
	int k;

	memset(r, 0, sizeof *r);
	indices(line, len, r);
	if (len > REPORT_LINE_MAX)
		BAD("report line too long");
	if (len == 0 || line[len - 1] != '\n')
		BAD("report line without its end of line");
	end = line + len - 1;
	if (memchr(line, '\0', len) != NULL)
		BAD("NUL in a report line");
	for (i = 0; i < 7; i++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		if ((tab == NULL) != (i == 6))
			BAD(i < 6 ? "report line with too few fields" :
			    "report line with too many fields");
		f[i] = p;
		n[i] = (size_t)((tab ? tab : end) - p);
		p = tab ? tab + 1 : end;
	}
	if (r->msg == SIZE_MAX)
		BAD("report line with a malformed message or recipient number");
	for (k = R_SENT; k <= R_BOUNCED; k++)
		if (n[2] == strlen(kind_word[k]) &&
		    memcmp(f[2], kind_word[k], n[2]) == 0)
			break;
	if (k > R_BOUNCED)
		BAD("report line with an unknown outcome");
	r->st = (enum rstat)k;
	if (n[3] != 1 || (f[3][0] != '0' && f[3][0] != '1'))
		BAD("report line with a malformed DSN flag");
	r->passed = f[3][0] == '1';
	if (status_ok(f[4], n[4], kind_class[k]) < 0)
		BAD("report line with a malformed status code, or one of "
		    "another class than its outcome");
	if (printable(f[5], n[5]) < 0 || printable(f[6], n[6]) < 0)
		BAD("report line with unprintable text");
	if (copy(r->status, sizeof r->status, f[4], n[4]) < 0 ||
	    copy(r->mta, sizeof r->mta, f[5], n[5]) < 0 ||
	    copy(r->text, sizeof r->text, f[6], n[6]) < 0)
		BAD("report line with an over-long field");
	return 0;
}
