/*
 * sluice-disclaimer: put a text and/or HTML disclaimer into each message,
 * chosen by where the message came from, in the parts a reader sees;
 * signed and encrypted messages pass unchanged.  See sluice-disclaimer(8).
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "content.h"
#include "prequeue.h"
#include "insert.h"
#include "log.h"
#include "matrix.h"
#include "stage.h"
#include "stream.h"
#include "texts.h"

struct disclaimer {
	struct texts texts;
	struct matrix mx;
	struct insert ins;
};

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

/* The body from the spool (spooled) or straight from the stream. */
static void
walk(struct disclaimer *s, struct stream_reader *rd, struct bodyfile *sp, int spooled)
{
	const char *l;
	size_t n;
	int rc;

	if (spooled && bodyfile_rewind(sp) < 0)
		die_sys("unable to read the spooled message");
	while ((rc = spooled ? bodyfile_getline(sp, &l, &n) : stream_read_line(rd, &l, &n)) == 1)
		insert_line(&s->ins, l, n);
	if (rc < 0 && spooled)
		die_sys("unable to read the spooled message");
	if (rc < 0)
		die(rd->exit_code, "%s", rd->err);
}

static void
disclaimer_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct disclaimer *s = ctx;
	const struct dtext *d;
	char err[600];
	int rf = 0, m = texts_any(&s->texts) ?
	    matrix_txn(&s->mx, "disclaimer", rd, w, t, sp, &rf) : MATRIX_NONE;

	if (m == -1)
		goto fail;
	if (m == MATRIX_NONE) {
		if (!texts_any(&s->texts))
			stage_copy(rd, w, t);
		return;
	}
	if (texts_for(&s->texts, t, &d, err, sizeof err) < 0)
		die(EXIT_TEMP, "4.3.5 %s", err);
	if (d->text == NULL && d->html == NULL) {
		if (stream_write_head(w, t) < 0 || (m == MATRIX_SOME ?
		    bodyfile_write_stream(sp, w) : stream_copy_body(rd, w, &rf)) < 0)
			goto fail;
		return;
	}
	if (stream_write_head(w, t) < 0)
		goto fail;
	s->ins.w = w;
	insert_begin(&s->ins, d);
	walk(s, rd, sp, m == MATRIX_SOME);
	if (insert_end(&s->ins) < 0 || stream_write_end(w) < 0)
		goto fail;
	log_info("qid=%s disclaimer=%s parts=%zu", qid_of(t), s->ins.leave ?
	    "none reason=signed_or_encrypted" : s->ins.parts ? "added" : "none", s->ins.parts);
	return;
fail:
	stage_fail(rd, rf);
}

static void
settings(void *ctx)
{
	struct disclaimer *s = ctx;
	char err[600];

	if (texts_load(&s->texts, err, sizeof err) < 0)
		die(EXIT_TEMP, "4.3.5 %s", err);
	/* The writer is each transaction's, given in disclaimer_txn. */
	insert_init(&s->ins, NULL);
}

int
main(int argc, char **argv)
{
	static struct disclaimer s;
	static const struct content_stage cs = {
		.usage = "usage: sluice-disclaimer [-- queue-program [args...]] < stream > stream\n"
		    "See sluice-disclaimer(8).\n",
		.settings = settings, .mx = &s.mx, .txn = disclaimer_txn, .ctx = &s,
	};

	return content_stage_run(&cs, argc, argv);
}
