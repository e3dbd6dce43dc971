#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mimehdr.h"

#define TAG_NAME "X-Sluice-Attach"

/* Printable ASCII only, no quotes or '=' (the text may land in a QP part). */
static void
describe(const struct mime_part *p, char *buf, size_t size)
{
	char name[PLAN_NAME_MAX + 1];
	size_t i;

	snprintf(name, sizeof name, "%s", p->filename);
	for (i = 0; name[i]; i++)
		if (name[i] < ' ' || name[i] > '~' || name[i] == '"' || name[i] == '\'' ||
		    name[i] == '=')
			name[i] = '?';
	if (*name)
		snprintf(buf, size, "'%s' (%s)", name, p->type);
	else
		snprintf(buf, size, "(%s)", p->type);
	for (i = 0; buf[i]; i++)
		if (buf[i] < ' ' || buf[i] > '~' || buf[i] == '=')
			buf[i] = '?';
}

static struct cut *
add_cut(struct plan *pl, const struct mime_part *p, int kind, unsigned long first)
{
	struct cut *c;

	if (pl->n == pl->alloc) {
		size_t a = pl->alloc ? pl->alloc * 2 : 8;

		if ((c = realloc(pl->cut, a * sizeof *c)) == NULL)
			die_nomem();
		pl->cut = c;
		pl->alloc = a;
	}
	c = &pl->cut[pl->n++];
	c->first = c->end = first;
	c->kind = kind;
	describe(p, c->what, sizeof c->what);
	return c;
}

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct plan *pl = ctx;

	if (pl->removing || !rules_match(pl->rules, p))
		return MIME_SKIP;
	if (p->origin != MIME_ENTITY) {
		/* Begun after its "begin" line was given raw. */
		add_cut(pl, p, CUT_FILE, pl->line - 1);
		pl->file_open = 1;
	} else if (p->depth > 0) {
		add_cut(pl, p, CUT_PART, pl->line);
		pl->removing = p->depth + 1;
	} else if (!p->container) {
		add_cut(pl, p, CUT_MESSAGE, 0);
		pl->removing = 1;
	}
	return MIME_SKIP;
}

static void
w_raw(void *ctx, const struct mime_part *p, enum mime_raw kind, const char *s,
    size_t n, int eol)
{
	struct plan *pl = ctx;

	(void)s;
	(void)eol;
	if (p->depth == 0 && !pl->have_body && p->origin == MIME_ENTITY) {
		if (kind == MIME_RAW_HEADER && n == 0) {
			pl->body = pl->line + 1;
			pl->have_body = pl->blank = 1;
		} else if (kind != MIME_RAW_HEADER) {
			pl->body = pl->line;
			pl->have_body = 1;
		}
	}
	pl->line++;
}

static void
w_end(void *ctx, const struct mime_part *p)
{
	struct plan *pl = ctx;
	struct cut *c = pl->n ? &pl->cut[pl->n - 1] : NULL;

	if (p->origin != MIME_ENTITY) {
		if (pl->file_open)
			c->end = pl->line;
		pl->file_open = 0;
		return;
	}
	if (!pl->removing || p->depth + 1 != pl->removing)
		return;
	pl->removing = 0;
	if (c->kind == CUT_MESSAGE)
		c->first = pl->have_body ? pl->body : pl->line;
	c->end = pl->line;
}

void
plan_init(struct plan *pl, const struct rules *rs)
{
	struct mime_limits lim;

	memset(pl, 0, sizeof *pl);
	pl->rules = rs;
	mime_limits_conf(&lim);
	if ((pl->walker = mime_new(&(struct mime_ops){ w_begin, w_raw, NULL, w_end },
	    pl, &lim)) == NULL)
		die_nomem();
}

int
plan_walk(struct plan *pl, struct bodyfile *sp)
{
	const char *l;
	size_t n;
	int rc;

	pl->n = 0;
	pl->line = pl->body = 0;
	pl->have_body = pl->blank = 0;
	pl->removing = 0;
	pl->file_open = 0;
	mime_reset(pl->walker);
	if (bodyfile_rewind(sp) < 0)
		return -1;
	while ((rc = bodyfile_getline(sp, &l, &n)) == 1)
		mime_line(pl->walker, l, n);
	mime_end(pl->walker);
	pl->flags = mime_flags(pl->walker);
	return rc;
}

