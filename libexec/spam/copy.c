#include "copy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_ 998	/* RFC 5322 2.1.1 */

/* Rule names and reasons: printable ASCII only, they go in a header. */
static void
clean(char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s > '~')
			*s = '?';
}

/* Append s (n octets) to buf, after a fold when the line would pass 76. */
static void
append(char *buf, size_t size, size_t *col, const char *s, size_t n)
{
	size_t len = strlen(buf);

	if (*col + n > 76 && *col > 30) {
		snprintf(buf + len, size - len, "\n\t");
		len += 2;
		*col = 8;
	}
	snprintf(buf + len, size - len, "%.*s", (int)n, s);
	*col += n;
}

void
copy_tags(char *buf, size_t size, const struct spamc_result *r, const char *why)
{
	char sym[SPAMC_SYMBOLS_MAX + 1], stars[51], *s, *comma;
	size_t col;
	int i;

	if (r == NULL) {
		snprintf(sym, sizeof sym, "%s", why);
		clean(sym);
		snprintf(buf, size, "X-Spam-Status: unscanned (%.900s)", sym);
		return;
	}
	for (i = 0; i < 50 && i + 1 <= r->score; i++)
		stars[i] = '*';
	stars[i] = '\0';
	snprintf(buf, size, "%sX-Spam-Score: %.1f\n%s%s%sX-Spam-Status: %s, score=%.1f "
	    "required=%.1f tests=", r->spam ? "X-Spam-Flag: YES\n" : "", r->score,
	    *stars ? "X-Spam-Level: " : "", stars, *stars ? "\n" : "",
	    r->spam ? "Yes" : "No", r->score, r->required);
	col = strlen(strrchr(buf, '\n') + 1);
	snprintf(sym, sizeof sym, "%s", *r->symbols ? r->symbols : "none");
	clean(sym);
	/* tests=A,B,C folded after a comma, as SpamAssassin writes it. */
	for (s = sym; *s; s = comma + 1) {
		if ((comma = strchr(s, ',')) == NULL) {
			append(buf, size, &col, s, strlen(s));
			break;
		}
		append(buf, size, &col, s, (size_t)(comma - s) + 1);
	}
}

static int
is_ours(const char *l, size_t n)
{
	return n > 7 && strncasecmp(l, "X-Spam-", 7) == 0 && memchr(l, ':', n) != NULL;
}

static int
put_lines(const struct copy *c, const char *text)
{
	const char *nl;

	while (*text) {
		nl = strchr(text, '\n');
		if (c->put(c->ctx, text, nl ? (size_t)(nl - text) : strlen(text)) < 0)
			return -1;
		if (nl == NULL)
			break;
		text = nl + 1;
	}
	return 0;
}

static int
envelope(const struct copy *c)
{
	char line[LINE_MAX_ + 1];
	size_t i;

	snprintf(line, sizeof line, "X-Spam-Envelope-From: <%.900s>", c->env->from);
	if (c->put(c->ctx, line, strlen(line)) < 0)
		return -1;
	for (i = 0; i < c->env->nrcpt; i++) {
		snprintf(line, sizeof line, "%s<%.900s>%s", i ? "\t" : "X-Spam-Envelope-To: ",
		    c->env->rcpt[i].addr, i + 1 < c->env->nrcpt ? "," : "");
		if (c->put(c->ctx, line, strlen(line)) < 0)
			return -1;
	}
	return 0;
}

/* "Subject: PREFIX text"; folded when the line would be too long. */
static int
subject(const struct copy *c, const char *l, size_t n)
{
	char line[LINE_MAX_ + 1];
	const char *v = l + 8;
	size_t vn = n - 8, pn = strlen(c->prefix);

	while (vn > 0 && (*v == ' ' || *v == '\t'))
		v++, vn--;
	/* Seen before (a retried message): prefixed once only. */
	if (vn >= pn && memcmp(v, c->prefix, pn) == 0)
		return c->put(c->ctx, l, n);
	if (9 + pn + vn <= LINE_MAX_) {
		snprintf(line, sizeof line, "Subject: %s%.*s", c->prefix, (int)vn, v);
		return c->put(c->ctx, line, strlen(line));
	}
	snprintf(line, sizeof line, "Subject: %s", c->prefix);
	if (c->put(c->ctx, line, strlen(line)) < 0)
		return -1;
	line[0] = ' ';
	return c->put(c->ctx, line, (size_t)snprintf(line + 1, sizeof line - 1, "%.*s",
	    (int)vn, v) + 1);
}

static int
missing_subject(const struct copy *c)
{
	char line[LINE_MAX_ + 1];
	size_t n;

	n = (size_t)snprintf(line, sizeof line, "Subject: %.900s", c->prefix);
	while (n > 9 && line[n - 1] == ' ')
		n--;
	return c->put(c->ctx, line, n);
}

static int
put_ours(const struct copy *c)
{
	if (put_lines(c, c->tags) < 0 || (c->env != NULL && envelope(c) < 0))
		return -1;
	return 0;
}

int
copy_message(const struct copy *c, struct bodyfile *sp)
{
	const char *l;
	size_t n;
	int rc, header = 1, dropping = 0, subj = 0, tagged = 0;

	if (bodyfile_rewind(sp) < 0)
		return -1;
	while ((rc = bodyfile_getline(sp, &l, &n)) == 1) {
		/*
		 * Our fields go before the first field: after any white-space
		 * lines a broken header starts with, which would otherwise
		 * become the continuation of our last field.
		 */
		if (!tagged && !(header && n > 0 && (l[0] == ' ' || l[0] == '\t'))) {
			if (put_ours(c) < 0)
				return -1;
			tagged = 1;
		}
		if (header && n == 0) {
			header = 0;
			/* A message without a Subject gets one with the prefix alone. */
			if (c->prefix && !subj && missing_subject(c) < 0)
				return -1;
		} else if (header) {
			if (dropping && (l[0] == ' ' || l[0] == '\t'))
				continue;
			if ((dropping = is_ours(l, n)))
				continue;
			if (c->prefix && !subj && n >= 8 && strncasecmp(l, "Subject:", 8) == 0) {
				subj = 1;
				if (subject(c, l, n) < 0)
					return -1;
				continue;
			}
		}
		if (c->put(c->ctx, l, n) < 0)
			return -1;
	}
	if (rc < 0 || (!tagged && put_ours(c) < 0))
		return -1;
	return 0;
}
