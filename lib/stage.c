#include "stage.h"

#include "log.h"

void
stage_run(stage_txn_fn *fn, void *ctx)
{
	const struct stage s = { .txn = fn, .ctx = ctx };

	stage_run_with(&s);
}

/*
 * The body file, made once, when a message is first spooled, and reused:
 * a run whose messages all pass through untouched makes none (an inode
 * allocated and released per run, bodyfile.h).
 */
static struct bodyfile *
body_of(const struct stage *s, struct bodyfile *own, int *made)
{
	if (s->body != NULL || s->no_body)
		return s->body;
	if (!*made) {
		bodyfile_defer(own, s->body_dir ? s->body_dir : bodyfile_tmpdir());
		*made = 1;
	}
	return own;
}

void
stage_run_with(const struct stage *s)
{
	struct stream_reader rd;
	struct stream_writer stdout_w, *w = s->out ? s->out : &stdout_w;
	struct bodyfile own;
	struct txn t;
	int rc, made = 0;

	if (stream_reader_init(&rd, 0, "stdin") < 0 ||
	    (s->out == NULL && stream_writer_init(&stdout_w, 1, 0) < 0))
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&rd, &t)) == 1)
		s->txn(&rd, w, &t, body_of(s, &own, &made), s->ctx);
	if (rc < 0) {
		if (s->end != NULL)
			s->end(w, 1, s->ctx);
		die(rd.exit_code, "%s", rd.err);
	}
	if (s->end != NULL)
		s->end(w, 0, s->ctx);
	if (s->out == NULL && stream_flush(w) < 0)
		die_sys("unable to write");
	if (made)
		bodyfile_close(&own);
	txn_free(&t);
	stream_reader_free(&rd);
	if (s->out == NULL)
		stream_writer_free(&stdout_w);
}

void
stage_fail(const struct stream_reader *rd, int read_failed)
{
	if (read_failed)
		die(rd->exit_code, "%s", rd->err);
	die_sys("unable to write");
}

void
stage_copy(struct stream_reader *rd, struct stream_writer *w, const struct txn *t)
{
	int rf = 0;

	if (stream_write_head(w, t) < 0 || stream_copy_body(rd, w, &rf) < 0)
		stage_fail(rd, rf);
}

void
stage_reset(struct bodyfile *sp)
{
	if (bodyfile_reset(sp) < 0) {
		if (sp->fd < 0 && sp->dir != NULL)
			die_sys("unable to create a body file in %s", sp->dir);
		die_sys("unable to spool a message");
	}
}

void
stage_spool(struct stream_reader *rd, struct bodyfile *sp)
{
	int rf = 0;

	stage_reset(sp);
	if (bodyfile_from_stream(sp, rd, &rf) < 0)
		stage_fail(rd, rf);
}
