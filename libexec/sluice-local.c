/*
 * sluice-local: the local delivery stage.  Delivers each local recipient
 * into its Maildir or mbox (table "users"), and each recipient routed to
 * pipe: or file: by the aliases table into its command or file; removes
 * it from the stream, and adds an RFC 3464 notice for permanent failures
 * (and for successes when asked); temporary failures stay in the stream
 * with X-DEFER set.  Everything else passes through untouched.  See
 * sluice-local(8).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "delivered.h"
#include "dsn.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"
#include "prog.h"
#include "route.h"
#include "spool.h"
#include "stream.h"
#include "table.h"
#include "xtext.h"
#include "usage.h"

#define BOX_MAX 4096	/* a mailbox path */
#define LOOP_MAX 64	/* Delivered-To fields remembered from one header */
#define SYNC_MAX 64	/* Maildir folders waiting for their fsync */
#define LOCK_WAIT 30	/* seconds to wait for an mbox lock */
#define LOCK_STALE 300	/* a dot-lock older than this is stale */
#define ARGV_MAX 64	/* words of a pipe command */
#define OUTPUT_MAX 1024	/* a command's output kept for the diagnostic */
#define ENV_VAL_MAX 600	/* an environment value given to a command */
#define TIME_LIMIT_MAX (7 * 86400)	/* the largest command_time_limit */
#define TMP_STALE (36 * 3600)	/* maildir(5): tmp/ files untouched this long go */
#define TMP_LOOK_EVERY 3600	/* a Maildir's tmp/ is read at most this often */

struct result {
	int code;	/* 0 delivered, 4 temporary, 5 permanent */
	char status[8];
	char text[OUTPUT_MAX + 200];	/* for the log: paths and commands too */
	/*
	 * For notices and X-DEFER, which reach the sender: the text without
	 * local paths (mailbox files and folders, command lines); empty when
	 * text names none.
	 */
	char pub[OUTPUT_MAX + 200];
};

/* Whom a pipe or file target runs as (and a system user's delivery). */
struct who {
	uid_t uid;
	gid_t gid;
	int drop;	/* switch to uid/gid in the child */
	char name[64];
};

static struct table users, domains;
static const char *mailroot, *host, *delims, *default_privs;
static long long time_limit;	/* command_time_limit, seconds */
static struct spool sp;
static char *loops[LOOP_MAX];
static size_t nloops;
static char *pending_sync[SYNC_MAX];
static size_t nsync;
static unsigned long deliveries;
static const char *cur_qid = "-";

static void set_result(struct result *, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void set_public(struct result *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_result(struct result *r, int code, const char *status, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->status, sizeof r->status, "%s", status);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
	r->pub[0] = '\0';
}

/* What the sender is told, when the log's text names a local path. */
static void
set_public(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->pub, sizeof r->pub, fmt, ap);
	va_end(ap);
}

static const char *
public_text(const struct result *r)
{
	return r->pub[0] != '\0' ? r->pub : r->text;
}

/* A system error: temporary, as nearly all of them are (log.h). */
static void
sys_result(struct result *r, const char *what, const char *path)
{
	int e = errno;

	set_result(r, errno_exit(e) == EXIT_PERM ? 5 : 4,
	    errno_exit(e) == EXIT_PERM ? "5.2.0" : "4.2.0", "%s %s: %s", what,
	    path, strerror(e));
	set_public(r, "%s: %s", what, strerror(e));
}

/* fsync every Maildir new/ folder written since the last call. */
static int
sync_folders(void)
{
	int rc = 0;

	while (nsync > 0) {
		nsync--;
		if (fsync_dir(pending_sync[nsync], 1) < 0) {
			log_warn("unable to sync %s: %s", pending_sync[nsync],
			    strerror(errno));
			rc = -1;
		}
		free(pending_sync[nsync]);
	}
	return rc;
}

static int
sync_later(const char *dir)
{
	size_t i;

	for (i = 0; i < nsync; i++)
		if (strcmp(pending_sync[i], dir) == 0)
			return 0;
	if (nsync == SYNC_MAX && sync_folders() < 0)
		return -1;
	if ((pending_sync[nsync] = strdup(dir)) == NULL)
		return fsync_dir(dir, 1);
	nsync++;
	return 0;
}

