/*
 * mbox delivery (mboxrd): an fcntl lock and a dot-lock, a "From " line,
 * the quoted message and a blank line, fsync; any failure cuts the file
 * back to its old size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "sluice-local.h"

#define LOCK_WAIT 30	/* seconds to wait for an mbox lock */
#define LOCK_STALE 300	/* a dot-lock older than this is stale */

/* mbox "From " date: asctime's form, in the C locale whatever LANG says. */
static void
from_date(char *buf, size_t size)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	snprintf(buf, size, "%s %s %2d %02d:%02d:%02d %d", day[tm.tm_wday],
	    mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_year + 1900);
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The dot-lock NAME.lock, made with O_EXCL.  Returns 1 locked, 0 when the
 * folder does not let us make one (the fcntl lock alone then protects the
 * file), -1 on a failure (res set).
 */
static int
dotlock(struct local *L, const char *lock, struct result *res)
{
	struct stat st;
	char pid[32];
	int fd, i, n;

	for (i = 0; i < LOCK_WAIT * 5; i++) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
			(void)!write(fd, pid, (size_t)n);
			close(fd);
			return 1;
		}
		if (errno == EACCES || errno == EROFS)
			return 0;
		if (errno != EEXIST) {
			local_result_sys(res, "unable to create", lock);
			return -1;
		}
		/* A lock left by a crashed writer must not block the box forever. */
		if (stat(lock, &st) == 0 && st.st_mtime + LOCK_STALE < time(NULL)) {
			log_warn("qid=%s removing stale lock %s", L->qid, lock);
			unlink(lock);
			continue;
		}
		pause_ms(200);
	}
	local_result_set(res, 4, "4.2.1", "mailbox is locked: %s", lock);
	local_result_public(res, "mailbox is locked");
	return -1;
}

static int
fcntl_lock(int fd, short type)
{
	struct flock fl;
	int i;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	for (i = 0; i < LOCK_WAIT * 5; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR)
			return -1;
		pause_ms(200);
	}
	return errno = EAGAIN, -1;
}

/*
 * Open the mbox for appending, making it (and its folder) when missing.
 * O_NOFOLLOW: a symbolic link is refused, never written through.  The
 * descriptor, or -1 with res set.
 */
static int
open_box(const char *path, struct result *res)
{
	char parent[BOX_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd, made = 0;

	while ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		if (errno == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			local_result_set(res, 5, "5.2.0", "mailbox %s is a symbolic "
			    "link: refused", path);
			local_result_public(res, "mailbox is a symbolic link: refused");
			return -1;
		}
		if (errno != ENOENT || made++ || slash == NULL || slash == path) {
			local_result_sys(res, "unable to open", path);
			return -1;
		}
		snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
		if (mkdir_p(parent, 0700) < 0) {
			local_result_sys(res, "unable to make the mailbox's folder",
			    parent);
			return -1;
		}
	}
	return fd;
}

/*
 * A system user's mbox in the mail spool (/var/mail/NAME), opened by a
 * process that has become the user (with the group mail when there is
 * one): made as Debian's mail readers expect it, owned by the user and
 * the group mail, mode 0660 (0600 without the group); an existing one
 * must be a regular file of the user's with one link, so that nobody
 * else's file is written through a name in the shared folder.  The
 * folder is the administrator's: it is never made here.
 */
static int
open_spool_box(struct local *L, const char *path, struct result *res)
{
	struct stat st;
	mode_t mode = L->mail_gid != (gid_t)-1 ? 0660 : 0600;
	int fd;

	while ((fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return open_box(path, res);	/* its diagnostics */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (fd >= 0) {
			if ((L->mail_gid != (gid_t)-1 && fchown(fd, (uid_t)-1,
			    L->mail_gid) < 0) || fchmod(fd, mode) < 0) {
				local_result_sys(res, "unable to set the owner of", path);
				close(fd);
				return -1;
			}
			break;
		}
		if (errno != EEXIST)
			return local_result_sys(res, "unable to create", path), -1;
	}
	if (fstat(fd, &st) < 0)
		return close(fd), local_result_sys(res, "unable to stat", path), -1;
	if (S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_uid == geteuid())
		return fd;
	close(fd);
	local_result_set(res, 4, "4.2.0", "mailbox %s is not a regular file of "
	    "%lu with one link: refused", path, (unsigned long)geteuid());
	local_result_public(res, "mailbox is not the user's own file: refused");
	return -1;
}

/* Append the copy to the locked mbox fd, or cut it back on failure. */
static void
append(struct local *L, int fd, const char *path, const struct copy *c,
    struct result *res)
{
	char date[64];
	struct wbuf w;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return local_result_sys(res, "unable to stat", path);
	if (!S_ISREG(st.st_mode)) {
		local_result_set(res, 4, "4.2.0", "mailbox %s is not a regular file",
		    path);
		return local_result_public(res, "mailbox is not a regular file");
	}
	local_box_writer(&w, fd);
	from_date(date, sizeof date);
	if (wbuf_printf(&w, "From %s %s\n", c->from[0] ? c->from : "MAILER-DAEMON",
	    date) < 0 || local_box_copy(L, &w, c, 1) < 0 ||
	    wbuf_putc(&w, '\n') < 0 || wbuf_flush(&w) < 0 || fsync(fd) < 0) {
		local_result_sys(res, "unable to write", path);
		/* Leave no half message behind for a reader to choke on. */
		if (ftruncate(fd, st.st_size) < 0 || fsync(fd) < 0)
			log_warn("qid=%s unable to truncate %s: %s", L->qid, path,
			    strerror(errno));
	} else {
		local_result_set(res, 0, "2.0.0", "delivered to mbox %s", path);
		local_result_public(res, "delivered to mailbox");
	}
	wbuf_free(&w);
}

void
local_mbox_deliver(struct local *L, const char *path, const struct copy *c,
    int flags, struct result *res)
{
	char lock[BOX_MAX + 8];
	int fd, locked;

	fd = (flags & BOX_SPOOL) ? open_spool_box(L, path, res) : open_box(path, res);
	if (fd < 0)
		return;
	if (snprintf(lock, sizeof lock, "%.*s.lock", (int)(sizeof lock - 6),
	    path) >= (int)sizeof lock) {
		close(fd);
		errno = ENAMETOOLONG;
		return local_result_sys(res, "unable to lock", path);
	}
	if ((locked = dotlock(L, lock, res)) < 0) {
		close(fd);
		return;
	}
	if (fcntl_lock(fd, F_WRLCK) < 0)
		local_result_sys(res, "unable to lock", path);
	else
		append(L, fd, path, c, res);
	fcntl_lock(fd, F_UNLCK);
	close(fd);
	if (locked == 1)
		unlink(lock);
}
