#include "enqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"
#include "handoff.h"
#include "qfree.h"

int
enq_spool_open(struct enq_spool *sp, const char *path)
{
	int e;

	sp->path = path;
	/* openat: no extra fcntl after an O_CLOEXEC open (lib/table.c). */
	sp->fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->fd < 0 && errno == ENOENT && mkdir_p(path, 0700) == 0)
		sp->fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->fd < 0)
		return -1;
	if (fstat(sp->fd, &sp->st) < 0) {
		e = errno;
		close(sp->fd);
		sp->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

/* Whether a message with this id is queued already. */
static int
in_use(int spool_fd, const char *qid)
{
	char name[64];

	snprintf(name, sizeof name, "incoming/%s", qid);
	if (faccessat(spool_fd, name, F_OK, AT_EACCESS) == 0)
		return 1;
	snprintf(name, sizeof name, "deferred/%s", qid);
	return faccessat(spool_fd, name, F_OK, AT_EACCESS) == 0;
}

/* Root makes a folder of the spool: it goes to the spool's owner. */
static int
give_dir_to_owner(const struct enq_spool *sp, const char *sub)
{
	if (geteuid() != 0 || sp->st.st_uid == 0)
		return 0;
	return fchownat(sp->fd, sub, sp->st.st_uid, sp->st.st_gid,
	    AT_SYMLINK_NOFOLLOW);
}

static int
create_tmp(const struct enq_spool *sp, const char *qid)
{
	char name[64], p[4096];
	int fd;

	snprintf(name, sizeof name, "tmp/%s", qid);
	/*
	 * A done queue file the runner kept (lib/qfree.h) spares the file
	 * system an inode allocation: for the spool's owner, or root, who
	 * gives the file to the owner anyway, not for other users.
	 * Successive pids start 7 files apart in the list, so that concurrent
	 * takers seldom try the same.
	 */
	if ((geteuid() == sp->st.st_uid || geteuid() == 0) && (fd = qfree_take(
	    sp->fd, name, (unsigned)getpid() * 7u, sp->st.st_uid)) >= 0)
		return fd;
	fd = handoff_open(sp->fd, name, O_EXCL, 0600);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* A fresh spool: make the two folders a writer needs. */
	if (path_join(p, sizeof p, sp->path, "tmp") < 0 || mkdir_p(p, 0700) < 0 ||
	    give_dir_to_owner(sp, "tmp") < 0 ||
	    path_join(p, sizeof p, sp->path, "incoming") < 0 ||
	    mkdir_p(p, 0700) < 0 || give_dir_to_owner(sp, "incoming") < 0)
		return -1;
	return handoff_open(sp->fd, name, O_EXCL, 0600);
}

/*
 * A runner may lock and remove the file between our open and our flock:
 * then the name is gone (no link left).  0, -1 with errno set, or -2
 * when the file was taken from us.
 */
static int
lock_tmp(int fd)
{
	struct stat st;

	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
		return -1;
	return st.st_nlink == 0 ? -2 : 0;
}

int
enq_new_tmp(struct enq_spool *sp, char qid[QID_LEN + 1])
{
	int fd, rc;

	if (!qid_valid(qid) || in_use(sp->fd, qid))
		qid_make(qid);
	for (;;) {
		if ((fd = create_tmp(sp, qid)) < 0) {
			if (errno != EEXIST)
				return -1;
			qid_make(qid);
			continue;
		}
		if ((rc = lock_tmp(fd)) == 0)
			return fd;
		if (rc == -1) {
			enq_abort(sp->fd, fd, qid);
			return -1;
		}
		close(fd);
		qid_make(qid);
	}
}

int
enq_move(int spool_fd, const char *qid)
{
	char tmp[64], name[64];

	snprintf(tmp, sizeof tmp, "tmp/%s", qid);
	snprintf(name, sizeof name, "incoming/%s", qid);
	return handoff_commit(-1, spool_fd, tmp, name, 0);
}

void
enq_abort(int spool_fd, int fd, const char *qid)
{
	char tmp[64];

	snprintf(tmp, sizeof tmp, "tmp/%s", qid);
	handoff_abort(fd, spool_fd, tmp);
}

void
enq_wake_runner(int spool_fd)
{
	int fd = openat(spool_fd, "trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)!write(fd, "", 1);
	close(fd);
}
