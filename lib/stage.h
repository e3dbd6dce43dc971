#ifndef STAGE_H
#define STAGE_H

/*
 * The loop of a filter stage: read the stream on standard input one
 * transaction at a time, hand each to the stage with a writer and a body
 * file, then end and flush.  A read error exits with the reader's code
 * and reason; a write error exits 111.  Nothing is written past a
 * failure, so the caller's output is all or nothing per run.
 *
 * stage_run(fn, ctx) is the common case: the writer is standard output,
 * the body file is made in bodyfile_tmpdir() on the first transaction
 * and reused.  stage_run_with() lets a stage bring its own body file
 * (opened before reading, or in a folder of its own), its own writer
 * (output held back, lib/hold), and work for the end of the input.
 */

#include "bodyfile.h"
#include "stream.h"

typedef void stage_txn_fn(struct stream_reader *rd, struct stream_writer *w,
    struct txn *t, struct bodyfile *sp, void *ctx);
/*
 * After the last transaction (failed 0): what the stage keeps for the
 * end, batches to write, folders to sync.  Also before the exit on a read
 * error (failed 1), for what must be done even then.
 */
typedef void stage_end_fn(struct stream_writer *w, int failed, void *ctx);

struct stage {
	stage_txn_fn *txn;	/* each transaction */
	void *ctx;
	/* The stage's own body file, open; NULL: made on the first message. */
	struct bodyfile *body;
	const char *body_dir;	/* where it is made; NULL: bodyfile_tmpdir() */
	int no_body;		/* none at all: txn gets NULL */
	/*
	 * The stage's own writer, flushed by the stage (in end); NULL: one on
	 * standard output, flushed by stage_run_with after end.
	 */
	struct stream_writer *out;
	stage_end_fn *end;	/* NULL when there is nothing to do */
};

void stage_run(stage_txn_fn *fn, void *ctx);
void stage_run_with(const struct stage *);
/*
 * The end of a transaction that failed: with read_failed (set by the
 * stream functions that read), the reader's code and reason; else a write
 * error, 111.
 */
void stage_fail(const struct stream_reader *rd, int read_failed)
    __attribute__((noreturn));
/* A transaction the stage leaves alone: copied through (else stage_fail). */
void stage_copy(struct stream_reader *rd, struct stream_writer *w, const struct txn *t);
/*
 * sp emptied for a new body, made first if deferred (bodyfile_defer); else
 * exit 111 naming the folder it could not be made in.
 */
void stage_reset(struct bodyfile *sp);
/* A transaction's body read into sp, emptied first (else stage_fail). */
void stage_spool(struct stream_reader *rd, struct bodyfile *sp);

#endif
