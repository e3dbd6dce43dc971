#include "rewrite.h"

#include <string.h>

#include "log.h"

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
		rw->failed = stream_write_line(rw->w, l, n) < 0;
		return;
	}
	/* The field's first line becomes the replacement; the rest go. */
	if (k == e->line && e->rule->action == RA_REPLACE) {
		t = e->rule->text;
		rw->failed = stream_write_line(rw->w, t, strlen(t)) < 0;
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
rewrite_copy(struct rewrite *rw, const struct inspect *in, struct spool *sp,
    struct stream_writer *w)
{
	const char *l;
	size_t n, i;
	int rc = 0;

	if (spool_rewind(sp) < 0)
		return -1;
	for (i = 0; i < in->ntags; i++)
		if (stream_write_line(w, in->tags[i]->text, strlen(in->tags[i]->text)) < 0)
			return -1;
	if (in->nedits == 0) {
		while ((rc = spool_getline(sp, &l, &n)) == 1)
			if (stream_write_line(w, l, n) < 0)
				return -1;
		return rc < 0 ? -1 : stream_write_end(w);
	}
	rw->in = in;
	rw->w = w;
	rw->entity = rw->line = 0;
	rw->failed = 0;
	mime_reset(rw->walker);
	while (!rw->failed && (rc = spool_getline(sp, &l, &n)) == 1)
		mime_line(rw->walker, l, n);
	mime_end(rw->walker);
	if (rw->failed || rc < 0)
		return -1;
	return stream_write_end(w);
}
