#include "prog.h"
#include "conf.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
try_dir(const char *dir, const char *name, char *buf, size_t size)
{
	int n;

	if (dir == NULL || *dir == '\0')
		return -1;
	n = snprintf(buf, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return access(buf, X_OK);
}

int
prog_path(const char *name, char *buf, size_t size)
{
	const char *path;

	if (strchr(name, '/') != NULL) {
		if (strlen(name) >= size)
			return -1;
		strcpy(buf, name);
		return 0;
	}
	if (try_dir(getenv("SLUICE_LIBEXEC"), name, buf, size) == 0)
		return 0;
	if (try_dir(SLUICE_LIBEXECDIR, name, buf, size) == 0)
		return 0;
	path = getenv("PATH");
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *e = strchr(path, ':');
		size_t l = e ? (size_t)(e - path) : strlen(path);
		char dir[4096];

		if (l > 0 && l < sizeof dir) {
			memcpy(dir, path, l);
			dir[l] = '\0';
			if (try_dir(dir, name, buf, size) == 0)
				return 0;
		}
		path += l;
		if (*path == ':')
			path++;
	}
	return try_dir(SLUICE_BINDIR, name, buf, size);
}

int
prog_sibling(const char *name, char *buf, size_t size)
{
	char self[4096], real[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (try_dir(self, name, buf, size) < 0)
		return -1;
	*slash = '/';
	if (realpath(buf, real) != NULL && strcmp(real, self) == 0)
		return -2;
	return 0;
}

void
prog_exec(char *const argv[])
{
	char path[4096];

	if (prog_path(argv[0], path, sizeof path) < 0) {
		errno = ENOENT;
		return;
	}
	execv(path, argv);
}

int
prog_split_chain(char *buf, char **argv[], size_t max, size_t maxargs)
{
	size_t n = 0, k = 0;
	char *p = buf;
	int bar;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		bar = (*p == '|');
		if (*p == '\0' || bar) {
			if (k == 0)
				return (!bar && n == 0) ? 0 : -1;
			argv[n][k] = NULL;
			n++;
			k = 0;
			if (!bar)
				return (int)n;
			p++;
			continue;
		}
		if (n == max || k + 1 >= maxargs)
			return -1;
		argv[n][k++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '|')
			p++;
		if (*p == '|') {
			/* The word ends at a bar: close the stage at once. */
			*p++ = '\0';
			argv[n][k] = NULL;
			n++;
			k = 0;
			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
			if (*p == '\0' || *p == '|')
				return -1;
		} else if (*p)
			*p++ = '\0';
	}
}

int
prog_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_TEMP;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return EXIT_TEMP;
}
