#ifndef ENQUEUE_H
#define ENQUEUE_H

/*
 * The queue's writer: how a new message enters the spool.  Two programs
 * write new messages, both through this module and nothing else:
 * sluice-enqueue (whatever runs it: sendmail, the runner's notices, a
 * before-queue chain, a batch) and sluice-smtpd, which by default writes
 * each accepted message itself instead of running sluice-enqueue for it
 * (doc/performance.md, "The queue written by sluice-smtpd").
 *
 * The hand-off is DESIGN.md's: the message is written into tmp/QID,
 * flock()ed from creation until it is renamed (a runner removes only the
 * tmp files it can lock: a killed writer's), fsynced, renamed into
 * incoming/QID, and incoming/ is fsynced before anyone is told it is
 * queued.
 *
 *	struct enq_spool sp;
 *	enq_spool_open(&sp, conf_spool());
 *	fd = enq_new_tmp(&sp, qid);		qid may be renewed
 *	... write the stream into fd ...
 *	cut_and_sync(fd);			fsutil.h
 *	enq_move(sp.fd, qid); close(fd);
 *	handoff_sync_folder(sp.fd, "incoming");
 *	enq_wake_runner(sp.fd);
 *
 * On a failure before the move: enq_abort(sp.fd, fd, qid).
 */

#include <sys/stat.h>

#include "qid.h"

struct enq_spool {
	const char *path;
	int fd;		/* the spool folder, O_DIRECTORY */
	struct stat st;	/* its owner's are the files */
};

/*
 * Open the spool folder (made if missing), close-on-exec: 0, or -1 with
 * errno set.
 */
int enq_spool_open(struct enq_spool *sp, const char *path);
/*
 * A new tmp/QID for writing, flock()ed: a done queue file the runner
 * kept (lib/qfree.h) when there is one, else a new file.  qid is the
 * one to use (a caller's, or qid_make's); it is replaced by a new one
 * when it names a message already queued or a tmp file that exists.
 * The tmp/ and incoming/ folders of a fresh spool are made.  A
 * descriptor at offset 0, or -1 with errno set.
 */
int enq_new_tmp(struct enq_spool *sp, char qid[QID_LEN + 1]);
/*
 * Rename tmp/QID into incoming/QID: 0, or -1 with errno set and tmp/QID
 * removed.  The caller keeps its descriptor (and so its lock) until then.
 */
int enq_move(int spool_fd, const char *qid);
/* Give up tmp/QID: close fd (unless -1) and remove it; errno is kept. */
void enq_abort(int spool_fd, int fd, const char *qid);
/* One byte into the spool's FIFO wakes sluice-runq; no reader, no runner. */
void enq_wake_runner(int spool_fd);

#endif
