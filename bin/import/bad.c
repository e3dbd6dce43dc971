/*
 * bad: the malformed folder.  What cannot be converted is never dropped:
 * a source file is moved there, a message of an mbox copied there, and
 * the reason logged.  A file already there is never replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "handoff.h"
#include "import.h"
#include "log.h"

static void
bad_dir_make(void)
{
	if (mkdir_p(imp.baddir, 0750) < 0)
		die_sys("unable to create %s", imp.baddir);
}

const char *
bad_base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The i-th name to try for base in the malformed folder: base, base.1 ... */
static void
bad_name(char *path, size_t size, const char *base, int i)
{
	int k = i == 0 ? snprintf(path, size, "%s/%s", imp.baddir, base) :
	    snprintf(path, size, "%s/%s.%d", imp.baddir, base, i);

	if (k < 0 || (size_t)k >= size)
		die(EXIT_TEMP, "%s: name too long", imp.baddir);
}

/* Create a new file in the malformed folder named after base; its fd. */
static int
bad_create(const char *base, char *path, size_t size)
{
	int fd, i;

	bad_dir_make();
	for (i = 0; i < 10000; i++) {
		bad_name(path, size, base, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Copy octets [from, to) of fd into dst. */
static void
bad_copy_range(int fd, unsigned long long from, unsigned long long to,
    int dst, const char *what)
{
	char buf[BUF_SIZE];
	ssize_t k;

	while (from < to) {
		size_t want = to - from > sizeof buf ? sizeof buf : (size_t)(to - from);

		k = pread(fd, buf, want, (off_t)from);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die_sys("unable to read %s", what);
		if (k == 0)
			break;
		if (write_all(dst, buf, (size_t)k) < 0)
			die_sys("unable to write into %s", imp.baddir);
		from += (unsigned long long)k;
	}
}

/* Write [from, to) of sfd into a new file named after base; its name in dst. */
static void
bad_write(int sfd, unsigned long long from, unsigned long long to,
    const char *base, const char *what, char *dst, size_t dsz)
{
	int fd;

	if ((fd = bad_create(base, dst, dsz)) < 0)
		die_sys("unable to create a file in %s", imp.baddir);
	bad_copy_range(sfd, from, to, fd, what);
	if (fsync(fd) < 0 || close(fd) < 0 || handoff_sync_dir(AT_FDCWD, dst) < 0)
		die_sys("unable to write %s", dst);
}

/*
 * Move a source file into the malformed folder without replacing anything
 * there; across file systems, copy, sync, then remove.
 */
static void
bad_rename(const char *src, char *dst, size_t dsz)
{
	int i, sfd;
	struct stat st;

	bad_dir_make();
	for (i = 0; i < 10000; i++) {
		bad_name(dst, dsz, bad_base_name(src), i);
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
			if (handoff_sync_dir(AT_FDCWD, dst) < 0 || handoff_sync_dir(AT_FDCWD, src) < 0)
				die_sys("unable to sync %s", imp.baddir);
			return;
		}
		if (errno == EEXIST)
			continue;
		if (errno != EXDEV && errno != EINVAL)
			die_sys("unable to move %s to %s", src, imp.baddir);
		break;
	}
	if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(sfd, &st) < 0)
		die_sys("unable to open %s", src);
	bad_write(sfd, 0, (unsigned long long)st.st_size, bad_base_name(src), src,
	    dst, dsz);
	close(sfd);
	if (unlink(src) < 0)
		die_sys("unable to remove %s", src);
}

void
bad_move(const char *src, const char *reason)
{
	char dst[4096 + 64];

	bad_rename(src, dst, sizeof dst);
	log_info("malformed source=%s moved=%s reason=\"%s\"", src, dst, reason);
	imp.n_bad++;
}

void
bad_copy(struct src *s, unsigned long long from, unsigned long long to,
    unsigned long nmsg, const char *reason)
{
	char dst[4096 + 64], base[300];

	snprintf(base, sizeof base, "%.200s.%lu", bad_base_name(s->path), nmsg);
	bad_write(s->fd, from, to, base, s->path, dst, sizeof dst);
	log_info("malformed source=%s message=%lu copied=%s reason=\"%s\"",
	    s->path, nmsg, dst, reason);
	imp.n_bad++;
}

void
bad_default(const char *src, int is_dir)
{
	static char buf[4096];
	char tmp[4096];
	size_t n;

	if (snprintf(tmp, sizeof tmp, "%s", src) >= (int)sizeof tmp)
		die(EXIT_PERM, "%s: name too long", src);
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	if (is_dir) {
		if (snprintf(buf, sizeof buf, "%.*s/../malformed",
		    (int)(sizeof tmp - 32), tmp) >= (int)sizeof buf)
			die(EXIT_PERM, "%s: name too long", src);
	} else {
		char *sl = strrchr(tmp, '/');

		if (sl == NULL)
			snprintf(buf, sizeof buf, "malformed");
		else
			snprintf(buf, sizeof buf, "%.*s/malformed", (int)(sl - tmp), tmp);
	}
	imp.baddir = buf;
}
