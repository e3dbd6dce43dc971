/*
 * pick: what is due.  Every file in incoming/, a file in deferred/ whose
 * mtime (its next retry time) has passed, everything with -f, only the
 * messages for one destination with -D; flush requests make deferred
 * messages due; queue_first holds new messages back.  See sluice-runq(8),
 * "Picking work".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "qdest.h"
#include "runq.h"

static void
qset_add(struct strset *s, const char *q)
{
	if (strset_add(s, q) < 0)
		die_nomem();
}

static void
inputs_add(struct inputs *l, const char *qid, int dir)
{
	if (l->n == l->a)
		l->v = runq_grow(l->v, &l->a, 256, sizeof *l->v);
	memset(&l->v[l->n], 0, sizeof l->v[l->n]);
	memcpy(l->v[l->n].qid, qid, QID_LEN + 1);
	l->v[l->n].dir = dir;
	l->n++;
}

static int
by_qid(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->qid, ((const struct input *)b)->qid);
}

/* Whether a recipient of t belongs to one of the destinations. */
static int
txn_matches(const struct txn *t, const char *const *names, size_t n)
{
	size_t i, k;

	for (i = 0; i < t->nrcpt; i++)
		for (k = 0; k < n; k++)
			if (qdest_match(&t->rcpt[i], names[k]))
				return 1;
	return 0;
}

/* Whether the file's envelope has a recipient for one of the names. */
static int
file_matches(const struct runq *rq, const char *path, const char *const *names,
    size_t n)
{
	struct txn t;
	int rc;

	txn_init(&t);
	rc = qdir_read_env(rq, path, &t) && txn_matches(&t, names, n);
	txn_free(&t);
	return rc;
}

/*
 * queue_first: a new message whose every recipient is for such a
 * destination is not tried now; it waits in deferred/ for its first retry
 * time or a flush.  So does every new message while smtp_dest cannot be
 * read (qdest_opts logs it): which destinations wait is unknown.
 */
static int
queue_first(const struct runq *rq, const char *qid)
{
	struct dest_opts o;
	struct txn t;
	char path[64];
	size_t i;
	int rc;

	snprintf(path, sizeof path, "incoming/%s", qid);
	txn_init(&t);
	rc = qdir_read_env(rq, path, &t) && t.nrcpt > 0;
	for (i = 0; rc && i < t.nrcpt; i++) {
		char err[512];

		if (qdest_opts(&t.rcpt[i], &o, err, sizeof err) < 0)
			break;
		rc = o.queue_first;
	}
	txn_free(&t);
	return rc;
}

/* Whether the file is one to run now; dir's fd is dfd. */
static int
due(struct runq *rq, int dir, int dfd, const char *name, time_t now)
{
	struct stat st;
	char path[300];

	if (strset_has(&rq->inflight, name) ||
	    (rq->once && strset_has(&rq->processed, name)))
		return 0;
	/* incoming/ holds the whole message; that copy wins. */
	if (dir == DEFERRED && (strset_has(&rq->incoming_now, name) ||
	    (!rq->force && rq->flush_target == NULL &&
	    (fstatat(dfd, name, &st, 0) < 0 || st.st_mtime > now))))
		return 0;
	snprintf(path, sizeof path, "%s/%s", qdir_names[dir], name);
	if (rq->flush_target != NULL)
		return file_matches(rq, path, &rq->flush_target, 1);
	return 1;
}

/*
 * A file the runner cannot read (copied in by hand as another user, say)
 * would make its whole batch fail: leave it where it is, for the
 * postmaster, and say so once.
 */
static int
unreadable(struct runq *rq, int dir, int dfd, const char *name)
{
	if (faccessat(dfd, name, R_OK, AT_EACCESS) == 0 || errno != EACCES)
		return 0;
	if (!strset_has(&rq->unreadable, name)) {
		qset_add(&rq->unreadable, name);
		log_warn("qid=%s unable to read %s/%s/%s: %s; left in place", name,
		    rq->spool, qdir_names[dir], name, strerror(EACCES));
	}
	return 1;
}

static void
scan_dir(struct runq *rq, int dir, time_t now)
{
	struct dirent *de;
	DIR *d;
	int fd = openat(rq->spool_fd, qdir_names[dir], O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		log_warn("unable to read %s/%s: %s", rq->spool, qdir_names[dir],
		    strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != QID_LEN || !qid_valid(de->d_name))
			continue;
		if (dir == INCOMING)
			qset_add(&rq->incoming_now, de->d_name);
		if (!due(rq, dir, fd, de->d_name, now) ||
		    unreadable(rq, dir, fd, de->d_name))
			continue;
		if (dir == INCOMING && rq->flush_target == NULL &&
		    rq->any_queue_first && !rq->force && queue_first(rq, de->d_name))
			inputs_add(&rq->held, de->d_name, dir);
		else
			inputs_add(&rq->todo, de->d_name, dir);
	}
	closedir(d);
}

