/*
 * bounce: return a message to its sender with the administrator's reason,
 * as an RFC 3464 notice made by lib/dsn as the policy stage sluice-retry
 * makes its bounces, queued through sluice-enqueue (the queue's one
 * writer); the message goes only once the notice is queued.  A double
 * bounce nobody can take goes to dead/, as the runner's would.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "log.h"
#include "prog.h"
#include "queue.h"

#define REASON_DEFAULT "5.0.0 returned to the sender by the postmaster"

/* "5.x.y text" into its status and text; a reason without one gets 5.0.0. */
static void
split_reason(const char *reason, char *status, size_t size, const char **text)
{
	size_t n = strspn(reason, "0123456789.");

	if (n >= 5 && n < size && reason[0] == '5' && reason[1] == '.' &&
	    (reason[n] == ' ' || reason[n] == '\0')) {
		memcpy(status, reason, n);
		status[n] = '\0';
		for (reason += n; *reason == ' '; reason++)
			;
		*text = reason;
	} else {
		snprintf(status, size, "5.0.0");
		*text = reason;
	}
}

/* The notice into sluice-enqueue; 0, or -1 after a warning. */
static int
enqueue_notice(const struct txn *t, struct bodyfile *sp, const char *qid,
    const char *reason, int *kind)
{
	struct dsn_rcpt *dr = calloc(t->nrcpt ? t->nrcpt : 1, sizeof *dr);
	char *argv[] = { "sluice-enqueue", NULL }, status[32];
	struct stream_writer w;
	struct dsn d;
	const char *text;
	size_t i;
	pid_t pid;
	int p[2], rc;

	if (dr == NULL)
		die_nomem();
	split_reason(reason, status, sizeof status, &text);
	for (i = 0; i < t->nrcpt; i++) {
		dr[i].rcpt = &t->rcpt[i];
		dr[i].status = status;
		dr[i].diag = text;
	}
	memset(&d, 0, sizeof d);
	d.orig = t;
	d.qid = qid;
	d.action = DSN_FAILED;
	d.body = sp;
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		die_sys("unable to start sluice-enqueue");
	if (pid == 0) {
		if (dup2(p[0], 0) < 0)
			die_sys("unable to set up sluice-enqueue");
		prog_exec(argv);
		die_sys("unable to run sluice-enqueue");
	}
	close(p[0]);
	if (stream_writer_init(&w, p[1], 0) < 0)
		die_nomem();
	*kind = dsn_write(&w, &d, dr, t->nrcpt);
	rc = *kind < 0 || stream_flush(&w) < 0 ? -1 : 0;
	stream_writer_free(&w);
	close(p[1]);
	free(dr);
	if (prog_wait(pid) != 0 || rc < 0) {
		log_warn("qid=%s unable to queue the bounce", qid);
		return -1;
	}
	return 0;
}

/* Spool the body, then queue the notice; 0 or -1. */
static int
notice(struct queue *q, struct qfile *f, const char *reason, int *kind)
{
	struct stream_reader r;
	struct bodyfile sp;
	struct txn t;
	int fd, rfail = 0, rc = -1;

	txn_init(&t);
	if ((fd = qfile_read(q, f, &r, &t)) < 0) {
		txn_free(&t);
		return -1;
	}
	if (bodyfile_open(&sp, bodyfile_tmpdir()) < 0 ||
	    bodyfile_from_stream(&sp, &r, &rfail) < 0)
		log_warn("qid=%s %s", f->qid, rfail ? r.err : strerror(errno));
	else {
		rc = enqueue_notice(&t, &sp, f->qid, reason, kind);
		*kind = *kind == DSN_WRITTEN ? (int)t.nrcpt : -*kind;
	}
	bodyfile_close(&sp);
	stream_reader_free(&r);
	close(fd);
	txn_free(&t);
	return rc;
}

int
bounce_message(struct queue *q, const char *qid, const char *reason)
{
	struct qfile f;
	char rec[64];
	int kind = 0, rc = qfile_find(q, qid, QBIT(Q_INCOMING) | QBIT(Q_DEFERRED) |
	    QBIT(Q_HOLD), &f);

	if (rc != 0)
		return rc;
	if (reason == NULL)
		reason = REASON_DEFAULT;
	if (notice(q, &f, reason, &kind) < 0)
		rc = EXIT_TEMP;
	else if (kind == -DSN_DEAD) {
		if (qfile_move(q, &f, Q_DEAD, 0) < 0)
			rc = EXIT_TEMP;
		else
			log_info("qid=%s action=bounce status=dead uid=%lu reason=\"a "
			    "double bounce: kept in dead/\"", qid, (unsigned long)q->uid);
	} else if (unlinkat(q->spool_fd, f.path, 0) < 0) {
		/* The notice is queued: the message will bounce twice at worst. */
		log_warn("qid=%s unable to remove %s/%s: %s", qid, q->spool, f.path,
		    strerror(errno));
		rc = EXIT_TEMP;
	} else {
		snprintf(rec, sizeof rec, "delivered/%s", qid);
		unlinkat(q->spool_fd, rec, 0);
		log_info("qid=%s action=bounce status=bounced nrcpt=%d uid=%lu "
		    "reason=\"%s\"%s", qid, kind > 0 ? kind : 0, (unsigned long)q->uid,
		    reason, kind == -DSN_NONE ? " notice=none (NOTIFY=NEVER)" : "");
		qfile_wake(q);
	}
	qfile_unlock(q, &f);
	return rc;
}
