#include "rate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The record, in host byte order: the files never leave this host. */
struct rate_rec {
	int64_t start;			/* time(2) the window began */
	uint64_t n[RATE_COUNTERS];
};

/*
 * Open and lock path (creating it unless create is 0): the descriptor, or
 * -1 (errno ENOENT when it went away).  The file locked must still be
 * the one at path: a sweeper may have removed it between our open and
 * our lock, and counts written to a removed file count for nobody.
 */
static int
rate_lock(const char *path, int create, int wait)
{
	struct stat a, b;
	int fd, tries;

	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
		    0600);
		if (fd < 0)
			return -1;
		if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
		if (!create)
			break;
	}
	errno = ENOENT;
	return -1;
}

static int
rec_read(int fd, struct rate_rec *r)
{
	ssize_t n = pread(fd, r, sizeof *r, 0);

	if (n < 0)
		return -1;
	if ((size_t)n != sizeof *r)
		memset(r, 0, sizeof *r);	/* new, or cut short by a crash */
	return 0;
}

/* Whether the record's window is over at now (a clock set back ends it). */
static int
rec_over(const struct rate_rec *r, long window, time_t now)
{
	return r->start == 0 || now < r->start || now - r->start >= window;
}

int
rate_add(const char *dir, const char *key, long window, unsigned which,
    unsigned long limit)
{
	struct rate_rec r;
	char path[4096];
	time_t now = time(NULL);
	int fd, n, rc;

	if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL ||
	    strlen(key) > RATE_KEY_MAX || which >= RATE_COUNTERS || window < 1)
		return errno = EINVAL, -1;
	n = snprintf(path, sizeof path, "%s/%s", dir, key);
	if (n < 0 || (size_t)n >= sizeof path)
		return errno = ENAMETOOLONG, -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	if ((fd = rate_lock(path, 1, 1)) < 0)
		return -1;
	if (rec_read(fd, &r) < 0) {
		close(fd);
		return -1;
	}
	if (rec_over(&r, window, now)) {
		memset(&r, 0, sizeof r);
		r.start = now;
	}
	rc = r.n[which] < limit;
	if (rc)
		r.n[which]++;
	if (pwrite(fd, &r, sizeof r, 0) != (ssize_t)sizeof r)
		rc = -1;
	close(fd);		/* and the lock with it */
	return rc;
}

/* Remove dir/name if its window ended more than age seconds ago. */
static int
sweep_one(const char *dir, const char *name, long age, time_t now)
{
	struct rate_rec r;
	char path[4096];
	int fd, n, gone = 0;

	n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	/* A file someone holds is in use: never wait for it. */
	if ((fd = rate_lock(path, 0, 0)) < 0)
		return 0;
	if (rec_read(fd, &r) == 0 && (r.start == 0 || now < r.start ||
	    now - r.start > age)) {
		/* Removed while locked: a counter waiting for it sees it went. */
		gone = unlink(path) == 0;
	}
	close(fd);
	return gone;
}

long
rate_sweep(const char *dir, long age)
{
	DIR *d;
	struct dirent *e;
	time_t now = time(NULL);
	long gone = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			gone += sweep_one(dir, e->d_name, age, now);
	closedir(d);
	return gone;
}