/* The copy a mailbox gets: Return-Path, Delivered-To, then the message. */
static int
write_copy(struct wbuf *w, const char *from, const char *rcpt, int mboxrd)
{
	const char *l;
	size_t n, i;
	int rc;

	if (wbuf_printf(w, "Return-Path: <%s>\nDelivered-To: %s\n", from,
	    rcpt) < 0 || spool_rewind(&sp) < 0)
		return -1;
	while ((rc = spool_getline(&sp, &l, &n)) == 1) {
		if (mboxrd) {
			/* mboxrd: one more '>' on every line that reads ">*From ". */
			for (i = 0; i < n && l[i] == '>'; i++)
				;
			if (n - i >= 5 && memcmp(l + i, "From ", 5) == 0 &&
			    wbuf_putc(w, '>') < 0)
				return -1;
		}
		if (wbuf_put(w, l, n) < 0 || wbuf_putc(w, '\n') < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	return wbuf_flush(w);
}

static int
maildir_make(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[BOX_MAX + 8];
	size_t i;

	for (i = 0; i < 3; i++) {
		if (snprintf(p, sizeof p, "%s/%s", dir, sub[i]) >= (int)sizeof p)
			return errno = ENAMETOOLONG, -1;
		if (mkdir_p(p, 0700) < 0)
			return -1;
	}
	if (fsync_dir(dir, 1) < 0 || fsync_dir(dir, 0) < 0)
		return -1;
	return 0;
}

/*
 * Remove what killed deliveries left in a Maildir's tmp/: files neither
 * read nor written for 36 hours, as maildir(5) says.  The atime of tmp/
 * stamps the last look, so a delivery costs one stat of tmp/, and the
 * folder is read at most once an hour whatever the mount's atime policy.
 * A failure here is no failure of the delivery, which is done.
 */
static void
maildir_clean_tmp(const char *dir)
{
	static const struct timespec stamp[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	char p[BOX_MAX + 8];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;
	int fd;

	if (snprintf(p, sizeof p, "%s/tmp", dir) >= (int)sizeof p ||
	    stat(p, &st) < 0 || st.st_atime + TMP_LOOK_EVERY > now)
		return;
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	/* Stamped first, so that concurrent deliveries do not all look. */
	(void)futimens(fd, stamp);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime + TMP_STALE < now &&
		    st.st_atime + TMP_STALE < now && unlinkat(fd, de->d_name, 0) == 0)
			log_info("removed %s/%s: untouched for 36 hours", p, de->d_name);
	closedir(d);
}

/*
 * Maildir: a unique name (time.M<usec>P<pid>Q<n>.host), written in tmp/,
 * fsynced, renamed into new/.  new/ itself is fsynced before the program
 * reports success: at once when now is set, else once per folder at the end.
 */
static void
deliver_maildir(const char *dir, const char *from, const char *rcpt,
    int now, struct result *res)
{
	char name[512], tmp[BOX_MAX + 600], fin[BOX_MAX + 600], newdir[BOX_MAX + 8];
	struct timeval tv;
	struct wbuf w;
	int fd, made = 0;

	gettimeofday(&tv, NULL);
	snprintf(name, sizeof name, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++deliveries, host);
	if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name) >= (int)sizeof tmp ||
	    snprintf(fin, sizeof fin, "%s/new/%s", dir, name) >= (int)sizeof fin ||
	    snprintf(newdir, sizeof newdir, "%s/new", dir) >= (int)sizeof newdir) {
		set_result(res, 5, "5.2.0", "Maildir name too long: %s", dir);
		return set_public(res, "Maildir name too long");
	}
	while ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		if (errno != ENOENT || made++)
			return sys_result(res, "unable to create", tmp);
		if (maildir_make(dir) < 0)
			return sys_result(res, "unable to make the Maildir", dir);
	}
	if (wbuf_init(&w, fd, BUF_SIZE) < 0) {
		close(fd);
		unlink(tmp);
		return set_result(res, 4, "4.3.0", "out of memory");
	}
	if (write_copy(&w, from, rcpt, 0) < 0 || fsync(fd) < 0) {
		sys_result(res, "unable to write", tmp);
		wbuf_free(&w);
		close(fd);
		unlink(tmp);
		return;
	}
	wbuf_free(&w);
	if (close(fd) < 0 || rename(tmp, fin) < 0) {
		sys_result(res, "unable to deliver into the Maildir", newdir);
		unlink(tmp);
		return;
	}
	if ((now ? fsync_dir(newdir, 1) : sync_later(newdir)) < 0)
		return sys_result(res, "unable to sync", newdir);
	maildir_clean_tmp(dir);
	set_result(res, 0, "2.0.0", "delivered to maildir %s", dir);
	set_public(res, "delivered to mailbox");
}

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
dotlock(const char *lock, struct result *res)
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
			sys_result(res, "unable to create", lock);
			return -1;
		}
		/* A lock left by a crashed writer must not block the box forever. */
		if (stat(lock, &st) == 0 && st.st_mtime + LOCK_STALE < time(NULL)) {
			log_warn("qid=%s removing stale lock %s", cur_qid, lock);
			unlink(lock);
			continue;
		}
		pause_ms(200);
	}
	set_result(res, 4, "4.2.1", "mailbox is locked: %s", lock);
	set_public(res, "mailbox is locked");
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
 * mbox (mboxrd): both locks, a "From " line, the quoted message and a
 * blank line, fsync; any failure cuts the file back to its old size.
 */
static void
deliver_mbox(const char *path, const char *from, const char *rcpt,
    struct result *res)
{
	char lock[BOX_MAX + 8], date[64];
	struct wbuf w;
	struct stat st;
	int fd, locked = 0, made = 0;

	while ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		char parent[BOX_MAX];
		const char *slash = strrchr(path, '/');

