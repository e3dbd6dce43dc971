#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
handoff_open(int dirfd, const char *tmp, int oflags, mode_t mode)
{
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    oflags, mode);
}

int
handoff_commit(int fd, int dirfd, const char *tmp, const char *final,
    unsigned flags)
{
	int e;

	if (fd >= 0) {
		if ((flags & HANDOFF_SYNC_FILE) && fsync(fd) < 0) {
			handoff_abort(fd, dirfd, tmp);
			return -1;
		}
		if (close(fd) < 0) {
			handoff_abort(-1, dirfd, tmp);
			return -1;
		}
	}
	/*
	 * Paths take rename(2) itself, the call the crash tests (t/34) stop a
	 * program at; a folder's descriptor takes renameat(2).
	 */
	if ((dirfd == AT_FDCWD ? rename(tmp, final) :
	    renameat(dirfd, tmp, dirfd, final)) < 0) {
		e = errno;
		(void)unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	if ((flags & HANDOFF_SYNC_DIR) && handoff_sync_dir(dirfd, final) < 0)
		return -1;
	return 0;
}

void
handoff_abort(int fd, int dirfd, const char *tmp)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	errno = e;
}

int
handoff_sync_dir(int dirfd, const char *name)
{
	char d[PATH_MAX];
	const char *slash = strrchr(name, '/');
	size_t n;

	if (slash == NULL)
		return handoff_sync_folder(dirfd, ".");
	if (slash == name)
		return handoff_sync_folder(dirfd, "/");
	if ((n = (size_t)(slash - name)) >= sizeof d)
		return errno = ENAMETOOLONG, -1;
	memcpy(d, name, n);
	d[n] = '\0';
	return handoff_sync_folder(dirfd, d);
}

int
handoff_sync_folder(int dirfd, const char *folder)
{
	int fd = openat(dirfd, folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}
