#ifndef STAGE_H
#define STAGE_H

/*
 * The loop of a filter stage: read the stream on standard input one
 * transaction at a time, hand each to the stage with the writer on
 * standard output and a body file (opened on the first transaction, in
 * bodyfile_tmpdir(), and reused), then flush.  A read error exits with the
 * reader's code and reason; a write error exits 111.  Nothing is written
 * past a failure, so the caller's output is all or nothing per run.
 */

#include "bodyfile.h"
#include "stream.h"

typedef void stage_txn_fn(struct stream_reader *rd, struct stream_writer *w,
    struct txn *t, struct bodyfile *sp, void *ctx);

void stage_run(stage_txn_fn *fn, void *ctx);

#endif