/* ---- pass 2 */

static int
put(struct stream_writer *w, const char *s)
{
	return stream_write_line(w, s, strlen(s));
}

/* text with its first %s replaced by what, cut to one line. */
static int
put_text(struct stream_writer *w, const char *text, const char *what)
{
	const char *pc = strstr(text, "%s");
	char line[990];

	if (pc == NULL)
		snprintf(line, sizeof line, "%s", text);
	else
		snprintf(line, sizeof line, "%.*s%s%s", (int)(pc - text), text, what, pc + 2);
	return put(w, line);
}

static int
put_cut(struct stream_writer *w, const struct cut *c, const char *text)
{
	if (c->kind == CUT_PART && (put(w, "Content-Type: text/plain; charset=us-ascii") < 0 ||
	    put(w, "Content-Transfer-Encoding: 7bit") < 0 ||
	    put(w, "Content-Disposition: inline") < 0 || put(w, "") < 0))
		return -1;
	return put_text(w, text, c->what);
}

static int
field_is(const char *l, size_t n, const char *name)
{
	size_t k = strlen(name), i = k;

	if (n < k || strncasecmp(l, name, k) != 0)
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < n && l[i] == ':';
}

/* A field of the message's header that pass 2 leaves out. */
static int
drop_field(const char *l, size_t n, int tag, int message_cut)
{
	return (tag && field_is(l, n, TAG_NAME)) || (message_cut &&
	    (field_is(l, n, "Content-Type") || field_is(l, n, "Content-Transfer-Encoding") ||
	    field_is(l, n, "Content-Disposition")));
}

static int
put_message_fields(struct stream_writer *w)
{
	return put(w, "Content-Type: text/plain; charset=us-ascii") < 0 ||
	    put(w, "Content-Transfer-Encoding: 7bit") < 0 ? -1 : 0;
}

int
plan_copy(const struct plan *pl, struct bodyfile *sp, struct stream_writer *w,
    const char *tag, const char *text)
{
	const struct cut *c = pl->cut, *ce = pl->cut + pl->n;
	unsigned long i = 0, hend = pl->have_body ? pl->body - (unsigned long)pl->blank : ~0UL;
	int mcut = pl->n > 0 && pl->cut[0].kind == CUT_MESSAGE, rc, dropping = 0;
	int tagged = tag == NULL;
	const char *l;
	size_t n;

	if (bodyfile_rewind(sp) < 0)
		return -1;
	for (; (rc = bodyfile_getline(sp, &l, &n)) == 1; i++) {
		/*
		 * The tag goes before the first field: after any white-space
		 * lines a broken header starts with, which would otherwise
		 * become its continuation.
		 */
		if (!tagged && !(i < hend && n > 0 && (l[0] == ' ' || l[0] == '\t'))) {
			if (put(w, tag) < 0)
				return -1;
			tagged = 1;
		}
		for (; c < ce && c->first == i && c->end == i; c++)
			if (put_cut(w, c, text) < 0)
				return -1;
		if (c < ce && i >= c->first) {
			if (i == c->first && c->kind == CUT_MESSAGE && !pl->blank &&
			    (put_message_fields(w) < 0 || put(w, "") < 0))
				return -1;
			if (i + 1 == c->end && put_cut(w, c++, text) < 0)
				return -1;
			continue;
		}
		if (i < hend) {
			if (!dropping || (n > 0 && l[0] != ' ' && l[0] != '\t'))
				dropping = drop_field(l, n, tag != NULL, mcut);
			if (dropping)
				continue;
		}
		if (mcut && pl->blank && i == hend && put_message_fields(w) < 0)
			return -1;
		if (stream_write_line(w, l, n) < 0)
			return -1;
	}
	if (rc < 0 || (!tagged && put(w, tag) < 0))
		return -1;
	if (mcut && !pl->have_body && (put_message_fields(w) < 0 || put(w, "") < 0))
		return -1;
	for (; c < ce; c++)
		if (put_cut(w, c, text) < 0)
			return -1;
	return stream_write_end(w);
}
