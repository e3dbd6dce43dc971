#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "fsutil.h"
#include "handoff.h"

#define PATH_MAX_ 4096

static int
maildir_make(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[PATH_MAX_];
	size_t i;

	for (i = 0; i < 3; i++) {
		if (snprintf(p, sizeof p, "%s/%s", dir, sub[i]) >= (int)sizeof p)
			return errno = ENAMETOOLONG, -1;
		if (mkdir_p(p, 0700) < 0)
			return -1;
	}
	return 0;
}

static int
maildir(const char *dir, archive_body_fn *body, void *ctx, char *err, size_t esize)
{
	static unsigned long seq;
	char name[400], tmp[PATH_MAX_], fin[PATH_MAX_], newdir[PATH_MAX_];
	struct timeval tv;
	int fd;

	gettimeofday(&tv, NULL);
	snprintf(name, sizeof name, "%lld.M%ldP%ldQ%lu.%.200s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++seq, conf_hostname());
	if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name) >= (int)sizeof tmp ||
	    snprintf(fin, sizeof fin, "%s/new/%s", dir, name) >= (int)sizeof fin ||
	    snprintf(newdir, sizeof newdir, "%s/new", dir) >= (int)sizeof newdir) {
		snprintf(err, esize, "Maildir name too long: %.200s", dir);
		return -1;
	}
	if (maildir_make(dir) < 0 ||
	    (fd = handoff_open(AT_FDCWD, tmp, O_EXCL, 0600)) < 0) {
		snprintf(err, esize, "unable to write into %.200s: %s", dir, strerror(errno));
		return -1;
	}
	if (body(fd, 0, ctx) < 0) {
		snprintf(err, esize, "unable to write %.200s: %s", tmp, strerror(errno));
		handoff_abort(fd, AT_FDCWD, tmp);
		return -1;
	}
	if (handoff_commit(fd, AT_FDCWD, tmp, fin, HANDOFF_DURABLE) < 0) {
		snprintf(err, esize, "unable to deliver into %.200s: %s", newdir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* mbox "From " date: asctime's form, in the C locale. */
static void
from_date(char *buf, size_t size)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	snprintf(buf, size, "%s %s %2d %02d:%02d:%02d %d", day[tm.tm_wday],
	    mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_year + 1900);
}

static int
lock(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	/* Waits for another writer (sluice-local, a mail reader) to finish. */
	return fcntl(fd, F_SETLKW, &fl);
}

static int
mbox(const char *path, const char *from, archive_body_fn *body, void *ctx,
    char *err, size_t esize)
{
	char parent[PATH_MAX_], date[64], line[1200];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd, n, rc = -1;

	snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
	if ((*parent && mkdir_p(parent, 0700) < 0) ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, esize, "unable to open %.200s: %s", path, strerror(errno));
		return -1;
	}
	if (lock(fd) < 0 || fstat(fd, &st) < 0) {
		snprintf(err, esize, "unable to lock %.200s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	from_date(date, sizeof date);
	n = snprintf(line, sizeof line, "From %.900s %s\n", *from ? from : "MAILER-DAEMON",
	    date);
	if (S_ISREG(st.st_mode) && write_all(fd, line, (size_t)n) == 0 &&
	    body(fd, 1, ctx) == 0 && write_all(fd, "\n", 1) == 0 && fsync(fd) == 0)
		rc = 0;
	else {
		snprintf(err, esize, "unable to write %.200s: %s", path,
		    S_ISREG(st.st_mode) ? strerror(errno) : "not a regular file");
		/* Leave no half message behind for a reader to choke on. */
		if (S_ISREG(st.st_mode))
			(void)!ftruncate(fd, st.st_size);
	}
	close(fd);
	return rc;
}

int
archive_write(const char *path, const char *from, archive_body_fn *body,
    void *ctx, char *err, size_t esize)
{
	size_t n = strlen(path);

	if (n > 0 && path[n - 1] == '/')
		return maildir(path, body, ctx, err, esize);
	return mbox(path, from, body, ctx, err, esize);
}