/* Take up to FLUSH_MAX requests from flush/ into names (buf holds them). */
static size_t
flush_take(struct runq *rq, int fd, char buf[][QDEST_NAME_MAX + 2],
    const char **names)
{
	struct dirent *de;
	size_t n = 0, k;
	DIR *d = fdopendir(fd);

	if (d == NULL) {
		close(fd);
		return 0;
	}
	while (n < FLUSH_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		unlinkat(fd, de->d_name, 0);
		if (strcmp(de->d_name, FLUSH_ALL) == 0)
			strcpy(buf[n], FLUSH_ALL);
		else if (strlen(de->d_name) >= sizeof buf[n] ||
		    (strcpy(buf[n], de->d_name), qdest_check(buf[n]) < 0)) {
			log_warn("flush: ignoring an invalid request %s/flush/%.80s",
			    rq->spool, de->d_name);
			continue;
		}
		for (k = 0; k < n && strcmp(names[k], buf[n]) != 0; k++)
			;
		if (k == n)
			names[n] = buf[n], n++;
	}
	closedir(d);
	return n;
}

/*
 * Flush requests (sluice-runq -D, sendmail -qR, ETRN): a file flush/NAME
 * makes every deferred message with a recipient for NAME due now;
 * flush/"*" (sluice-runq -1 and sendmail -q beside a daemon, sluice-queue
 * flush) every deferred message.  The
 * request is removed before the marking, so that one made meanwhile is not
 * lost; a crash in between loses a flush, never mail.  Returns how many
 * requests were taken.
 */
static size_t
flush_requests(struct runq *rq, time_t now)
{
	char buf[FLUSH_MAX][QDEST_NAME_MAX + 2], path[300];
	const char *names[FLUSH_MAX];
	size_t n, k, marked = 0;
	int all = 0;
	struct dirent *de;
	DIR *dd;
	int fd = openat(rq->spool_fd, "flush", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (n = flush_take(rq, fd, buf, names)) == 0)
		return 0;
	for (k = 0; k < n; k++)
		all |= strcmp(names[k], FLUSH_ALL) == 0;
	fd = openat(rq->spool_fd, "deferred", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (dd = fdopendir(fd)) != NULL) {
		while ((de = readdir(dd)) != NULL) {
			if (!qid_valid(de->d_name))
				continue;
			snprintf(path, sizeof path, "deferred/%s", de->d_name);
			if ((all || file_matches(rq, path, names, n)) &&
			    qdir_set_mtime(rq->spool_fd, path, now) == 0)
				marked++;
		}
		closedir(dd);
	} else if (fd >= 0)
		close(fd);
	for (k = 0; k < n; k++)
		log_info("flush dest=%s", names[k]);
	log_info("flush requests=%zu messages=%zu", n, marked);
	return n;
}

/*
 * Fill the to-do list: everything in incoming/, and deferred/ when due.
 * New messages held by queue_first get their first retry time from the
 * policy stage (sluice-retry -q); if that fails, they are tried now.
 */
void
pick_scan(struct runq *rq, int deferred_too)
{
	time_t now = time(NULL);
	size_t i, k;

	if (rq->flush_target == NULL && flush_requests(rq, now) > 0)
		deferred_too = 1;

	strset_clear(&rq->inflight);
	for (i = 0; i < rq->concurrency; i++)
		for (k = 0; rq->chains[i].active && k < rq->chains[i].n; k++)
			qset_add(&rq->inflight, rq->chains[i].in[k].qid);
	rq->todo.n = rq->todo_pos = rq->held.n = 0;
	strset_clear(&rq->incoming_now);
	scan_dir(rq, INCOMING, now);
	if (deferred_too)
		scan_dir(rq, DEFERRED, now);
	if (rq->held.n > 0 && (rq->held.n = qdir_take(rq, rq->held.v,
	    rq->held.n)) > 0) {
		int rc = commit_held(rq, rq->held.v, rq->held.n);

		qdir_release(rq, rq->held.v, rq->held.n);
		for (i = 0; rc < 0 && i < rq->held.n; i++)
			inputs_add(&rq->todo, rq->held.v[i].qid, INCOMING);
	}
	if (rq->todo.n > 1)
		qsort(rq->todo.v, rq->todo.n, sizeof *rq->todo.v, by_qid);
}
