#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fsync_dir(const char *path, int dir)
{
	char d[4096];
	const char *slash;
	int fd, rc;

	if (dir)
		snprintf(d, sizeof d, "%s", path);
	else if ((slash = strrchr(path, '/')) == NULL)
		strcpy(d, ".");
	else if (slash == path)
		strcpy(d, "/");
	else if ((size_t)(slash - path) >= sizeof d)
		return errno = ENAMETOOLONG, -1;
	else
		snprintf(d, sizeof d, "%.*s", (int)(slash - path), path);
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

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
	int n = snprintf(buf, size, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= size)
		return errno = ENAMETOOLONG, -1;
	return 0;
}
