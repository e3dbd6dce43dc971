/*
 * qfile: one queue file as the tool handles it: found in its folder,
 * locked against the runner (lib/qlock.h), read, and rewritten with the
 * queue's crash-safe steps (tmp/, fsync, rename, fsync of the folder).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qlock.h"
#include "queue.h"

const char *const qfile_dirs[Q_NDIRS] = { "incoming", "deferred", "hold",
	"bad", "dead", "quarantine" };

void
qfile_open_spool(struct queue *q, int to_change)
{
	struct stat st;

	q->spool = conf_spool();
	q->lock_fd = -1;
	if (stat(q->spool, &st) < 0)
		die_sys("unable to find the queue %s", q->spool);
	q->owner = st.st_uid;
	q->group = st.st_gid;
	/* Changes are for root and the spool's owner (the runner's user). */
	if (to_change && q->uid != 0 && q->uid != q->owner)
		die(EXIT_PERM, "only root and the owner of %s may change the queue",
		    q->spool);
	if ((q->spool_fd = open(q->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open the queue %s", q->spool);
}

static int
lock_fd(struct queue *q)
{
	if (q->lock_fd < 0 && (q->lock_fd = qlock_open(q->spool_fd)) < 0)
		die_sys("unable to open %s/msglock", q->spool);
	/* Made by root: the runner must be able to lock it too. */
	if (getuid() == 0 && q->owner != 0)
		(void)!fchown(q->lock_fd, q->owner, q->group);
	return q->lock_fd;
}

int
qfile_find(struct queue *q, const char *qid, unsigned mask, struct qfile *f)
{
	int d;

	memset(f, 0, sizeof *f);
	if (strlen(qid) != QID_LEN || !qid_valid(qid)) {
		log_warn("%.60s: not a queue id", qid);
		return EXIT_PERM;
	}
	memcpy(f->qid, qid, QID_LEN + 1);
	if (qlock_try(lock_fd(q), qid) < 0) {
		if (errno != EAGAIN)
			die_sys("unable to lock %s in %s/msglock", qid, q->spool);
		log_warn("qid=%s is in a running chain, try again", qid);
		return EXIT_TEMP;
	}
	f->locked = 1;
	/* incoming/ first: after a crash mid-requeue, that copy is the message. */
	for (d = 0; d < Q_NDIRS; d++) {
		if (!(mask & (1u << d)))
			continue;
		snprintf(f->path, sizeof f->path, "%s/%s", qfile_dirs[d], qid);
		if (faccessat(q->spool_fd, f->path, F_OK, 0) == 0) {
			f->dir = (enum qdir)d;
			return 0;
		}
	}
	qfile_unlock(q, f);
	log_warn("qid=%s: no such message in the queue", qid);
	return EXIT_PERM;
}

void
qfile_unlock(struct queue *q, struct qfile *f)
{
	if (f->locked)
		qlock_release(q->lock_fd, f->qid);
	f->locked = 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

char (*qfile_list(struct queue *q, unsigned mask, size_t *n))[QID_LEN + 1]
{
	char (*v)[QID_LEN + 1] = NULL;
	size_t a = 0;
	struct dirent *de;
	DIR *dd;
	int d, fd;

	*n = 0;
	for (d = 0; d < Q_NDIRS; d++) {
		if (!(mask & (1u << d)))
			continue;
		fd = openat(q->spool_fd, qfile_dirs[d], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (fd < 0 || (dd = fdopendir(fd)) == NULL) {
			if (fd >= 0)
				close(fd);
			if (errno != ENOENT)
				die_sys("unable to read %s/%s", q->spool, qfile_dirs[d]);
			continue;
		}
		while ((de = readdir(dd)) != NULL) {
			if (strlen(de->d_name) != QID_LEN || !qid_valid(de->d_name))
				continue;
			if (*n == a && (v = realloc(v, (a = a ? 2 * a : 64) *
			    sizeof *v)) == NULL)
				die_nomem();
			memcpy(v[(*n)++], de->d_name, QID_LEN + 1);
		}
		closedir(dd);
	}
	if (*n > 1)
		qsort(v, *n, sizeof *v, by_name);
	return v;
}

static int
sync_dir(const struct queue *q, const char *name)
{
	int fd = openat(q->spool_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
set_mtime(int dfd, const char *name, int fd, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	return name ? utimensat(dfd, name, ts, 0) : futimens(fd, ts);
}

/* The transaction into fd: head, then the body from r or sp; 0 or -1. */
static int
write_txn(int fd, struct txn *t, struct stream_reader *r, struct bodyfile *sp)
{
	struct stream_writer w;
	int rfail = 0, rc = -1;

	if (stream_writer_init(&w, fd, 0) < 0)
		die_nomem();
	if (stream_write_head(&w, t) == 0 &&
	    (r ? stream_copy_body(r, &w, &rfail) : bodyfile_write_stream(sp, &w)) == 0 &&
	    stream_flush(&w) == 0)
		rc = 0;
	if (rfail)
		log_warn("%s", r->err);
	stream_writer_free(&w);
	return rc;
}

int
qfile_write(struct queue *q, const struct qfile *f, struct txn *t,
    struct stream_reader *r, struct bodyfile *sp, enum qdir dir, time_t mtime)
{
	char tmp[64], to[64];
	int fd, ok;

	snprintf(tmp, sizeof tmp, "tmp/%s.queue", f->qid);
	snprintf(to, sizeof to, "%s/%s", qfile_dirs[dir], f->qid);
	fd = openat(q->spool_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("qid=%s unable to make %s/%s: %s", f->qid, q->spool, tmp,
		    strerror(errno));
		return -1;
	}
	/* The runner removes tmp/ files it can lock: this one is alive. */
	ok = flock(fd, LOCK_EX) == 0 && write_txn(fd, t, r, sp) == 0 &&
	    (getuid() != 0 || fchown(fd, q->owner, q->group) == 0) &&
	    set_mtime(-1, NULL, fd, mtime ? mtime : time(NULL)) == 0 &&
	    fsync(fd) == 0;
	if (!ok || renameat(q->spool_fd, tmp, q->spool_fd, to) < 0 ||
	    sync_dir(q, qfile_dirs[dir]) < 0) {
		log_warn("qid=%s unable to write %s/%s: %s", f->qid, q->spool, to,
		    strerror(errno));
		unlinkat(q->spool_fd, tmp, 0);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
qfile_move(struct queue *q, struct qfile *f, enum qdir to, time_t mtime)
{
	char dst[64];

	snprintf(dst, sizeof dst, "%s/%s", qfile_dirs[to], f->qid);
	if (mkdirat(q->spool_fd, qfile_dirs[to], 0700) < 0 && errno != EEXIST)
		die_sys("unable to make %s/%s", q->spool, qfile_dirs[to]);
	if (getuid() == 0 && q->owner != 0)
		(void)!fchownat(q->spool_fd, qfile_dirs[to], q->owner, q->group, 0);
	if ((mtime && set_mtime(q->spool_fd, f->path, -1, mtime) < 0) ||
	    renameat2(q->spool_fd, f->path, q->spool_fd, dst, RENAME_NOREPLACE) < 0 ||
	    sync_dir(q, qfile_dirs[to]) < 0) {
		log_warn("qid=%s unable to move %s to %s/: %s", f->qid, f->path,
		    qfile_dirs[to], strerror(errno));
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s", dst);
	f->dir = to;
	return 0;
}

void
qfile_wake(const struct queue *q)
{
	int fd = openat(q->spool_fd, "trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, "", 1);
		close(fd);
	}
}

int
qfile_read(struct queue *q, const struct qfile *f, struct stream_reader *r,
    struct txn *t)
{
	int fd = openat(q->spool_fd, f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_warn("qid=%s unable to open %s/%s: %s", f->qid, q->spool, f->path,
		    strerror(errno));
		return -1;
	}
	if (stream_reader_init(r, fd, f->path) < 0)
		die_nomem();
	if (stream_read_txn(r, t) != 1) {
		log_warn("qid=%s %s/%s is not a stream transaction: %s", f->qid,
		    q->spool, f->path, r->err[0] ? r->err : "empty");
		stream_reader_free(r);
		close(fd);
		return -1;
	}
	return fd;
}
