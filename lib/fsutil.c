#include "fsutil.h"
#include "fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
mkdir_p(const char *path, unsigned mode)
{
	char p[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof p)
		return errno = ENAMETOOLONG, -1;
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		p[i] = path[i];
	}
	return 0;
}

int
path_join(char *buf, size_t size, const char *a, const char *b)
{
	return fmt_path(buf, size, "%s/%s", a, b) < 0 ? -1 : 0;
}

int
cut_at_offset(int fd)
{
	struct stat st;
	off_t end = lseek(fd, 0, SEEK_CUR);

	if (end < 0 || fstat(fd, &st) < 0)
		return -1;
	return st.st_size > end ? ftruncate(fd, end) : 0;
}

int
cut_and_sync(int fd)
{
	return cut_at_offset(fd) < 0 ? -1 : fsync(fd);
}

int
unlink_unlocked(int dfd, const char *name,
    int (*spare)(const struct stat *, void *), void *arg)
{
	struct stat st, cur;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fstat(fd, &st) == 0 && (spare == NULL || !spare(&st, arg)) &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
	    fstatat(dfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_ino == cur.st_ino && st.st_dev == cur.st_dev &&
	    unlinkat(dfd, name, 0) == 0;
	close(fd);
	return rc;
}
