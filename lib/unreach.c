#include "unreach.h"
#include "fsutil.h"
#include "handoff.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
unreach_open(struct unreach *u, const char *spool, const char *name,
    long long ttl)
{
	struct stat st;

	u->dir[0] = '\0';
	u->ttl = ttl;
	if (ttl <= 0 || path_join(u->dir, sizeof u->dir, spool, name) < 0)
		goto off;
	/* Only inside an existing spool: mkdir, not mkdir -p. */
	if (mkdir(u->dir, 0700) < 0 && errno != EEXIST)
		goto off;
	if (stat(u->dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(u->dir, W_OK | X_OK) < 0)
		goto off;
	return 0;
off:
	u->dir[0] = '\0';
	return -1;
}

/* The record's path for key; -1 when there is none (see the header). */
static int
path_of(const struct unreach *u, const char *key, char *buf, size_t size)
{
	char name[NAME_MAX + 1];
	size_t n = 0;
	int ch;

	if (u->dir[0] == '\0')
		return -1;
	for (; *key; key++) {
		ch = tolower((unsigned char)*key);
		if (n + 4 > sizeof name)
			return -1;
		if ((isalnum(ch) && ch < 128) || strchr("-_:[]", ch) != NULL ||
		    (ch == '.' && n > 0))
			name[n++] = (char)ch;
		else
			n += (size_t)snprintf(name + n, 4, "%%%02X", ch);
	}
	name[n] = '\0';
	return n == 0 ? -1 : path_join(buf, size, u->dir, name);
}

int
unreach_record(const struct unreach *u, const char *key, const char *why)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t n = strcspn(why, "\n");
	int fd;

	if (path_of(u, key, path, sizeof path) < 0)
		return 1;
	if (snprintf(tmp, sizeof tmp, "%s/.tmp.%ld", u->dir, (long)getpid()) >=
	    (int)sizeof tmp)
		return errno = ENAMETOOLONG, -1;
	/*
	 * A reader sees the old record or the new one, never half of it.  A
	 * cache: neither the file nor the folder is fsynced, as a record lost
	 * in a crash costs one more connection attempt.
	 */
	fd = handoff_open(AT_FDCWD, tmp, O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, why, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
		handoff_abort(fd, AT_FDCWD, tmp);
		return -1;
	}
	return handoff_commit(fd, AT_FDCWD, tmp, path, 0);
}

int
unreach_forget(const struct unreach *u, const char *key)
{
	char path[PATH_MAX];

	return path_of(u, key, path, sizeof path) == 0 && unlink(path) == 0;
}

long long
unreach_age(const struct unreach *u, const char *key, time_t now, char *why,
    size_t whysz)
{
	char path[PATH_MAX], *p;
	struct stat st;
	ssize_t k;
	int fd;

	if (whysz == 0 || path_of(u, key, path, sizeof path) < 0)
		return -1;
	/* O_NONBLOCK: something other than a file there must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	/* A clock set back must not keep a record forever. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_mtime > now ||
	    now - st.st_mtime >= u->ttl) {
		close(fd);
		return -1;
	}
	k = read(fd, why, whysz - 1);
	close(fd);
	why[k > 0 ? k : 0] = '\0';
	why[strcspn(why, "\n")] = '\0';
	for (p = why; *p; p++)
		if (*p < ' ' || *p >= 127)
			*p = '?';
	return (long long)(now - st.st_mtime);
}
