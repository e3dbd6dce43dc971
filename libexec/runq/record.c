/*
 * record: the runner's share of the record of delivered recipients
 * (lib/delivered.h): the stages find its folder in SLUICE_DELIVERED; the
 * runner removes a record once the chain's output is committed, syncs it
 * when the batch is retried, and at start removes leftovers.
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
#include "runq.h"

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

size_t
record_count(const struct runq *rq, const char *qid)
{
	char path[64], buf[4096];
	size_t n = 0;
	ssize_t got, i;
	int fd;

	snprintf(path, sizeof path, "delivered/%s", qid);
	if ((fd = openat(rq->spool_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
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
