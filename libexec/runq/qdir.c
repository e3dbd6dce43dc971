/*
 * qdir: the spool's folders as the runner uses them: made at start,
 * locked, synced, cleaned of what killed writers left in tmp/.
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

#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "qlock.h"
#include "runq.h"

const char *const qdir_names[2] = { "incoming", "deferred" };

/*
 * A root runner gives what it makes in the spool (and what an earlier
 * root start made) to the spool's owner: the stages, sluice-enqueue and
 * sluice-queue run as that owner and must write there.  Only a root-owned
 * entry of the expected type is changed, through a descriptor that does
 * not follow a symbolic link, and a non-folder only when it has one link:
 * the owner, who controls the spool, cannot point root at another file.
 */
static void
give_to_owner(struct runq *rq, const struct stat *spool, const char *name,
    mode_t type)
{
	struct stat st;
	int fd;

	if (geteuid() != 0 || spool->st_uid == 0)
		return;
	if ((fd = openat(rq->spool_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		die_sys("unable to open %s/%s", rq->spool, name);
	if (fstat(fd, &st) < 0)
		die_sys("unable to stat %s/%s", rq->spool, name);
	if (st.st_uid == 0 && (st.st_mode & S_IFMT) == type &&
	    (type == S_IFDIR || st.st_nlink == 1)) {
		if (fchownat(fd, "", spool->st_uid, spool->st_gid, AT_EMPTY_PATH) < 0)
			die_sys("unable to give %s/%s to the spool's owner", rq->spool, name);
		log_info("gave %s/%s to the spool's owner (uid %ld)", rq->spool, name,
		    (long)spool->st_uid);
	}
	close(fd);
}

/* Make the folders, the FIFO and the lock file a fresh spool lacks. */
void
qdir_prepare(struct runq *rq)
{
	static const char *const sub[] = { "tmp", "incoming", "deferred", "bad",
		"dead", "quarantine", "flush", "delivered", "hold", "free" };
	struct stat spool;
	size_t i;
	int fd;

	if (mkdir_p(rq->spool, 0700) < 0)
		die_sys("unable to make %s", rq->spool);
	if ((rq->spool_fd = open(rq->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open the queue %s", rq->spool);
	if (fstat(rq->spool_fd, &spool) < 0)
		die_sys("unable to stat %s", rq->spool);
	rq->spool_uid = spool.st_uid;
	for (i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		if (mkdirat(rq->spool_fd, sub[i], 0700) < 0 && errno != EEXIST)
			die_sys("unable to make %s/%s", rq->spool, sub[i]);
		give_to_owner(rq, &spool, sub[i], S_IFDIR);
	}
	if (mkfifoat(rq->spool_fd, "trigger", 0622) < 0 && errno != EEXIST)
		die_sys("unable to make %s/trigger", rq->spool);
	give_to_owner(rq, &spool, "trigger", S_IFIFO);
	fd = openat(rq->spool_fd, "msglock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		die_sys("unable to make %s/msglock", rq->spool);
	if (fd >= 0)
		close(fd);
	give_to_owner(rq, &spool, "msglock", S_IFREG);
	if ((rq->msglock_fd = qlock_open(rq->spool_fd)) < 0)
		die_sys("unable to open %s/msglock", rq->spool);
}

/*
 * Lock the inputs a chain is about to take (qlock.h), so that the queue
 * tool leaves them alone until their output is committed.  An input the
 * tool holds now, or that it moved away since the folder was read, is
 * left out (the next scan sees it again).  Returns how many are left, at
 * the start of in.
 */
size_t
qdir_take(struct runq *rq, struct input *in, size_t n)
{
	char path[64];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (qlock_try(rq->msglock_fd, in[i].qid) < 0) {
			if (errno != EAGAIN)
				die_sys("unable to lock %s in %s/msglock", in[i].qid,
				    rq->spool);
			continue;
		}
		qdir_input_path(&in[i], path, sizeof path);
		if (faccessat(rq->spool_fd, path, F_OK, 0) < 0) {
			qlock_release(rq->msglock_fd, in[i].qid);
			continue;
		}
		if (k != i)
			in[k] = in[i];
		k++;
	}
	return k;
}

void
qdir_release(const struct runq *rq, const struct input *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		qlock_release(rq->msglock_fd, in[i].qid);
}

/* 0, or -1 when another runner holds the lock. */
int
qdir_lock(struct runq *rq)
{
	rq->lock_fd = openat(rq->spool_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (rq->lock_fd < 0)
		die_sys("unable to open %s/lock", rq->spool);
	if (flock(rq->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return -1;
		die_sys("unable to lock %s/lock", rq->spool);
	}
	return 0;
}

/*
 * Leave a flush request for whichever runner runs next (the daemon at
 * once: a byte on the trigger wakes it), and exit.  Without -D the
 * request is for everything: flush/"*" (sluice-runq -1 and sendmail -q
 * beside a running daemon).
 */
void
qdir_request_flush(struct runq *rq)
{
	const char *name = rq->flush_target ? rq->flush_target : FLUSH_ALL;
	int fd, dfd;

	if ((dfd = open(rq->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open the queue %s", rq->spool);
	if (mkdirat(dfd, "flush", 0700) < 0 && errno != EEXIST)
		die_sys("unable to make %s/flush", rq->spool);
	if ((fd = openat(dfd, "flush", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open %s/flush", rq->spool);
	if (mknodat(fd, name, S_IFREG | 0600, 0) < 0 && errno != EEXIST)
		die_sys("unable to make %s/flush/%s", rq->spool, name);
	close(fd);
	/* No reader (no daemon) is fine: the next run-once takes it. */
	if ((fd = openat(dfd, "trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "", 1);
		close(fd);
	}
	if (rq->flush_target != NULL)
		log_info("flush requested dest=%s", rq->flush_target);
	else
		log_info("flush requested: the whole queue, by a running sluice-runq");
	exit(0);
}

int
qdir_sync(const struct runq *rq, const char *name)
{
	return handoff_sync_folder(rq->spool_fd, name);
}

int
qdir_set_mtime(int fd, const char *name, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	return name ? utimensat(fd, name, ts, 0) : futimens(fd, ts);
}

void
qdir_input_path(const struct input *in, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", qdir_names[in->dir], in->qid);
}

/*
 * The envelope of a queue file (path under the spool) into t: 1, or 0
 * when it is gone or unreadable (the chain will say what is wrong).
 */
int
qdir_read_env(const struct runq *rq, const char *path, struct txn *t)
{
	struct stream_reader r;
	int fd, rc;

	if ((fd = openat(rq->spool_fd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (stream_reader_init(&r, fd, path) < 0)
		die_nomem();
	rc = stream_read_txn(&r, t);
	stream_reader_free(&r);
	close(fd);
	return rc == 1;
}

/*
 * Remove tmp/NAME if no live writer has it.  sluice-enqueue holds an
 * flock on each file it writes until the file is renamed away, so a file
 * that can be locked here was left by a killed one.  The file is removed
 * while locked, and only if the name still is that file: an enqueue that
 * opened it and locks it after us finds it unlinked and makes another
 * (sluice-enqueue.c, lock_tmp).  A file we cannot open (another user's)
 * goes when older than a day.
 */
static void
clean_tmp_file(const struct runq *rq, int dfd, const char *name, time_t now)
{
	struct stat st;
	int rc = unlink_unlocked(dfd, name, NULL, NULL);

	if (rc < 0) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime + TMP_STALE < now && unlinkat(dfd, name, 0) == 0)
			log_info("removed %s/tmp/%s: older than a day", rq->spool, name);
	} else if (rc == 1)
		log_info("removed %s/tmp/%s: its writer is gone", rq->spool, name);
}

/*
 * tmp/ leftovers: our own staged files (only one runner runs, so any is
 * from a dead one, but only at start: later they are live), and files
 * whose writer died (clean_tmp_file): at start, then every
 * TMP_CLEAN_INTERVAL.
 */
void
qdir_clean_tmp(struct runq *rq)
{
	struct dirent *de;
	time_t now = time(NULL);
	DIR *d;
	int at_start = rq->next_tmp_clean == 0;
	int fd = openat(rq->spool_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	rq->next_tmp_clean = now + TMP_CLEAN_INTERVAL;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (at_start)
			die_sys("unable to read %s/tmp", rq->spool);
		log_warn("unable to read %s/tmp: %s", rq->spool, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' && (n == 1 || (n == 2 && de->d_name[1] == '.')))
			continue;
		if (n > 5 && strcmp(de->d_name + n - 5, ".runq") == 0) {
			if (at_start)
				unlinkat(fd, de->d_name, 0);
		} else
			clean_tmp_file(rq, fd, de->d_name, now);
	}
	closedir(d);
}
