/*
 * record: the runner's share of the record of delivered recipients
 * (lib/delivered.h).  The stages find its folder in SLUICE_DELIVERED and
 * the run's record in SLUICE_DELIVERED_RUN: delivered/run.N for the chain
 * in slot N, made at start and emptied after each commit, so that a
 * message delivered at the first try costs no file made and removed.  A
 * batch that is not committed whole (deferred, refused, a crash) has its
 * lines moved into per-id records, delivered/QID, synced, which later runs
 * read.  The runner removes a per-id record once the chain's output is
 * committed, syncs it when the batch is retried, and at start removes
 * leftovers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "delivered.h"

#include "log.h"
#include "runq.h"

static void run_init(struct runq *);

/*
 * A record whose message is in none of the queue's folders is a leftover
 * of a crash after a commit: removed.  bad/ keeps its records, so a
 * message put back keeps what it delivered.
 */
void
record_init(struct runq *rq)
{
	static const char *const keep[] = { "incoming", "deferred", "bad", "hold" };
	char dir[4096], path[QID_LEN + 16];
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;
	int fd;

	if (realpath(rq->spool, dir) == NULL ||
	    strlen(dir) + sizeof "/delivered" > sizeof dir)
		die_sys("unable to find the full name of %s", rq->spool);
	strcat(dir, "/delivered");
	if (setenv("SLUICE_DELIVERED", dir, 1) < 0)
		die_nomem();
	run_init(rq);	/* first: what it moves may be a leftover too */
	if ((fd = openat(rq->spool_fd, "delivered", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL)
		die_sys("unable to read %s/delivered", rq->spool);
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name))
			continue;
		for (i = 0; i < sizeof keep / sizeof keep[0]; i++) {
			int n = snprintf(path, sizeof path, "%s/%s", keep[i],
			    de->d_name);

			if (n > 0 && (size_t)n < sizeof path && fstatat(rq->spool_fd,
			    path, &st, AT_SYMLINK_NOFOLLOW) == 0)
				break;
		}
		if (i == sizeof keep / sizeof keep[0])
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
}

/* The chain's output is committed: what it delivered left the queue. */
void
record_remove(const struct runq *rq, const char *qid)
{
	char path[64];

	snprintf(path, sizeof path, "delivered/%s", qid);
	if (unlinkat(rq->spool_fd, path, 0) < 0 && errno != ENOENT)
		log_warn("qid=%s unable to remove %s/%s: %s", qid, rq->spool, path,
		    strerror(errno));
}

/* qid's lines in the run record of the chain being committed. */
static size_t
run_count(const struct runq *rq, const char *qid)
{
	const char *p = rq->run_text, *end = p + rq->run_len, *nl;
	size_t n = 0;

	for (; p != NULL && p < end && (nl = memchr(p, '\n', (size_t)(end - p))) !=
	    NULL; p = nl + 1)
		n += (size_t)(nl - p) > QID_LEN && memcmp(p, qid, QID_LEN) == 0 &&
		    p[QID_LEN] == '\t';
	return n;
}

