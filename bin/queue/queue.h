#ifndef QUEUE_H
#define QUEUE_H

/*
 * sluice-queue's modules (file = module = function prefix): qfile (find,
 * lock, read and rewrite one queue file), show (print one message, as
 * postcat), change (hold, release, delete, requeue), bounce (return a
 * message to its sender with a reason).  See sluice-queue(8).
 */

#include <stddef.h>
#include <sys/types.h>

#include "qid.h"
#include "bodyfile.h"
#include "stream.h"

/* The spool's folders a message may be in, as the tool sees them. */
enum qdir { Q_INCOMING, Q_DEFERRED, Q_HOLD, Q_BAD, Q_DEAD, Q_QUARANTINE,
	Q_NDIRS };
extern const char *const qfile_dirs[Q_NDIRS];

/* What every verb shares: the spool, open, and who runs the tool. */
struct queue {
	const char *spool;
	int spool_fd;
	int lock_fd;		/* spool/msglock (lib/qlock.h) */
	uid_t uid;		/* the real uid, for the log */
	uid_t owner;		/* the spool's owner */
	gid_t group;
};

/* One message the tool works on, found and locked. */
struct qfile {
	char qid[QID_LEN + 1];
	enum qdir dir;
	char path[64];		/* under the spool: "deferred/QID" */
	int locked;
};

/* qfile.c */
/* Open the spool; to_change: refuse a caller not root nor its owner. */
void qfile_open_spool(struct queue *, int to_change);
/*
 * Find qid in the folders of mask (bits 1 << enum qdir) and lock it
 * without waiting: 0; after a warning, EXIT_TEMP when it is in a running
 * chain ("try again"), EXIT_PERM when there is no such message.
 */
int qfile_find(struct queue *, const char *qid, unsigned mask, struct qfile *);
void qfile_unlock(struct queue *, struct qfile *);
/* Every queue id in the folders of mask, sorted; *n of them (malloc'd). */
char (*qfile_list(struct queue *, unsigned mask, size_t *n))[QID_LEN + 1];
/*
 * Write t and the body (from r, or from sp when r is NULL) into
 * tmp/QID.queue, synced and given to the spool's owner, then rename it to
 * dir/QID with mtime (0: now) and sync dir.  0, or -1 after a warning.
 */
int qfile_write(struct queue *, const struct qfile *, struct txn *t,
    struct stream_reader *r, struct bodyfile *sp, enum qdir dir, time_t mtime);
/* Rename a message into another folder, mtime set (0: keep); 0 or -1. */
int qfile_move(struct queue *, struct qfile *, enum qdir to, time_t mtime);
/* Wake a running runner (a byte on the trigger); harmless without one. */
void qfile_wake(const struct queue *);
/* Open the file for reading with a stream reader; fd, or -1 after a warning. */
int qfile_read(struct queue *, const struct qfile *, struct stream_reader *,
    struct txn *);

/* show.c: sections */
#define SHOW_ENV 1
#define SHOW_HDR 2
#define SHOW_BODY 4
int show_message(struct queue *, const char *arg, int what);

/* The verbs return 0, EXIT_TEMP or EXIT_PERM, a warning logged. */
#define QBIT(d) (1u << (d))

/* change.c */
int change_hold(struct queue *, const char *qid);
int change_release(struct queue *, const char *qid);
int change_delete(struct queue *, const char *qid);
int change_requeue(struct queue *, const char *qid);

/* bounce.c */
int bounce_message(struct queue *, const char *qid, const char *reason);

#endif
