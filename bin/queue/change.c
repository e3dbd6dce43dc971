/*
 * change: hold, release, delete and requeue, one message at a time, each
 * under the message's lock (a message in a running chain is left alone)
 * and each logged with the queue id and the uid of who did it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"

int
change_hold(struct queue *q, const char *qid)
{
	struct qfile f;
	int rc = qfile_find(q, qid, QBIT(Q_INCOMING) | QBIT(Q_DEFERRED) |
	    QBIT(Q_HOLD), &f);
	enum qdir from = f.dir;

	if (rc != 0)
		return rc;
	if (f.dir == Q_HOLD)
		log_info("qid=%s action=hold uid=%lu: already held", qid,
		    (unsigned long)q->uid);
	else if (qfile_move(q, &f, Q_HOLD, 0) < 0)
		rc = EXIT_TEMP;
	else
		log_info("qid=%s action=hold from=%s uid=%lu", qid, qfile_dirs[from],
		    (unsigned long)q->uid);
	qfile_unlock(q, &f);
	return rc;
}

/* Released mail goes to incoming/: tried at once, the runner woken. */
int
change_release(struct queue *q, const char *qid)
{
	struct qfile f;
	int rc = qfile_find(q, qid, QBIT(Q_HOLD), &f);

	if (rc != 0)
		return rc;
	if (qfile_move(q, &f, Q_INCOMING, time(NULL)) < 0)
		rc = EXIT_TEMP;
	else {
		log_info("qid=%s action=release uid=%lu", qid, (unsigned long)q->uid);
		qfile_wake(q);
	}
	qfile_unlock(q, &f);
	return rc;
}

/* The record of its delivered recipients goes with a message. */
static void
remove_record(const struct queue *q, const char *qid)
{
	char path[64];

	snprintf(path, sizeof path, "delivered/%s", qid);
	if (unlinkat(q->spool_fd, path, 0) < 0 && errno != ENOENT)
		log_warn("qid=%s unable to remove %s/%s: %s", qid, q->spool, path,
		    strerror(errno));
}

int
change_delete(struct queue *q, const char *qid)
{
	struct qfile f;
	int rc = qfile_find(q, qid, ~0u, &f);

	if (rc != 0)
		return rc;
	if (unlinkat(q->spool_fd, f.path, 0) < 0) {
		log_warn("qid=%s unable to remove %s/%s: %s", qid, q->spool, f.path,
		    strerror(errno));
		rc = EXIT_TEMP;
	} else {
		/* A copy a crash left in deferred/ beside incoming/ goes too. */
		if (f.dir == Q_INCOMING) {
			snprintf(f.path, sizeof f.path, "deferred/%s", qid);
			unlinkat(q->spool_fd, f.path, 0);
		}
		remove_record(q, qid);
		log_info("qid=%s action=delete from=%s uid=%lu", qid,
		    qfile_dirs[f.dir], (unsigned long)q->uid);
	}
	qfile_unlock(q, &f);
	return rc;
}

/*
 * What an earlier run decided about a recipient: its route, that it came
 * out of an alias, its last error.  Without them it goes through the
 * current tables again.  X-WARNED stays: its delay notice was sent.
 */
static size_t
drop_routing(struct txn *t)
{
	static const char *const keys[] = { "X-ROUTE", "X-EXPANDED", "X-DEFER" };
	size_t i, k, n = 0;

	for (i = 0; i < t->nrcpt; i++)
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (xparam_get(t->rcpt[i].x, t->rcpt[i].nx, keys[k]) != NULL) {
				xparam_del(t->rcpt[i].x, &t->rcpt[i].nx, keys[k]);
				n++;
			}
	return n;
}

/*
 * A requeued message goes to incoming/ (a held one stays held), written
 * before the old file goes: a crash between leaves both, and the runner
 * runs the incoming/ copy and removes the other (doc/internals.md, Ids).
 * Delivered recipients are no longer in the file, and delivered/ keeps
 * the record of those of an interrupted run.
 */
int
change_requeue(struct queue *q, const char *qid)
{
	struct stream_reader r;
	struct qfile f;
	struct txn t;
	enum qdir to;
	size_t n;
	int fd, rc = qfile_find(q, qid, QBIT(Q_INCOMING) | QBIT(Q_DEFERRED) |
	    QBIT(Q_HOLD) | QBIT(Q_BAD), &f);

	if (rc != 0)
		return rc;
	to = f.dir == Q_HOLD ? Q_HOLD : Q_INCOMING;
	txn_init(&t);
	if ((fd = qfile_read(q, &f, &r, &t)) < 0)
		rc = EXIT_TEMP;
	else {
		n = drop_routing(&t);
		if (qfile_write(q, &f, &t, &r, NULL, to, 0) < 0)
			rc = EXIT_TEMP;
		else if (f.dir != to && unlinkat(q->spool_fd, f.path, 0) < 0) {
			log_warn("qid=%s unable to remove %s/%s: %s", qid, q->spool,
			    f.path, strerror(errno));
			rc = EXIT_TEMP;
		}
		if (rc == 0) {
			log_info("qid=%s action=requeue from=%s to=%s nrcpt=%zu "
			    "dropped=%zu uid=%lu", qid, qfile_dirs[f.dir],
			    qfile_dirs[to], t.nrcpt, n, (unsigned long)q->uid);
			qfile_wake(q);
		}
		stream_reader_free(&r);
		close(fd);
	}
	txn_free(&t);
	qfile_unlock(q, &f);
	return rc;
}