size_t
record_count(const struct runq *rq, const char *qid)
{
	char path[64], buf[4096];
	size_t n = run_count(rq, qid);
	ssize_t got, i;
	int fd;

	snprintf(path, sizeof path, "delivered/%s", qid);
	if ((fd = openat(rq->spool_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return n;
	while ((got = read(fd, buf, sizeof buf)) > 0)
		for (i = 0; i < got; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

/*
 * A batch is retried: its record must outlive a crash of the machine
 * too, or the retry after one would deliver again.
 */
void
record_sync(const struct runq *rq, const char *qid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "delivered/%s", qid);
	if ((fd = openat(rq->spool_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (fdatasync(fd) < 0)
		log_warn("qid=%s unable to sync %s/%s: %s", qid, rq->spool, path,
		    strerror(errno));
	close(fd);
}

/*
 * A chain slot's run record: delivered/run.PID.N.  The runner's id in the
 * name keeps a chain that a killed runner left running out of the records
 * of the next runner.
 */
static void
run_name(char *buf, size_t size, size_t slot)
{
	snprintf(buf, size, "delivered/run.%ld.%zu", (long)getpid(), slot);
}

/* A file of the spool, whole, into *text; 0 (none: empty) or -1 with errno. */
static int
read_at(const struct runq *rq, const char *name, char **text, size_t *len)
{
	struct stat st;
	ssize_t r = 1;
	int fd, e;

	*text = NULL;
	*len = 0;
	if ((fd = openat(rq->spool_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == 0 && (*text = malloc((size_t)st.st_size + 1)) != NULL)
		while (*len < (size_t)st.st_size && (r = read(fd, *text + *len,
		    (size_t)st.st_size - *len)) > 0)
			*len += (size_t)r;
	e = errno;
	close(fd);
	if (*text == NULL || r < 0) {
		free(*text);
		*text = NULL;
		*len = 0;
		errno = e;
		return -1;
	}
	(*text)[*len] = '\0';
	return 0;
}

/*
 * The spool owner's, when the runner is root: the stages, which run as
 * that user (runq_child_privs), write these files.
 */
static int
give_to_owner(const struct runq *rq, int fd)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (fstat(rq->spool_fd, &st) < 0)
		return -1;
	return fchown(fd, st.st_uid, st.st_gid);
}

/* Whether text holds line (n octets, LF included) as one of its lines. */
static int
has_line(const char *text, size_t len, const char *line, size_t n)
{
	const char *p = text, *end = text + len;

	while (p != NULL && (size_t)(end - p) >= n) {
		if (memcmp(p, line, n) == 0)
			return 1;
		if ((p = memchr(p, '\n', (size_t)(end - p))) != NULL)
			p++;
	}
	return 0;
}

/* qid's lines of a run record that its per-id record lacks, in buf. */
static char *
lines_of(const char *qid, const char *text, size_t len, const char *old,
    size_t olen, size_t *n)
{
	const char *p = text, *end = text + len, *nl;
	char *buf = malloc(len + 2);

	if (buf == NULL)
		die_nomem();
	*n = 0;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p = nl + 1) {
		size_t k = (size_t)(nl + 1 - p) - (QID_LEN + 1);

		if ((size_t)(nl - p) > QID_LEN + 1 && memcmp(p, qid, QID_LEN) == 0 &&
		    p[QID_LEN] == '\t' && !has_line(old, olen, p + QID_LEN + 1, k)) {
			memcpy(buf + *n, p + QID_LEN + 1, k);
			*n += k;
		}
	}
	return buf;
}

/* Add qid's lines of a run record to its per-id record, synced; 0 or -1. */
static int
keep_one(const struct runq *rq, const char *qid, const char *text, size_t len)
{
	char path[64], *old, *add;
	size_t olen, n;
	int fd, rc = -1, e;

	snprintf(path, sizeof path, "delivered/%s", qid);
	if (read_at(rq, path, &old, &olen) < 0)
		return -1;
	add = lines_of(qid, text, len, old, olen, &n);
	if (n > 0 && olen > 0 && old[olen - 1] != '\n') {
		memmove(add + 1, add, n++);	/* a line cut by a crash stays alone */
		add[0] = '\n';
	}
	free(old);
	if (n == 0) {
		free(add);
		return 0;
	}
	fd = openat(rq->spool_fd, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd >= 0 && give_to_owner(rq, fd) == 0 && write_all(fd, add, n) == 0 &&
	    fdatasync(fd) == 0)
		rc = 0;
	e = errno;
	if (fd >= 0)
		close(fd);
	free(add);
	errno = e;
	return rc;
}

/*
 * The lines of a run record, by queue id, into per-id records, synced with
 * the folder, except those of the ids in done; 0 or -1 with errno.  Run
 * again after a crash, it adds only what is missing.
 */
static int
keep_all(const struct runq *rq, const char *text, size_t len,
    struct strset *done)
{
	const char *p = text, *end = text + len, *nl;
	char qid[QID_LEN + 1];
	size_t kept = 0;
	int rc = 0;

	for (; rc == 0 && p < end && (nl = memchr(p, '\n', (size_t)(end - p))) !=
	    NULL; p = nl + 1) {
		if ((size_t)(nl - p) <= QID_LEN || p[QID_LEN] != '\t')
			continue;
		memcpy(qid, p, QID_LEN);
		qid[QID_LEN] = '\0';
		if (!qid_valid(qid) || strset_has(done, qid))
			continue;
		if (strset_add(done, qid) < 0)
			die_nomem();
		rc = keep_one(rq, qid, text, len);
		kept++;
	}
	if (rc == 0 && kept > 0)
		rc = qdir_sync(rq, "delivered");
	return rc;
}

/* Empty a run record (no file made or removed); 0 or -1 with errno. */
static int
run_empty(const struct runq *rq, const char *name)
{
	int fd = openat(rq->spool_fd, name, O_WRONLY | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW);

	if (fd < 0)
		return -1;
	return close(fd);
}

/*
 * A run record into per-id records, but for the ids in done, then emptied
 * (or removed: gone).  A runner that could not keep it stops: a retry
 * elsewhere would not see it (and its next start tries again).
 */
static void
run_keep(const struct runq *rq, const char *name, struct strset *done,
    int gone)
{
	char *text;
	size_t len;

	if (read_at(rq, name, &text, &len) < 0 || keep_all(rq, text, len, done) < 0 ||
	    (gone ? unlinkat(rq->spool_fd, name, 0) < 0 && errno != ENOENT :
	    len > 0 && run_empty(rq, name) < 0))
		die_sys("unable to move %s/%s into records per message", rq->spool,
		    name);
	free(text);
}

/* The chain of slot is to start: its stages add to its run record. */
void
record_env(const struct runq *rq, int slot)
{
	char path[4096];
	const char *dir = getenv("SLUICE_DELIVERED");
	int n;

	(void)rq;
	if (slot < 0) {
		unsetenv("SLUICE_DELIVERED_RUN");
		return;
	}
	n = snprintf(path, sizeof path, "%s/run.%ld.%d", dir ? dir : "",
	    (long)getpid(), slot);
	if (dir == NULL || n < 0 || (size_t)n >= sizeof path ||
	    setenv("SLUICE_DELIVERED_RUN", path, 1) < 0)
		die_sys("unable to name the record of chain %d", slot);
}

/* A chain ended: read its run record, for the log (record_count). */
void
record_take(struct runq *rq, size_t slot)
{
	char name[64];

	run_name(name, sizeof name, slot);
	free(rq->run_text);
	if (read_at(rq, name, &rq->run_text, &rq->run_len) < 0)
		die_sys("unable to read %s/%s", rq->spool, name);
}

/*
 * The chain's output is committed whole: its run record is emptied.  Or
 * it is not (deferred, refused, split): the lines go into per-id records
 * first, which the retry reads wherever it runs.  Lines of other messages
 * (a chain a killed runner left running writes on) are kept either way.
 */
void
record_settle(struct runq *rq, size_t slot, const struct input *in, size_t n,
    int committed)
{
	struct strset done = { 0 };
	char name[64];
	size_t i;

	for (i = 0; committed && i < n; i++)
		if (strset_add(&done, in[i].qid) < 0)
			die_nomem();
	run_name(name, sizeof name, slot);
	run_keep(rq, name, &done, 0);
	strset_free(&done);
	free(rq->run_text);
	rq->run_text = NULL;
	rq->run_len = 0;
}

/*
 * A run record a crash left (run.X, or keep.X from a start cut short):
 * renamed away first, so that a chain a killed runner left running notes
 * its next deliveries in per-id records (lib/delivered.c), then moved and
 * removed.
 */
static void
leftover(const struct runq *rq, const char *x)
{
	struct strset done = { 0 };
	char run[64], keep[64];

	snprintf(run, sizeof run, "delivered/run.%s", x);
	snprintf(keep, sizeof keep, "delivered/keep.%s", x);
	run_keep(rq, keep, &done, 1);
	if (renameat(rq->spool_fd, run, rq->spool_fd, keep) < 0 && errno != ENOENT)
		die_sys("unable to rename %s/%s", rq->spool, run);
	run_keep(rq, keep, &done, 1);
	strset_free(&done);
}

/* Leftovers of a crash into per-id records; run records of slots made. */
static void
run_init(struct runq *rq)
{
	char name[64];
	const char *x;
	struct dirent *de;
	size_t i;
	DIR *d;
	int fd;

	if ((fd = openat(rq->spool_fd, "delivered", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL)
		die_sys("unable to read %s/delivered", rq->spool);
	while ((de = readdir(d)) != NULL) {
		x = strncmp(de->d_name, "run.", 4) == 0 ? de->d_name + 4 :
		    strncmp(de->d_name, "keep.", 5) == 0 ? de->d_name + 5 : NULL;
		if (x != NULL && *x != '\0' && strlen(x) < 40 &&
		    strspn(x, "0123456789.") == strlen(x))
			leftover(rq, x);
	}
	closedir(d);
	for (i = 0; i < rq->concurrency; i++) {
		run_name(name, sizeof name, i);
		fd = openat(rq->spool_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd < 0 || give_to_owner(rq, fd) < 0 || close(fd) < 0)
			die_sys("unable to make %s/%s", rq->spool, name);
	}
}
