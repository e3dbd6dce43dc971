#include "rewrite.h"

#include <string.h>

#include "log.h"

static int
put_tags(struct rewrite *rw)
{
	const char *t;
	size_t i;

	rw->tagged = 1;
	for (i = 0; i < rw->in->ntags; i++) {
		t = rw->in->tags[i]->text;
		if (stream_write_line(rw->w, t, strlen(t)) < 0)
			return -1;
	}
	return 0;
}


/*
 * Write a line of the message; the TAG fields go first, before the first
 * field: after any white-space lines a broken header starts with, which
 * would otherwise become the continuation of the last TAG field.
 */
static void
emit(struct rewrite *rw, const char *l, size_t n, int header)
{
	if (!rw->tagged && !(header && n > 0 && (l[0] == ' ' || l[0] == '\t')))
		rw->failed = put_tags(rw) < 0;
	if (!rw->failed)
		rw->failed = stream_write_line(rw->w, l, n) < 0;
}

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct rewrite *rw = ctx;

	if (p->origin == MIME_ENTITY) {
		rw->entity++;
		rw->line = 0;
	}
	return MIME_SKIP;
}

/* The edit that covers line k of header block ent, or NULL. */
static const struct edit *
edit_at(const struct inspect *in, size_t ent, size_t k)
{
	size_t i;

	for (i = 0; i < in->nedits; i++)
		if (in->edits[i].entity == ent && k >= in->edits[i].line &&
		    k < in->edits[i].line + in->edits[i].nlines)
			return &in->edits[i];
	return NULL;
}

static void
w_raw(void *ctx, const struct mime_part *p, enum mime_raw kind, const char *l,
    size_t n, int eol)
{
	struct rewrite *rw = ctx;
	const struct edit *e = NULL;
	const char *t;
	size_t k;

	(void)p;
	(void)eol;
	if (rw->failed)
		return;
	if (kind == MIME_RAW_HEADER && rw->entity > 0) {
		k = rw->line++;
		e = edit_at(rw->in, rw->entity - 1, k);
	}
	if (e == NULL) {
		emit(rw, l, n, kind == MIME_RAW_HEADER && rw->entity == 1);
		return;
	}
	/* The field's first line becomes the replacement; the rest go. */
	if (k == e->line && e->rule->action == RA_REPLACE) {
		t = e->rule->text;
		emit(rw, t, strlen(t), 1);
	}
}

void
rewrite_init(struct rewrite *rw)
{
	struct mime_limits lim;

	mime_limits_conf(&lim);
	if ((rw->walker = mime_new(&(struct mime_ops){ w_begin, w_raw, NULL, NULL },
	    rw, &lim)) == NULL)
		die_nomem();
}

int
rewrite_copy(struct rewrite *rw, const struct inspect *in, struct bodyfile *sp,
    struct stream_writer *w)
{
	const char *l;
	size_t n;
	int rc = 0, header = 1;

	if (bodyfile_rewind(sp) < 0)
		return -1;
	rw->in = in;
	rw->w = w;
	rw->entity = rw->line = 0;
	rw->failed = 0;
	rw->tagged = in->ntags == 0;
	mime_reset(rw->walker);
	while (!rw->failed && (rc = bodyfile_getline(sp, &l, &n)) == 1) {
		if (in->nedits > 0)
			mime_line(rw->walker, l, n);
		else
			emit(rw, l, n, header);
		header = header && n > 0;
	}
	if (in->nedits > 0)
		mime_end(rw->walker);
	if (!rw->tagged && !rw->failed)
		rw->failed = put_tags(rw) < 0;
	if (rw->failed || rc < 0)
		return -1;
	return stream_write_end(w);
}