		/* O_NOFOLLOW: a symbolic link is refused, never written through. */
		if (errno == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			set_result(res, 5, "5.2.0", "mailbox %s is a symbolic "
			    "link: refused", path);
			return set_public(res, "mailbox is a symbolic link: refused");
		}
		if (errno != ENOENT || made++ || slash == NULL || slash == path)
			return sys_result(res, "unable to open", path);
		snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
		if (mkdir_p(parent, 0700) < 0)
			return sys_result(res, "unable to make the mailbox's folder", parent);
	}
	if (snprintf(lock, sizeof lock, "%.*s.lock", (int)(sizeof lock - 6),
	    path) >= (int)sizeof lock) {
		close(fd);
		errno = ENAMETOOLONG;
		return sys_result(res, "unable to lock", path);
	}
	if ((locked = dotlock(lock, res)) < 0) {
		close(fd);
		return;
	}
	if (fcntl_lock(fd, F_WRLCK) < 0) {
		sys_result(res, "unable to lock", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		sys_result(res, "unable to stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_result(res, 4, "4.2.0", "mailbox %s is not a regular file", path);
		set_public(res, "mailbox is not a regular file");
		goto out;
	}
	if (wbuf_init(&w, fd, BUF_SIZE) < 0) {
		set_result(res, 4, "4.3.0", "out of memory");
		goto out;
	}
	from_date(date, sizeof date);
	if (wbuf_printf(&w, "From %s %s\n", from[0] ? from : "MAILER-DAEMON",
	    date) < 0 || write_copy(&w, from, rcpt, 1) < 0 ||
	    wbuf_putc(&w, '\n') < 0 || wbuf_flush(&w) < 0 || fsync(fd) < 0) {
		sys_result(res, "unable to write", path);
		/* Leave no half message behind for a reader to choke on. */
		if (ftruncate(fd, st.st_size) < 0 || fsync(fd) < 0)
			log_warn("qid=%s unable to truncate %s: %s", cur_qid, path,
			    strerror(errno));
	} else {
		set_result(res, 0, "2.0.0", "delivered to mbox %s", path);
		set_public(res, "delivered to mailbox");
	}
	wbuf_free(&w);
out:
	fcntl_lock(fd, F_UNLCK);
	close(fd);
	if (locked == 1)
		unlink(lock);
}

/*
 * A mailbox: a Maildir when box ends with '/', else an mbox file.  With
 * strict (a file: target), a Maildir folder that is a symbolic link is
 * refused as an mbox file that is one is (O_NOFOLLOW, deliver_mbox).
 */
static void
deliver_box(const char *box, const char *from, const char *rcpt, int now,
    int strict, struct result *res)
{
	char dir[BOX_MAX + BOX_MAX];
	struct stat st;
	size_t n = strlen(box);

	if (n == 0 || n >= sizeof dir)
		return set_result(res, 5, "5.2.0", "mailbox name empty or too long");
	if (box[n - 1] != '/')
		return deliver_mbox(box, from, rcpt, res);
	memcpy(dir, box, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	if (strict && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		set_result(res, 5, "5.2.0", "Maildir %s is a symbolic link: "
		    "refused", dir);
		return set_public(res, "Maildir is a symbolic link: refused");
	}
	deliver_maildir(dir, from, rcpt, now, res);
}

/* Become u for good: 0, or -1 when any step fails or root could come back. */
static int
become(const struct who *u)
{
	if (setgid(u->gid) < 0 || initgroups(u->name, u->gid) < 0 ||
	    setuid(u->uid) < 0 || getuid() != u->uid || geteuid() != u->uid)
		return -1;
	return setuid(0) == 0 ? -1 : 0;
}

/*
 * Deliver into box from a child that has become u before touching any
 * path: root's rights never reach a path the user controls.
 */
static void
deliver_as(const struct who *u, const char *box, const char *from,
    const char *rcpt, int strict, struct result *res)
{
	int p[2];
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return sys_result(res, "unable to make a pipe", u->name);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return sys_result(res, "unable to fork", u->name);
	}
	if (pid == 0) {
		close(p[0]);
		if (become(u) < 0)
			set_result(res, 4, "4.3.0", "unable to become %s", u->name);
		else
			deliver_box(box, from, rcpt, 1, strict, res);
		(void)!write(p[1], res, sizeof *res);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], res, sizeof *res)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (prog_wait(pid) != 0 || n != (ssize_t)sizeof *res)
		set_result(res, 4, "4.3.0", "delivery process for %s failed",
		    u->name);
}

/* A system user's ~/Maildir/, written as that user. */
static void
deliver_system(const char *name, const char *from, const char *rcpt,
    struct result *res)
{
	struct passwd *pw;
	struct who u;
	char dir[BOX_MAX];

	if (geteuid() != 0)
		return set_result(res, 4, "4.3.0", "delivery to system user %s "
		    "needs root, and sluice-local runs unprivileged", name);
	if ((pw = getpwnam(name)) == NULL)
		return set_result(res, 4, "4.3.0", "no system user %s", name);
	if (pw->pw_uid == 0)
		return set_result(res, 4, "4.3.0", "will not deliver as root (%s)",
		    name);
	if (snprintf(dir, sizeof dir, "%s/Maildir/", pw->pw_dir) >= (int)sizeof dir ||
	    strlen(name) >= sizeof u.name)
		return set_result(res, 5, "5.2.0", "home folder name too long");
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	u.drop = 1;
	memcpy(u.name, name, strlen(name) + 1);	/* length checked above */
	deliver_as(&u, dir, from, rcpt, 0, res);
}

/*
 * Whom pipe and file targets run as: the default_privs user when we are
 * root (never root itself), else sluice-local's own user.  0, or -1 with
 * res set.
 */
