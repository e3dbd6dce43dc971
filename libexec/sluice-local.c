/*
 * sluice-local: the local delivery stage.  Delivers each local recipient
 * into its Maildir or mbox (table "users"), removes it from the stream,
 * and adds an RFC 3464 notice for permanent failures (and for successes
 * when asked); temporary failures stay in the stream with X-DEFER set.
 * Everything else passes through untouched.  See sluice-local(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#include "dsn.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"
#include "prog.h"
#include "spool.h"
#include "stream.h"
#include "table.h"
#include "xtext.h"

#define BOX_MAX 4096	/* a mailbox path */
#define LOOP_MAX 64	/* Delivered-To fields remembered from one header */
#define SYNC_MAX 64	/* Maildir folders waiting for their fsync */
#define LOCK_WAIT 30	/* seconds to wait for an mbox lock */
#define LOCK_STALE 300	/* a dot-lock older than this is stale */

struct result {
	int code;	/* 0 delivered, 4 temporary, 5 permanent */
	char status[8];
	char text[400];
};

static struct table users, domains;
static const char *mailroot, *host, *delims;
static struct spool sp;
static char *loops[LOOP_MAX];
static size_t nloops;
static char *pending_sync[SYNC_MAX];
static size_t nsync;
static unsigned long deliveries;
static const char *cur_qid = "-";

static void set_result(struct result *, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_result(struct result *r, int code, const char *status, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->status, sizeof r->status, "%s", status);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
}

/* A system error: temporary, as nearly all of them are (log.h). */
static void
sys_result(struct result *r, const char *what, const char *path)
{
	int e = errno;

	set_result(r, errno_exit(e) == EXIT_PERM ? 5 : 4,
	    errno_exit(e) == EXIT_PERM ? "5.2.0" : "4.2.0", "%s %s: %s", what,
	    path, strerror(e));
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
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name);
	snprintf(fin, sizeof fin, "%s/new/%s", dir, name);
	snprintf(newdir, sizeof newdir, "%s/new", dir);
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
		sys_result(res, "unable to deliver into", newdir);
		unlink(tmp);
		return;
	}
	if ((now ? fsync_dir(newdir, 1) : sync_later(newdir)) < 0)
		return sys_result(res, "unable to sync", newdir);
	set_result(res, 0, "2.0.0", "delivered to maildir %s", dir);
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

		if (errno != ENOENT || made++ || slash == NULL || slash == path)
			return sys_result(res, "unable to open", path);
		snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
		if (mkdir_p(parent, 0700) < 0)
			return sys_result(res, "unable to make", parent);
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
	} else
		set_result(res, 0, "2.0.0", "delivered to mbox %s", path);
	wbuf_free(&w);
out:
	fcntl_lock(fd, F_UNLCK);
	close(fd);
	if (locked == 1)
		unlink(lock);
}

/*
 * A system user's ~/Maildir/, written by a child that has become that
 * user: root's rights never touch a path the user controls.
 */
static void
deliver_system(const char *name, const char *from, const char *rcpt,
    struct result *res)
{
	struct passwd *pw;
	char dir[BOX_MAX];
	int p[2];
	pid_t pid;
	ssize_t n;

	if (geteuid() != 0)
		return set_result(res, 4, "4.3.0", "delivery to system user %s "
		    "needs root, and sluice-local runs unprivileged", name);
	if ((pw = getpwnam(name)) == NULL)
		return set_result(res, 4, "4.3.0", "no system user %s", name);
	if (pw->pw_uid == 0)
		return set_result(res, 4, "4.3.0", "will not deliver as root (%s)",
		    name);
	if (snprintf(dir, sizeof dir, "%s/Maildir", pw->pw_dir) >= (int)sizeof dir)
		return set_result(res, 5, "5.2.0", "home folder name too long");
	if (pipe2(p, O_CLOEXEC) < 0)
		return sys_result(res, "unable to make a pipe for", name);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return sys_result(res, "unable to fork for", name);
	}
	if (pid == 0) {
		close(p[0]);
		if (setgid(pw->pw_gid) < 0 || initgroups(name, pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0 || getuid() != pw->pw_uid ||
		    setuid(0) == 0)
			set_result(res, 4, "4.3.0", "unable to become %s", name);
		else
			deliver_maildir(dir, from, rcpt, 1, res);
		(void)!write(p[1], res, sizeof *res);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], res, sizeof *res)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (prog_wait(pid) != 0 || n != (ssize_t)sizeof *res)
		set_result(res, 4, "4.3.0", "delivery process for %s failed", name);
}

