#ifndef CONTENT_H
#define CONTENT_H

/*
 * The start-up and run of a content stage (sluice-checks, sluice-spam,
 * sluice-scan, sluice-attach, sluice-disclaimer), the same in each:
 *   - the arguments: none (a filter in the chain), or "-- queue-program
 *     [args...]" (before the queue, lib/prequeue.h); --help and bad
 *     usage as lib/usage.h says;
 *   - SIGPIPE ignored: a reader gone is a write error, reported;
 *   - the stage's settings (settings(ctx)), then the channel action
 *     matrix into *mx (sluice-content(5)); a setting or a row that does
 *     not parse exits 111 with 4.3.5 before any input is read;
 *   - the queue program started, when there is one: from then on
 *     prequeue_active() tells the stage it may refuse with
 *     prequeue_reject() instead of bouncing;
 *   - each transaction to txn (lib/stage.h).
 * Returns the exit status: the queue program's, or 0 in the chain.
 * Nothing is freed at the end: the exit gives the memory back at once,
 * where a free of each walker's and table's blocks was an munmap, and in
 * a process that ran on both CPUs an interrupt of the other to flush its
 * TLB, a seventh of a pass-through stage's time (doc/performance.md).
 */

#include "matrix.h"
#include "stage.h"

struct content_stage {
	const char *usage;		/* "usage: sluice-NAME ...\nSee ...\n" */
	void (*settings)(void *ctx);	/* dies on a bad setting; NULL: none */
	struct matrix *mx;		/* the stage's, loaded after its settings */
	stage_txn_fn *txn;		/* each transaction */
	void *ctx;
};

int content_stage_run(const struct content_stage *, int argc, char **argv);

#endif