static int
target_user(struct who *u, struct result *res)
{
	struct passwd *pw;

	memset(u, 0, sizeof *u);
	if (geteuid() != 0) {
		u->uid = geteuid();
		u->gid = getegid();
		if ((pw = getpwuid(u->uid)) != NULL &&
		    strlen(pw->pw_name) < sizeof u->name)
			snprintf(u->name, sizeof u->name, "%s", pw->pw_name);
		else
			snprintf(u->name, sizeof u->name, "%lu", (unsigned long)u->uid);
		return 0;
	}
	if ((pw = getpwnam(default_privs)) == NULL) {
		set_result(res, 4, "4.3.0", "no system user %s (setting default_privs)",
		    default_privs);
		return -1;
	}
	if (pw->pw_uid == 0 || strlen(pw->pw_name) >= sizeof u->name) {
		set_result(res, 4, "4.3.0", "will not run pipes and files as %s "
		    "(setting default_privs)", default_privs);
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->drop = 1;
	snprintf(u->name, sizeof u->name, "%s", pw->pw_name);
	return 0;
}

/*
 * file:/path appends to an mbox, file:/path/ writes a Maildir, and
 * file:/dev/null discards, as the aliases of sendmail and Postfix do.
 */
static void
deliver_file(const struct txn *t, const struct rcpt *r, const char *path,
    struct result *res)
{
	struct who u;

	if (path[0] != '/') {
		set_result(res, 4, "4.3.5", "file route without an absolute "
		    "path: %.200s", path);
		return set_public(res, "file route without an absolute path");
	}
	if (strcmp(path, "/dev/null") == 0) {
		set_result(res, 0, "2.0.0", "discarded (/dev/null)");
		return set_public(res, "discarded");
	}
	if (target_user(&u, res) < 0)
		return;
	if (u.drop)
		deliver_as(&u, path, t->from, r->addr, 1, res);
	else
		deliver_box(path, t->from, r->addr, 0, 1, res);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NAME=value into buf, control characters shown as '?'. */
static char *
env_set(char *buf, size_t size, const char *name, const char *val)
{
	size_t i, k = (size_t)snprintf(buf, size, "%s=", name);

	for (i = 0; val[i] != '\0' && k + 1 < size; i++)
		buf[k++] = ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) ? '?' :
		    val[i];
	buf[k] = '\0';
	return buf;
}

/* ORCPT's address: "rfc822;xtext" decoded, other types as written. */
static void
orcpt_addr(const struct rcpt *r, char *out, size_t size)
{
	const char *semi;

	out[0] = '\0';
	if (r->orcpt == NULL || (semi = strchr(r->orcpt, ';')) == NULL)
		return;
	if (strncasecmp(r->orcpt, "rfc822;", 7) != 0 ||
	    xtext_decode(semi + 1, strlen(semi + 1), out, size) < 0)
		snprintf(out, size, "%s", semi + 1);
}

/*
 * The command's whole environment, as Postfix's local(8) gives it (no
 * more: nothing of ours leaks into it).
 */
static void
pipe_env(const struct txn *t, const struct rcpt *r, const struct who *u,
    char buf[][ENV_VAL_MAX], char **env)
{
	char orcpt[STREAM_ORCPT_MAX + 1];
	size_t n = 0;

	env[n] = env_set(buf[n], ENV_VAL_MAX, "PATH", "/usr/bin:/bin"), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "HOME", "/"), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "LOGNAME", u->name), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "USER", u->name), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "SENDER", t->from), n++;
	env[n] = env_set(buf[n], ENV_VAL_MAX, "RECIPIENT", r->addr), n++;
	orcpt_addr(r, orcpt, sizeof orcpt);
	if (orcpt[0] != '\0')
		env[n] = env_set(buf[n], ENV_VAL_MAX, "ORIGINAL_RECIPIENT", orcpt),
		    n++;
	env[n] = NULL;
}

/* The command's process: stdin, stdout+stderr, a session, u, "/", exec. */
static void __attribute__((noreturn))
pipe_child(const struct who *u, char **argv, char **env, int in, int out)
{
	sigset_t none;
	int fd;

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(75);
	if (close_range(3, ~0U, 0) < 0)
		for (fd = 3; fd < 1024; fd++)
			close(fd);
	/* What we ignore or block is not the command's business. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group, so a time-out kills what it started too. */
	setsid();
	if (u->drop && become(u) < 0) {
		dprintf(2, "unable to become %s\n", u->name);
		_exit(75);
	}
	if (chdir("/") < 0) {
		dprintf(2, "unable to change to /: %s\n", strerror(errno));
		_exit(75);
	}
	umask(077);
	execve(argv[0], argv, env);
	/* No path: this is the diagnostic senders see (the log names it). */
	dprintf(2, "unable to run the command: %s\n", strerror(errno));
	_exit(75);
}

/*
 * The feeder's process: the message (Return-Path, Delivered-To, the body
 * with LF line ends) into the command's stdin.  A command that stops
 * reading early is its own business (EPIPE is success, as in Postfix).
 */