/* Whether the recipient is ours: X-ROUTE=local, or no route and a local domain. */
static int
is_local(const struct rcpt *r, const struct addr *a, int parsed)
{
	const char *route = xparam_get(r->x, r->nx, "X-ROUTE");
	char val[16];

	if (route != NULL)
		return strcasecmp(route, "local") == 0 ||
		    strncasecmp(route, "local:", 6) == 0;
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
	size_t n;
	int rc;

	addr_format(a, key, sizeof key);
	if (looped(r->addr))
		return set_result(res, 5, "5.4.6", "mail forwarding loop for %s: "
		    "the message already has Delivered-To: %s", r->addr, r->addr);
	/* bob+list@ is bob's mailbox; Delivered-To keeps the whole address. */
	rc = local_user(&users, key, delims, val, sizeof val);
	if (rc < 0)
		return set_result(res, 4, "4.3.0", "unable to read table %s: %s",
		    users.path, strerror(errno));
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
	n = strlen(box);
	if (box[n - 1] == '/') {
		while (n > 1 && box[n - 1] == '/')
			box[--n] = '\0';
		return deliver_maildir(box, t->from, r->addr, 0, res);
	}
	deliver_mbox(box, t->from, r->addr, res);
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
		dr[i].diag = res[i].text;
	}
	if (dsn_write(w, &d, dr, list->nrcpt) < 0)
		die_sys("unable to write a delivery notice");
}

static void
set_defer(struct rcpt *r, const struct result *res)
{
	char text[sizeof res->text + 16], enc[3 * sizeof text];

	snprintf(text, sizeof text, "%s %s", res->status, res->text);
	if (xtext_encode(text, strlen(text), enc, sizeof enc) < 0 ||
	    xparam_set(r->x, &r->nx, "X-DEFER", enc) < 0)
		die_nomem();
}

/* One transaction: deliver what is ours, write what remains and the notices. */
static void
process(struct stream_reader *rd, struct stream_writer *w, struct txn *t)
{
	static struct result fres[STREAM_RCPT_MAX], sres[STREAM_RCPT_MAX],
	    all[STREAM_RCPT_MAX];
	struct txn failed, done;
	struct addr a;
	struct addr_err ae;
	char *local;
	size_t i, nlocal = 0;
	int rfail = 0, dead;

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
	for (i = 0; i < t->nrcpt; i++) {
		struct rcpt *r = &t->rcpt[i];
		struct result *res = &all[i];

		if (!local[i])
			continue;
		if (addr_parse(r->addr, strlen(r->addr), ADDR_UNQUAL_OK | ADDR_UTF8,
		    &a, &ae) < 0)
			set_result(res, 5, "5.1.3", "bad recipient address syntax: %s",
			    ae.msg);
		else
			deliver(t, r, &a, res);
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

	(void)argc;
	log_init(argv[0]);
	if (table_open(&users, "users") < 0)
		die_sys("unable to open table users");
	if (table_open(&domains, "domains") < 0)
		die_sys("unable to open table domains");
	mailroot = conf_get("mailroot", "/var/mail/sluice");
	delims = conf_get("recipient_delimiter", "+");
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
		die(111, "unable to sync Maildir folders: delivered mail may be lost");
	if (stream_flush(&w) < 0)
		die_sys("unable to write the output");
	return 0;
}
