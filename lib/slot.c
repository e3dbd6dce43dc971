#include "slot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Lock path's file: 1 held, 0 busy, -1 error.  The file locked must still
 * be the one at path: a holder that let go may have removed it between
 * our open and our lock, and a lock on a removed file counts for nobody.
 */
static int
slot_lock(const char *path, int *fdp)
{
	struct stat a, b;
	int fd, tries;

	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			if (e == EWOULDBLOCK)
				return 0;
			errno = e;
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			*fdp = fd;
			return 1;
		}
		close(fd);
	}
	return 0;
}

int
slot_take(struct slot *sl, const char *dir, const char *key, unsigned limit)
{
	unsigned i;
	int rc, n;

	sl->fd = -1;
	if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL ||
	    strlen(key) > SLOT_KEY_MAX)
		return errno = EINVAL, -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	for (i = 0; i < limit; i++) {
		n = snprintf(sl->path, sizeof sl->path, "%s/%s.%u", dir, key, i);
		if (n < 0 || (size_t)n >= sizeof sl->path)
			return errno = ENAMETOOLONG, -1;
		if ((rc = slot_lock(sl->path, &sl->fd)) != 0)
			return rc;
	}
	return 0;
}

void
slot_release(struct slot *sl)
{
	if (sl->fd < 0)
		return;
	/* Removed while still locked, so that no one else holds it then. */
	(void)unlink(sl->path);
	close(sl->fd);
	sl->fd = -1;
}