static void __attribute__((noreturn))
pipe_feed(int fd, const char *from, const char *rcpt)
{
	struct wbuf w;

	signal(SIGPIPE, SIG_IGN);
	if (wbuf_init(&w, fd, BUF_SIZE) < 0)
		_exit(1);
	if (write_copy(&w, from, rcpt, 0) < 0)
		_exit(errno == EPIPE ? 0 : 1);
	_exit(0);
}

/*
 * Read the command's output until it closes it or the deadline passes,
 * keeping the first OUTPUT_MAX octets.  0 at the end of the output, -1 at
 * the deadline.
 */
static int
pipe_output(int fd, long long deadline, char *out, size_t *nout)
{
	char buf[4096];
	struct pollfd pf;
	ssize_t n;
	long long left;

	*nout = 0;
	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		pf.fd = fd;
		pf.events = POLLIN;
		if ((n = poll(&pf, 1, left > 1000 ? 1000 : (int)left)) == 0 ||
		    (n < 0 && errno == EINTR))
			continue;
		if (n < 0)
			return 0;
		if ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (*nout < OUTPUT_MAX) {
			size_t k = (size_t)n < OUTPUT_MAX - *nout ? (size_t)n :
			    OUTPUT_MAX - *nout;

			memcpy(out + *nout, buf, k);
			*nout += k;
		}
	}
}

/* Reap pid by the deadline: 0 with *st set, or -1 when it is still running. */
static int
reap(pid_t pid, long long deadline, int *st)
{
	long ms = 1;
	pid_t p;

	while ((p = waitpid(pid, st, WNOHANG)) == 0 || (p < 0 && errno == EINTR)) {
		if (now_ms() >= deadline)
			return -1;
		pause_ms(ms);
		if (ms < 100)
			ms *= 2;
	}
	if (p < 0)
		*st = W_EXITCODE(75, 0);	/* status lost: not a success */
	return 0;
}

static void
kill_reap(pid_t pid, int group, int *st)
{
	if (group)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

/* The command's output on one line: printable ASCII, runs of space as one. */
static void
flatten(const char *s, size_t n, char *out, size_t size)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f) {
			if (k > 0 && out[k - 1] != ' ')
				out[k++] = ' ';
		} else
			out[k++] = (char)c;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/*
 * sysexits.h codes 64..78 as Postfix's sys_exits table reads them:
 * EX_OSERR (71) and EX_TEMPFAIL (75) are temporary, the others permanent.
 */
static const struct {
	const char *status, *text;
} sysexits[] = {
	{ "5.3.0", "command line usage error" },	/* 64 EX_USAGE */
	{ "5.6.0", "data format error" },		/* 65 EX_DATAERR */
	{ "5.3.0", "cannot open input" },		/* 66 EX_NOINPUT */
	{ "5.1.1", "user unknown" },			/* 67 EX_NOUSER */
	{ "5.1.2", "host name unknown" },		/* 68 EX_NOHOST */
	{ "5.3.0", "service unavailable" },		/* 69 EX_UNAVAILABLE */
	{ "5.3.0", "internal software error" },	/* 70 EX_SOFTWARE */
	{ "4.3.0", "system resource problem" },	/* 71 EX_OSERR */
	{ "5.3.0", "critical OS file missing" },	/* 72 EX_OSFILE */
	{ "5.2.0", "can't create user output file" },	/* 73 EX_CANTCREAT */
	{ "5.3.0", "input/output error" },		/* 74 EX_IOERR */
	{ "4.3.0", "temporary failure" },		/* 75 EX_TEMPFAIL */
	{ "5.5.0", "remote error in protocol" },	/* 76 EX_PROTOCOL */
	{ "5.7.0", "permission denied" },		/* 77 EX_NOPERM */
	{ "5.3.5", "local configuration error" },	/* 78 EX_CONFIG */
};

/*
 * What the command's end means for the recipient.  The log's text names
 * the command; the sender's leaves it out, and keeps the command's output.
 */
static void
pipe_result(const char *cmd, int st, int timed_out, int fed, const char *out,
    struct result *res)
{
	const char *sep = out[0] ? ": " : "", *what = "command", *status = "4.3.0";
	char tail[OUTPUT_MAX + 200];	/* after the command's name */
	int e = WIFEXITED(st) ? WEXITSTATUS(st) : -1, code = 4;

	if (timed_out)
		snprintf(tail, sizeof tail, " exceeded the time limit of %llds "
		    "(setting command_time_limit)%s%s", time_limit, sep, out);
	else if (WIFSIGNALED(st))
		snprintf(tail, sizeof tail, " killed by signal %d%s%s",
		    WTERMSIG(st), sep, out);
	else if (e < 0)
		snprintf(tail, sizeof tail, " ended oddly%s%s", sep, out);
	else if (e == 0 && fed) {
		what = "delivered to command", status = "2.0.0", code = 0;
		tail[0] = '\0';
	} else if (e == 0) {
		what = "unable to give the message to command";
		snprintf(tail, sizeof tail, "%s%s", sep, out);
	} else if (e >= 64 && e <= 78) {
		status = sysexits[e - 64].status;
		code = status[0] - '0';
		snprintf(tail, sizeof tail, " exited with status %d (%s)%s%s", e,
		    sysexits[e - 64].text, sep, out);
	} else {
		status = "5.3.0", code = 5;
		snprintf(tail, sizeof tail, " exited with status %d%s%s", e, sep,
		    out);
	}
	set_result(res, code, status, "%s %s%s", what, cmd, tail);
	set_public(res, "%s%s", what, tail);
}

