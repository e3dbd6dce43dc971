#include "stage.h"

#include "log.h"

void
stage_run(stage_txn_fn *fn, void *ctx)
{
	struct stream_reader rd;
	struct stream_writer w;
	struct bodyfile sp;
	struct txn t;
	int rc, spooled = 0;

	if (stream_reader_init(&rd, 0, "stdin") < 0 ||
	    stream_writer_init(&w, 1, 0) < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&rd, &t)) == 1) {
		if (!spooled) {
			/* Opened once, on the first message, and reused. */
			if (bodyfile_open(&sp, bodyfile_tmpdir()) < 0)
				die_sys("unable to create a body file in %s",
				    bodyfile_tmpdir());
			spooled = 1;
		}
		fn(&rd, &w, &t, &sp, ctx);
	}
	if (rc < 0)
		die(rd.exit_code, "%s", rd.err);
	if (stream_flush(&w) < 0)
		die_sys("unable to write");
	if (spooled)
		bodyfile_close(&sp);
	txn_free(&t);
	stream_reader_free(&rd);
	stream_writer_free(&w);
}