/*
 * pipe:/path/to/command args: run it with execve (words split on white
 * space, no shell), the message on its stdin, a fixed environment, as the
 * target_user(), within command_time_limit; its exit status decides.
 */
static void
deliver_pipe(const struct txn *t, const struct rcpt *r, const char *cmd,
    struct result *res)
{
	static char envbuf[8][ENV_VAL_MAX];
	char words[ROUTE_MAX + 1], *argv[ARGV_MAX + 1], *env[8], *save = NULL, *w;
	char raw[OUTPUT_MAX], out[OUTPUT_MAX + 1];
	size_t argc = 0, nraw = 0;
	int in[2], op[2], st = 0, fst = 0, timed_out = 0, fed;
	long long deadline;
	pid_t pid, feeder;
	struct who u;

	snprintf(words, sizeof words, "%s", cmd);
	for (w = strtok_r(words, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (argc == ARGV_MAX)
			return set_result(res, 4, "4.3.5", "pipe command has more than "
			    "%d words", ARGV_MAX);
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] != '/') {
		set_result(res, 4, "4.3.5", "pipe command is not an absolute "
		    "path: %.200s", cmd);
		return set_public(res, "pipe command is not an absolute path");
	}
	if (target_user(&u, res) < 0)
		return;
	pipe_env(t, r, &u, envbuf, env);
	if (pipe2(in, O_CLOEXEC) < 0)
		return sys_result(res, "unable to make a pipe", argv[0]);
	if (pipe2(op, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return sys_result(res, "unable to make a pipe", argv[0]);
	}
	deadline = now_ms() + time_limit * 1000;
	if ((pid = fork()) == 0)
		pipe_child(&u, argv, env, in[0], op[1]);
	close(in[0]);
	close(op[1]);
	feeder = pid < 0 ? -1 : fork();
	if (feeder == 0) {
		close(op[0]);
		pipe_feed(in[1], t->from, r->addr);
	}
	close(in[1]);
	if (pid < 0 || feeder < 0) {
		int e = errno;

		close(op[0]);
		if (pid > 0)
			kill_reap(pid, 1, &st);
		errno = e;
		return sys_result(res, "unable to fork", argv[0]);
	}
	if (pipe_output(op[0], deadline, raw, &nraw) < 0 || reap(pid, deadline, &st) < 0) {
		timed_out = 1;
		kill_reap(pid, 1, &st);
	}
	close(op[0]);
	/* A leftover of the command may hold its stdin: the deadline holds. */
	if (reap(feeder, deadline, &fst) < 0) {
		timed_out = 1;
		kill_reap(feeder, 0, &fst);
	}
	fed = WIFEXITED(fst) && WEXITSTATUS(fst) == 0;
	flatten(raw, nraw, out, sizeof out);
	pipe_result(argv[0], st, timed_out, fed, out, res);
}

/*
 * Whether the recipient is ours: X-ROUTE=local, pipe: or file: (whatever
 * the domain), or no route and a local domain.
 */
static int
is_local(const struct rcpt *r, const struct addr *a, int parsed)
{
	const char *route = xparam_get(r->x, r->nx, "X-ROUTE");
	char val[16];

	if (route != NULL)
		return strcasecmp(route, "local") == 0 ||
		    strncasecmp(route, "local:", 6) == 0 ||
		    strncasecmp(route, "pipe:", 5) == 0 ||
		    strncasecmp(route, "file:", 5) == 0;
	if (!parsed)
		return 0;
	if (a->domain[0] == '\0')
		return 1;
	if (a->literal)
		return 0;
	return table_lookup_domain(&domains, a->domain, val, sizeof val) == 1;
}

static int
looped(const char *rcpt)
{
	size_t i;

	for (i = 0; i < nloops; i++)
		if (strcasecmp(loops[i], rcpt) == 0)
			return 1;
	return 0;
}

/* Deliver one local recipient. */
static void
deliver(const struct txn *t, const struct rcpt *r, const struct addr *a,
    struct result *res)
{
	char key[ADDR_PATH_MAX + 8], val[BOX_MAX];
	char box[BOX_MAX + BOX_MAX];
	struct route rt;
	const char *err;
	int rc;

	addr_format(a, key, sizeof key);
	if (looped(r->addr))
		return set_result(res, 5, "5.4.6", "mail forwarding loop for %s: "
		    "the message already has Delivered-To: %s", r->addr, r->addr);
	/* pipe: and file: come from the aliases (or routes) table only. */
	if ((rc = route_get(r, &rt, &err)) < 0)
		return set_result(res, 4, "4.3.5", "invalid X-ROUTE: %s", err);
	if (rc == 1 && rt.ch == ROUTE_PIPE)
		return deliver_pipe(t, r, rt.arg, res);
	if (rc == 1 && rt.ch == ROUTE_FILE)
		return deliver_file(t, r, rt.arg, res);
	/* bob+list@ is bob's mailbox; Delivered-To keeps the whole address. */
	rc = local_user(&users, key, delims, val, sizeof val);
	if (rc < 0) {
		const char *why = strerror(errno);

		set_result(res, 4, "4.3.0", "unable to read table %s: %s",
		    users.path, why);
		return set_public(res, "unable to read table users: %s", why);
	}
	if (rc == 0) {
		/* RFC 5321 4.5.1: postmaster must work for every local domain. */
		if (!addr_is_postmaster(a))
			return set_result(res, 5, "5.1.1", "no such user here: %s", key);
		snprintf(val, sizeof val, "postmaster/");
	}
	if (strncmp(val, "system:", 7) == 0)
		return deliver_system(val + 7, t->from, r->addr, res);
	if (val[0] == '\0')
		return set_result(res, 4, "4.3.0", "empty mailbox for %s in table users",
		    key);
	if (val[0] == '/')
		snprintf(box, sizeof box, "%s", val);
	else
		snprintf(box, sizeof box, "%s/%s", mailroot, val);
	deliver_box(box, t->from, r->addr, 0, 0, res);
}

/* Spool the body, remembering the Delivered-To fields of its header. */
static void
spool_body(struct stream_reader *rd)
{
	const char *l;
	size_t n, k;
	int rc, hdr = 1;

	while (nloops > 0)
		free(loops[--nloops]);
	if (spool_reset(&sp) < 0)
		die_sys("unable to reset the spool file");
	while ((rc = stream_read_line(rd, &l, &n)) == 1) {
		if (hdr && n == 0)
			hdr = 0;
		else if (hdr && n > 13 && strncasecmp(l, "Delivered-To:", 13) == 0 &&
		    nloops < LOOP_MAX) {
			size_t e = n;

			for (k = 13; k < e && (l[k] == ' ' || l[k] == '\t'); k++)
				;
			while (e > k && (l[e - 1] == ' ' || l[e - 1] == '\t'))
				e--;
			if ((loops[nloops] = strndup(l + k, e - k)) == NULL)
				die_nomem();
			nloops++;
		}
		if (spool_write_line(&sp, l, n) < 0)
			die_sys("unable to write the spool file");
	}
	if (rc < 0)
		die(rd->exit_code, "%s", rd->err);
	if (spool_rewind(&sp) < 0)
		die_sys("unable to write the spool file");
}

static void
notice(struct stream_writer *w, const struct txn *t, struct txn *list,
    struct result *res, enum dsn_action action)
{
	struct dsn_rcpt dr[STREAM_RCPT_MAX];
	struct dsn d;
	size_t i;

	if (list->nrcpt == 0)
		return;
	memset(&d, 0, sizeof d);
	d.orig = t;
	d.qid = t->xf[XF_IDENT];
	d.action = action;
	d.body = &sp;
	for (i = 0; i < list->nrcpt; i++) {
		memset(&dr[i], 0, sizeof dr[i]);
		dr[i].rcpt = &list->rcpt[i];
		dr[i].status = res[i].status;
		dr[i].diag = public_text(&res[i]);
	}
	if (dsn_write(w, &d, dr, list->nrcpt) < 0)
		die_sys("unable to write a delivery notice");
}

/* X-DEFER=status text, cut to fit the stream's limit on a parameter. */
static void
set_defer(struct rcpt *r, const struct result *res)
{
	char text[sizeof res->text + 16], enc[STREAM_XVAL_MAX + 1];
	size_t n;

	snprintf(text, sizeof text, "%s %s", res->status, public_text(res));
	n = strlen(text);
	while (xtext_encode(text, n, enc, sizeof enc) < 0)
		n -= n / 8 + 1;
	if (xparam_set(r->x, &r->nx, "X-DEFER", enc) < 0)
		die_nomem();
}

/*
 * The route that tells a command or file target apart in the record of
 * delivered recipients (a mailbox is known by its address alone).
 */
static const char *
target_route(const struct rcpt *r)
{
	const char *route = xparam_get(r->x, r->nx, "X-ROUTE");

	if (route != NULL && (strncasecmp(route, "pipe:", 5) == 0 ||
	    strncasecmp(route, "file:", 5) == 0))
		return route;
	return NULL;
}

/*
 * Note a delivery before anything else happens, so that a retry of this
 * batch (a later stage failed, the chain was killed) does not repeat it.
 */
static void
record(const struct rcpt *r)
{
	if (delivered_mark(cur_qid, r->addr, target_route(r), 0) < 0)
		log_warn("qid=%s to=<%s> unable to record the delivery (a retry "
		    "may deliver it again): %s", cur_qid, r->addr, strerror(errno));
}

/* One transaction: deliver what is ours, write what remains and the notices. */
static void
process(struct stream_reader *rd, struct stream_writer *w, struct txn *t)
{
	static struct result fres[STREAM_RCPT_MAX], sres[STREAM_RCPT_MAX],
	    all[STREAM_RCPT_MAX];
	static struct delivered rec;
	struct txn failed, done;
	struct addr a;
	struct addr_err ae;
	char *local;
	size_t i, nlocal = 0;
	int rfail = 0, dead, noroom;

	cur_qid = t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
	if ((local = calloc(t->nrcpt, 1)) == NULL)
		die_nomem();
	for (i = 0; i < t->nrcpt; i++) {
		int parsed = addr_parse(t->rcpt[i].addr, strlen(t->rcpt[i].addr),
		    ADDR_UNQUAL_OK | ADDR_UTF8, &a, &ae) == 0;

		local[i] = (char)is_local(&t->rcpt[i], &a, parsed);
		nlocal += local[i] != 0;
	}
	if (nlocal == 0) {
		/* Nothing for us: copy it through without spooling. */
		free(local);
		if (stream_write_head(w, t) < 0 || stream_copy_body(rd, w, &rfail) < 0) {
			if (rfail)
				die(rd->exit_code, "%s", rd->err);
			die_sys("unable to write the output");
		}
		return;
	}
	spool_body(rd);
	txn_init(&failed);
	txn_init(&done);
	dead = dsn_is_double(t);
	if (delivered_load(&rec, t->xf[XF_IDENT]) < 0)
		die_sys("qid=%s unable to read the record of delivered recipients",
		    cur_qid);
	noroom = delivered_room(t->xf[XF_IDENT]) < 0 ? errno : 0;
	for (i = 0; i < t->nrcpt; i++) {
		struct rcpt *r = &t->rcpt[i];
		struct result *res = &all[i];

		if (!local[i])
			continue;
		if (delivered_find(&rec, r->addr, target_route(r)) >= 0)
			set_result(res, 0, "2.0.0", "delivered by an earlier attempt "
			    "(the record of delivered recipients says so)");
		else if (noroom)
			set_result(res, 4, "4.3.1", "unable to record deliveries in "
			    "the queue: %s", strerror(noroom));
		else if (addr_parse(r->addr, strlen(r->addr), ADDR_UNQUAL_OK |
		    ADDR_UTF8, &a, &ae) < 0)
			set_result(res, 5, "5.1.3", "bad recipient address syntax: %s",
			    ae.msg);
		else {
			deliver(t, r, &a, res);
			if (res->code == 0)
				record(r);
		}
		log_info("qid=%s to=<%s> status=%s dsn=%s %s", cur_qid, r->addr,
		    res->code == 0 ? "sent" : res->code == 4 ? "deferred" : "bounced",
		    res->status, res->text);
		if (res->code == 4 || (res->code == 5 && dead)) {
			/* A failed double bounce stays for sluice-runq to put in dead/. */
			set_defer(r, res);
			local[i] = 0;
			continue;
		}
		if (res->code == 5) {
			fres[failed.nrcpt] = *res;
			if (rcpt_copy(&failed, r) < 0)
				die_nomem();
		} else if (r->notify & NOTIFY_SUCCESS) {
			sres[done.nrcpt] = *res;
			if (rcpt_copy(&done, r) < 0)
				die_nomem();
		}
	}
	for (i = t->nrcpt; i-- > 0;)
		if (local[i])
			txn_del_rcpt(t, i);
	free(local);
	if (t->nrcpt > 0 && (stream_write_head(w, t) < 0 ||
	    spool_write_stream(&sp, w) < 0))
		die_sys("unable to write the output");
	notice(w, t, &failed, fres, DSN_FAILED);
	notice(w, t, &done, sres, DSN_DELIVERED);
	txn_free(&failed);
	txn_free(&done);
}

static const char *
spool_dir(void)
{
	static char dir[4096];
	struct stat st;

	/* The queue's own tmp/ when we can write there, so the body stays on its disk. */
	if (path_join(dir, sizeof dir, conf_spool(), "tmp") == 0 &&
	    stat(dir, &st) == 0 && access(dir, W_OK) == 0)
		return dir;
	return spool_tmpdir();
}

int
main(int argc, char **argv)
{
	struct stream_reader rd;
	struct stream_writer w;
	struct txn t;
	int rc;

	usage_none(argc, argv, "usage: sluice-local < stream > stream\nSee sluice-local(8).\n");
	log_init(argv[0]);
	if (table_open(&users, "users") < 0)
		die_sys("unable to open table users");
	if (table_open(&domains, "domains") < 0)
		die_sys("unable to open table domains");
	mailroot = conf_get("mailroot", "/var/mail/sluice");
	delims = conf_get("recipient_delimiter", "+");
	default_privs = conf_get("default_privs", "nobody");
	time_limit = conf_time("command_time_limit", 1000);
	if (time_limit < 1 || time_limit > TIME_LIMIT_MAX)
		die(EXIT_TEMP, "command_time_limit must be from 1s to 7d");
	/* Commands are waited for: their status must not be reaped away. */
	signal(SIGCHLD, SIG_DFL);
	host = conf_hostname();
	if (strchr(host, '/') != NULL || strchr(host, ':') != NULL)
		host = "localhost";	/* never a '/' or ':' in a Maildir name */
	if (spool_open(&sp, spool_dir()) < 0)
		die_sys("unable to make a spool file in %s", spool_dir());
	if (stream_reader_init(&rd, 0, "stdin") < 0 ||
	    stream_writer_init(&w, 1, 0) < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&rd, &t)) == 1)
		process(&rd, &w, &t);
	if (rc < 0) {
		sync_folders();
		die(rd.exit_code, "%s", rd.err);
	}
	/* Nothing is reported delivered before its Maildir folder is synced. */
	if (sync_folders() < 0)
		die(EXIT_TEMP, "unable to sync Maildir folders: delivered mail may be lost");
	if (stream_flush(&w) < 0)
		die_sys("unable to write the output");
	return 0;
}
