/*
 * sluice-runq: the queue runner.  Takes due queue files in batches, runs
 * the configured chain of stages over each batch, and requeues what comes
 * out: the undelivered remainder of a message goes to deferred/ with its
 * next retry time (or is bounced when too old), a notice a stage added is
 * queued as a new message, and the inputs are removed only after all that
 * is on disk.  See sluice-runq(8) and doc/internals.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "dsn.h"
#include "fsutil.h"
#include "log.h"
#include "priv.h"
#include "prog.h"
#include "qdest.h"
#include "qid.h"
#include "spool.h"
#include "stream.h"
#include "strset.h"
#include "xtext.h"

#define STAGES_MAX 16		/* stages in the chain */
#define ARGS_MAX 32		/* words in one stage */
#define CHAINS_MAX 64		/* the concurrency setting's ceiling */
#define BATCH_MAX 10000		/* the batch_size setting's ceiling */
#define SCAN_INTERVAL 5		/* seconds between looks at deferred/ */
#define TMP_STALE 86400		/* an unlockable tmp/ file older than this goes */
#define TMP_CLEAN_INTERVAL 3600	/* seconds between looks at tmp/ */
#define FLUSH_MAX 64		/* flush requests taken in one round */

enum { INCOMING, DEFERRED };
static const char *const dirname_[] = { "incoming", "deferred" };

struct input {
	char qid[QID_LEN + 1];
	int dir;	/* INCOMING or DEFERRED */
	int seen;	/* a remainder came out of the chain */
	int kept;	/* the remainder was written back */
};

struct chain {
	int active;
	pid_t pid[STAGES_MAX + 1];	/* [0] is the feeder */
	int npid, status;
	int out;	/* the chain's output, an unlinked file */
	struct input *in;
	size_t n;
};

/* A batch waiting to run again (the halves of a refused batch). */
struct split {
	struct input *in;
	size_t n;
};

static const char *spool;
static int spool_fd = -1, trigger_fd = -1, lock_fd = -1, sig_pipe[2];
static char chain_text[4096];
static char **stage_argv[STAGES_MAX];
static char *stage_words[STAGES_MAX][ARGS_MAX];
static int nstages;
static size_t batch_size, concurrency;
/*
 * While a chain is running, new arrivals wait up to this long for more to
 * join them, so that a steady stream makes batches instead of a chain per
 * message.  An idle runner starts at once.
 */
static long long batch_wait_ms;
static long long lifetime, delay_warning, retry_min, retry_max;
static int once, force, any_queue_first;
static char *flush_target;	/* -D: only messages for this destination */
static volatile sig_atomic_t stopping, got_child;
static struct chain chains[CHAINS_MAX];
static struct input *todo;
static size_t ntodo, atodo, todo_pos;
static struct split *splits;
static size_t nsplits, asplits;
static struct spool sp;
static time_t next_tmp_clean;	/* 0 until the first look at tmp/ */
static void clean_tmp(void);
static void clean_tmp_file(int dfd, const char *name, time_t now);

/* ---- sets of queue ids (insert only; rebuilt when needed) ---- */

static struct strset inflight, processed;
/* Files already reported as unreadable, so each is reported once. */
static struct strset unreadable;

static void
qset_add(struct strset *s, const char *q)
{
	if (strset_add(s, q) < 0)
		die_nomem();
}

/* ---- small helpers ---- */

/* An array of *a elements of size sz made twice as long (first when empty). */
static void *
grow(void *v, size_t *a, size_t first, size_t sz)
{
	size_t n = *a ? *a * 2 : first;

	if ((v = realloc(v, n * sz)) == NULL)
		die_nomem();
	*a = n;
	return v;
}

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGCHLD)
		got_child = 1;
	else
		stopping++;
	(void)!write(sig_pipe[1], "", 1);
	errno = e;
}

static int
sync_subdir(const char *name)
{
	int fd = openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static long long
clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Next attempt: as long again as the message has waited, within the
 * bounds; lt is the shortest lifetime of its recipients.
 */
static time_t
next_retry(const char *qid, time_t now, long long lt)
{
	time_t arrival = qid_time(qid), next;

	if (arrival == 0 || arrival > now)
		arrival = now;
	next = now + (time_t)clamp(now - arrival, retry_min, retry_max);
	/* Do not sleep past the end of the message's life: bounce on time. */
	if (next > arrival + lt)
		next = arrival + lt > now ? arrival + lt : now + 1;
	return next;
}

/* How long the queue keeps trying this recipient: smtp_dest, else queue_lifetime. */
static long long
rcpt_lifetime(const struct rcpt *r)
{
	struct dest_opts o;

	qdest_opts(r, &o);
	return o.lifetime >= 0 ? o.lifetime : lifetime;
}

/* The shortest lifetime of a transaction's recipients. */
static long long
txn_lifetime(const struct txn *t)
{
	long long lt = lifetime, l;
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if ((l = rcpt_lifetime(&t->rcpt[i])) < lt)
			lt = l;
	return lt;
}

/*
 * The envelope of a queue file (path under the spool) into t: 1, or 0
 * when it is gone or unreadable (the chain will say what is wrong).
 */
static int
read_env(const char *path, struct txn *t)
{
	static struct stream_reader r;
	int fd, rc;

	if ((fd = openat(spool_fd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (stream_reader_init(&r, fd, path) < 0)
		die_nomem();
	rc = stream_read_txn(&r, t);
	stream_reader_free(&r);
	close(fd);
	return rc == 1;
}

/* Whether a recipient of t belongs to one of the destinations. */
static int
txn_matches(const struct txn *t, const char *const *names, size_t n)
{
	size_t i, k;

	for (i = 0; i < t->nrcpt; i++)
		for (k = 0; k < n; k++)
			if (qdest_match(&t->rcpt[i], names[k]))
				return 1;
	return 0;
}

static int
set_mtime(int fd, const char *name, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	return name ? utimensat(fd, name, ts, 0) : futimens(fd, ts);
}

static void
input_path(const struct input *in, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", dirname_[in->dir], in->qid);
}

/* ---- picking work ---- */

static void
todo_add(const char *qid, int dir)
{
	if (ntodo == atodo)
		todo = grow(todo, &atodo, 256, sizeof *todo);
	memset(&todo[ntodo], 0, sizeof todo[ntodo]);
	memcpy(todo[ntodo].qid, qid, QID_LEN + 1);
	todo[ntodo].dir = dir;
	ntodo++;
}

static int
by_qid(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->qid, ((const struct input *)b)->qid);
}

/*
 * queue_first: a new message whose every recipient is for such a
 * destination is not tried now; it waits in deferred/ for its first retry
 * time or a flush.  Returns 1 when it was moved there.
 */
static int
hold_incoming(const char *qid, time_t now)
{
	static struct txn t;
	struct dest_opts o;
	char path[300], dst[300];
	time_t next;
	size_t i;

	snprintf(path, sizeof path, "incoming/%s", qid);
	if (!read_env(path, &t) || t.nrcpt == 0)
		return 0;
	for (i = 0; i < t.nrcpt; i++) {
		qdest_opts(&t.rcpt[i], &o);
		if (!o.queue_first)
			return 0;
	}
	next = next_retry(qid, now, txn_lifetime(&t));
	snprintf(dst, sizeof dst, "deferred/%s", qid);
	if (set_mtime(spool_fd, path, next) < 0 ||
	    renameat(spool_fd, path, spool_fd, dst) < 0) {
		log_warn("qid=%s unable to move to deferred/: %s", qid,
		    strerror(errno));
		return 0;
	}
	if (sync_subdir("deferred") < 0)
		log_warn("unable to sync %s/deferred: %s", spool, strerror(errno));
	log_info("qid=%s status=queued nrcpt=%zu next=%llds reason=\"queue_first: "
	    "waiting for the next retry or a flush\"", qid, t.nrcpt,
	    (long long)(next - now));
	return 1;
}

/* -D: whether the file has a recipient for the flushed destination. */
static int
for_target(int dir, const char *qid)
{
	static struct txn t;
	const char *name = flush_target;
	char path[300];

	snprintf(path, sizeof path, "%s/%s", dirname_[dir], qid);
	return read_env(path, &t) && txn_matches(&t, &name, 1);
}

static void
scan_dir(int dir, time_t now, const struct strset *incoming_now,
    struct strset *seen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd = openat(spool_fd, dirname_[dir], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		log_warn("unable to read %s/%s: %s", spool, dirname_[dir],
		    strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != QID_LEN || !qid_valid(de->d_name))
			continue;
		if (dir == INCOMING && seen != NULL)
			qset_add(seen, de->d_name);
		if (strset_has(&inflight, de->d_name) ||
		    (once && strset_has(&processed, de->d_name)))
			continue;
		if (dir == DEFERRED) {
			/* incoming/ holds the whole message; that copy wins. */
			if (strset_has(incoming_now, de->d_name))
				continue;
			if (!force && flush_target == NULL &&
			    (fstatat(fd, de->d_name, &st, 0) < 0 || st.st_mtime > now))
				continue;
		}
		if (flush_target != NULL) {
			if (!for_target(dir, de->d_name))
				continue;
		} else if (dir == INCOMING && any_queue_first && !force &&
		    hold_incoming(de->d_name, now))
			continue;
		/*
		 * A file the runner cannot read (copied in by hand as another
		 * user, say) would make its whole batch fail: leave it where
		 * it is, for the postmaster, and say so once.
		 */
		if (faccessat(fd, de->d_name, R_OK, AT_EACCESS) < 0 &&
		    errno == EACCES) {
			if (!strset_has(&unreadable, de->d_name)) {
				strset_add(&unreadable, de->d_name);
				log_warn("qid=%s unable to read %s/%s/%s: %s; left in place",
				    de->d_name, spool, dirname_[dir], de->d_name,
				    strerror(EACCES));
			}
			continue;
		}
		todo_add(de->d_name, dir);
	}
	closedir(d);
}

/*
 * Flush requests (sluice-runq -D, sendmail -qR, ETRN): a file flush/NAME
 * makes every deferred message with a recipient for NAME due now.  The
 * request is removed before the marking, so that one made meanwhile is not
 * lost; a crash in between loses a flush, never mail.  Returns how many
 * requests were taken.
 */
static size_t
flush_requests(time_t now)
{
	static char buf[FLUSH_MAX][QDEST_NAME_MAX + 2];
	static const char *names[FLUSH_MAX];
	static struct txn t;
	size_t n = 0, k, marked = 0;
	struct dirent *de;
	char path[300];
	DIR *d;
	int fd = openat(spool_fd, "flush", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (n < FLUSH_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		unlinkat(fd, de->d_name, 0);
		if (strlen(de->d_name) >= sizeof buf[n] ||
		    (strcpy(buf[n], de->d_name), qdest_check(buf[n]) < 0)) {
			log_warn("flush: ignoring an invalid request %s/flush/%.80s",
			    spool, de->d_name);
			continue;
		}
		for (k = 0; k < n && strcmp(names[k], buf[n]) != 0; k++)
			;
		if (k == n)
			names[n] = buf[n], n++;
	}
	if (n > 0) {
		int dfd = openat(spool_fd, "deferred", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		DIR *dd = dfd >= 0 ? fdopendir(dfd) : NULL;

		while (dd != NULL && (de = readdir(dd)) != NULL) {
			if (!qid_valid(de->d_name))
				continue;
			snprintf(path, sizeof path, "deferred/%s", de->d_name);
			if (read_env(path, &t) && txn_matches(&t, names, n) &&
			    set_mtime(spool_fd, path, now) == 0)
				marked++;
		}
		if (dd != NULL)
			closedir(dd);
		else if (dfd >= 0)
			close(dfd);
		for (k = 0; k < n; k++)
			log_info("flush dest=%s", names[k]);
		log_info("flush requests=%zu messages=%zu", n, marked);
	}
	closedir(d);
	return n;
}

/* Fill the to-do list: everything in incoming/, and deferred/ when due. */
static void
scan(int deferred_too)
{
	static struct strset inc;
	time_t now = time(NULL);
	size_t i, k;

	if (flush_target == NULL && flush_requests(now) > 0)
		deferred_too = 1;

	strset_clear(&inflight);
	for (i = 0; i < concurrency; i++)
		for (k = 0; chains[i].active && k < chains[i].n; k++)
			qset_add(&inflight, chains[i].in[k].qid);
	ntodo = todo_pos = 0;
	strset_clear(&inc);
	scan_dir(INCOMING, now, NULL, &inc);
	if (deferred_too)
		scan_dir(DEFERRED, now, &inc, NULL);
	if (ntodo > 1)
		qsort(todo, ntodo, sizeof *todo, by_qid);
}

/* ---- running a chain ---- */

static void
child_reset(void)
{
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	/* Only this process holds the lock: a chain left running must not. */
	close(lock_fd);
}

/*
 * Least privilege (lib/priv.h): started as root, the runner runs every
 * program it starts as the owner of the spool folder, except sluice-local,
 * which keeps root for system mailboxes and drops by itself
 * (sluice-local(8) PRIVILEGE).  A spool that root owns changes nothing.
 */
static void
child_privs(const char *prog)
{
	const char *base = strrchr(prog, '/');
	struct priv_user u;

	if (geteuid() != 0 || strcmp(base ? base + 1 : prog, "sluice-local") == 0)
		return;
	if (priv_owner(spool, &u) < 0 || (u.uid != 0 && priv_drop(&u, (gid_t)-1) < 0))
		die_sys("unable to run %s as the owner of %s", prog, spool);
}

/* The feeder: the batch's files, concatenated, into the chain's input. */
static void __attribute__((noreturn))
feed(int out, const struct input *in, size_t n)
{
	char path[64], *buf = malloc(BUF_SIZE);
	ssize_t r;
	size_t i;
	int fd;

	if (buf == NULL)
		die_nomem();
	for (i = 0; i < n; i++) {
		input_path(&in[i], path, sizeof path);
		if ((fd = openat(spool_fd, path, O_RDONLY | O_CLOEXEC)) < 0) {
			if (errno == ENOENT)
				continue;	/* removed meanwhile: nothing to do */
			die_sys("unable to open %s/%s", spool, path);
		}
		while ((r = read(fd, buf, BUF_SIZE)) > 0)
			if (write_all(out, buf, (size_t)r) < 0)
				die_sys("unable to feed the chain");
		if (r < 0)
			die_sys("unable to read %s/%s", spool, path);
		close(fd);
	}
	_exit(0);
}

static int
start_chain(struct chain *c, struct input *in, size_t n)
{
	int p[2], prev, i;
	pid_t pid;

	memset(c, 0, sizeof *c);
	c->in = in;
	c->n = n;
	c->out = openat(spool_fd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c->out < 0) {
		log_warn("unable to make a file in %s/tmp: %s", spool, strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		child_reset();
		close(p[0]);
		feed(p[1], in, n);
	}
	close(p[1]);
	c->pid[c->npid++] = pid;
	prev = p[0];
	for (i = 0; i < nstages; i++) {
		int last = i == nstages - 1, q[2] = { -1, -1 };

		if (!last && pipe2(q, O_CLOEXEC) < 0)
			break;
		if ((pid = fork()) < 0) {
			if (!last) {
				close(q[0]);
				close(q[1]);
			}
			break;
		}
		if (pid == 0) {
			child_reset();
			if (dup2(prev, 0) < 0 || dup2(last ? c->out : q[1], 1) < 0)
				die_sys("unable to set up the chain");
			child_privs(stage_argv[i][0]);
			prog_exec(stage_argv[i]);
			die_sys("unable to run %s", stage_argv[i][0]);
		}
		c->pid[c->npid++] = pid;
		close(prev);
		if (!last) {
			close(q[1]);
			prev = q[0];
		} else
			prev = -1;
	}
	if (prev >= 0)
		close(prev);	/* a fork failed: what started sees EOF or EPIPE */
	c->active = 1;
	c->status = 0;
	return 0;
fail:
	log_warn("unable to start the chain: %s", strerror(errno));
	close(c->out);
	return -1;
}

/*
 * Note one member's end.  A refusal (100) outranks a temporary failure: a
 * stage that refuses a message breaks the pipe for those before it, and
 * the refusal is what lets the runner isolate the message.
 */
static int
chain_reap(pid_t pid, int st)
{
	size_t i;
	int k, code;

	code = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_TEMP;
	if (code != 0 && code != EXIT_PERM)
		code = EXIT_TEMP;
	for (i = 0; i < concurrency; i++) {
		struct chain *c = &chains[i];

		if (!c->active)
			continue;
		for (k = 0; k < c->npid; k++) {
			if (c->pid[k] != pid)
				continue;
			c->pid[k] = 0;
			if (code == EXIT_PERM || (code == EXIT_TEMP && c->status == 0))
				c->status = code;
			return (int)i;
		}
	}
	return -1;
}

static int
chain_done(const struct chain *c)
{
	int k;

	for (k = 0; k < c->npid; k++)
		if (c->pid[k] != 0)
			return 0;
	return 1;
}

/* The chain's output is committed: what it delivered left the queue. */
static void
record_remove(const char *qid)
{
	char path[64];

	snprintf(path, sizeof path, "delivered/%s", qid);
	if (unlinkat(spool_fd, path, 0) < 0 && errno != ENOENT)
		log_warn("qid=%s unable to remove %s/%s: %s", qid, spool, path,
		    strerror(errno));
}

/*
 * A batch is retried: its record must outlive a crash of the machine
 * too, or the retry after one would deliver again.
 */
static void
record_sync(const char *qid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "delivered/%s", qid);
	if ((fd = openat(spool_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (fdatasync(fd) < 0)
		log_warn("qid=%s unable to sync %s/%s: %s", qid, spool, path,
		    strerror(errno));
	close(fd);
}

/* ---- outcomes ---- */

static int expire_input(struct input *in, const char *reason);

/*
 * The whole batch waits for its next retry, untouched (chain exit 111),
 * except a message whose lifetime is over: the fault may be ours, but
 * mail must not wait forever, so its expired recipients are bounced.
 */
static void
defer_batch(struct input *in, size_t n, const char *reason)
{
	static struct txn t;
	char path[64], dst[64];
	time_t now = time(NULL), next, arrival;
	long long lt;
	size_t i, k;
	int expired;

	for (i = 0; i < n; i++) {
		record_sync(in[i].qid);
		input_path(&in[i], path, sizeof path);
		lt = lifetime;
		expired = 0;
		arrival = qid_time(in[i].qid);
		if (read_env(path, &t)) {
			for (k = 0; k < t.nrcpt; k++)
				expired |= now - arrival >= rcpt_lifetime(&t.rcpt[k]);
			lt = txn_lifetime(&t);
		}
		if (expired && expire_input(&in[i], reason) == 0)
			continue;
		next = next_retry(in[i].qid, now, lt);
		if (set_mtime(spool_fd, path, next) < 0) {
			if (errno != ENOENT)
				log_warn("qid=%s unable to set the retry time: %s",
				    in[i].qid, strerror(errno));
			continue;
		}
		if (in[i].dir == INCOMING) {
			snprintf(dst, sizeof dst, "deferred/%s", in[i].qid);
			if (renameat(spool_fd, path, spool_fd, dst) < 0)
				log_warn("qid=%s unable to move to deferred/: %s",
				    in[i].qid, strerror(errno));
		}
		log_info("qid=%s status=deferred delay=%lld next=%llds reason=\"%s\"",
		    in[i].qid, (long long)(now - qid_time(in[i].qid)),
		    (long long)(next - now), reason);
	}
	if (sync_subdir("deferred") < 0)
		log_warn("unable to sync %s/deferred: %s", spool, strerror(errno));
}

static void
to_bad(struct input *in)
{
	char path[64], dst[64];

	input_path(in, path, sizeof path);
	snprintf(dst, sizeof dst, "bad/%s", in->qid);
	if (renameat(spool_fd, path, spool_fd, dst) < 0 || sync_subdir("bad") < 0) {
		log_warn("qid=%s unable to move to bad/: %s", in->qid, strerror(errno));
		defer_batch(in, 1, "refused by the chain; could not move to bad/");
		return;
	}
	log_info("qid=%s status=bad reason=\"the chain refuses this message "
	    "(exit 100); kept in bad/\"", in->qid);
}

static void
split_add(struct input *in, size_t n)
{
	if (nsplits == asplits)
		splits = grow(splits, &asplits, 16, sizeof *splits);
	if ((splits[nsplits].in = malloc(n * sizeof *in)) == NULL)
		die_nomem();
	memcpy(splits[nsplits].in, in, n * sizeof *in);
	splits[nsplits].n = n;
	nsplits++;
}

/* A queue file written by the runner: tmp/QID.runq, then renamed. */
struct staged {
	char qid[QID_LEN + 1];
	const char *dir;	/* "deferred" or "dead" */
};

static struct staged *staged;
static size_t nstaged, astaged;

static void
staged_unlink_all(void)
{
	char name[64];

	while (nstaged > 0) {
		nstaged--;
		snprintf(name, sizeof name, "tmp/%s.%s.runq", staged[nstaged].qid,
		    staged[nstaged].dir);
		unlinkat(spool_fd, name, 0);
	}
}

/* Write a view of a transaction (its body from the spool) into tmp/. */
static int
stage_file(const struct txn *t, const char *qid, const char *dir, time_t mtime)
{
	struct stream_writer w;
	char name[64];
	int fd, rc = -1;

	if (nstaged == astaged) {
		size_t k = astaged ? astaged * 2 : 64;
		struct staged *p = realloc(staged, k * sizeof *p);

		if (p == NULL)
			return -1;
		staged = p;
		astaged = k;
	}
	snprintf(name, sizeof name, "tmp/%s.%s.runq", qid, dir);
	fd = openat(spool_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	memcpy(staged[nstaged].qid, qid, QID_LEN + 1);
	staged[nstaged].dir = dir;
	nstaged++;
	if (stream_writer_init(&w, fd, 0) < 0) {
		close(fd);
		return -1;
	}
	if (stream_write_head(&w, t) == 0 && spool_write_stream(&sp, &w) == 0 &&
	    stream_flush(&w) == 0 && fsync(fd) == 0 &&
	    (mtime == 0 || set_mtime(fd, NULL, mtime) == 0))
		rc = 0;
	stream_writer_free(&w);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* The last temporary failure of a recipient, decoded: "4.4.1 text". */
static void
last_error(const struct rcpt *r, char *buf, size_t size)
{
	const char *v = xparam_get(r->x, r->nx, "X-DEFER");

	if (v == NULL || xtext_decode(v, strlen(v), buf, size) < 0)
		snprintf(buf, size, "4.4.7 no stage of the chain took this recipient");
}

/* A recipient list as a view of t: the same envelope, fewer recipients. */
static struct txn
view(const struct txn *t, struct rcpt *buf, const char *pick)
{
	struct txn v = *t;
	size_t i;

	v.rcpt = buf;
	v.nrcpt = v.arcpt = 0;
	for (i = 0; i < t->nrcpt; i++)
		if (pick[i])
			buf[v.nrcpt++] = t->rcpt[i];
	return v;
}

static int
notify(struct stream_writer *nw, struct txn *v, const char *qid,
    enum dsn_action action, time_t arrival, int *written)
{
	static struct dsn_rcpt dr[STREAM_RCPT_MAX];
	static char text[STREAM_RCPT_MAX][STREAM_XVAL_MAX + 1];
	struct dsn d;
	size_t i;
	int rc;

	memset(&d, 0, sizeof d);
	d.orig = v;
	d.qid = qid;
	d.action = action;
	d.body = &sp;
	for (i = 0; i < v->nrcpt; i++) {
		char *sp_;

		memset(&dr[i], 0, sizeof dr[i]);
		last_error(&v->rcpt[i], text[i], sizeof text[i]);
		dr[i].rcpt = &v->rcpt[i];
		dr[i].status = text[i];
		dr[i].diag = "";
		if ((sp_ = strchr(text[i], ' ')) != NULL) {
			*sp_ = '\0';
			dr[i].diag = sp_ + 1;
		}
		/* A delay notice says until when each recipient is tried. */
		dr[i].retry_until = action == DSN_DELAYED ?
		    arrival + (time_t)rcpt_lifetime(&v->rcpt[i]) : 0;
	}
	rc = dsn_write(nw, &d, dr, v->nrcpt);
	if (rc == DSN_WRITTEN)
		(*written)++;
	return rc;
}

/*
 * The remainder of an input, to be kept as queue file qid (the input's
 * own id, or a new one for a further part of a split message): bounce
 * what is permanent or has outlived its destination's lifetime, warn
 * about delays, and stage the rest for deferred/.  Returns 0 or -1.
 */
static int
requeue_remainder(struct txn *t, const char *qid, struct input *in,
    struct stream_writer *nw, int *nnotice)
{
	static struct rcpt buf[STREAM_RCPT_MAX];
	static char fail[STREAM_RCPT_MAX], warn[STREAM_RCPT_MAX], keep[STREAM_RCPT_MAX];
	char err[STREAM_XVAL_MAX + 1];
	time_t now = time(NULL), arrival = qid_time(qid), next;
	size_t i, nfail = 0, nwarn = 0, nkeep = 0, nexp = 0, ndest = 0;
	long long lt, lt_keep = lifetime;
	int rc;
	struct txn v;

	if (arrival == 0 || arrival > now)
		arrival = now;
	for (i = 0; i < t->nrcpt; i++) {
		struct rcpt *r = &t->rcpt[i];
		int expired;

		lt = rcpt_lifetime(r);
		expired = now - arrival >= lt;
		last_error(r, err, sizeof err);
		fail[i] = err[0] == '5' || expired;
		nexp += expired;
		ndest += expired && lt != lifetime;
		if (!fail[i] && lt < lt_keep)
			lt_keep = lt;
		warn[i] = !fail[i] && delay_warning > 0 &&
		    now - arrival >= delay_warning &&
		    xparam_get(r->x, r->nx, "X-WARNED") == NULL;
		keep[i] = !fail[i];
		nfail += fail[i];
		nwarn += warn[i];
		nkeep += keep[i];
		if (warn[i] && xparam_set(r->x, &r->nx, "X-WARNED", "1") < 0)
			return -1;
	}
	if (nfail > 0) {
		v = view(t, buf, fail);
		rc = notify(nw, &v, qid, DSN_FAILED, arrival, nnotice);
		if (rc < 0)
			return -1;
		if (rc == DSN_DEAD) {
			if (stage_file(&v, qid, "dead", 0) < 0)
				return -1;
			log_info("qid=%s status=dead nrcpt=%zu reason=\"an undeliverable "
			    "double bounce; kept in dead/\"", qid, nfail);
		} else
			log_info("qid=%s status=bounced nrcpt=%zu delay=%lld%s", qid,
			    nfail, (long long)(now - arrival), nexp == 0 ? "" :
			    ndest > 0 ? " reason=\"lifetime of the destination "
			    "reached (smtp_dest)\"" : " reason=\"queue_lifetime reached\"");
	}
	if (nwarn > 0) {
		v = view(t, buf, warn);
		if (notify(nw, &v, qid, DSN_DELAYED, arrival, nnotice) < 0)
			return -1;
	}
	if (nkeep > 0) {
		v = view(t, buf, keep);
		next = next_retry(qid, now, lt_keep);
		if (stage_file(&v, qid, "deferred", next) < 0)
			return -1;
		if (strcmp(qid, in->qid) == 0)
			in->kept = 1;
		last_error(&v.rcpt[0], err, sizeof err);
		log_info("qid=%s status=deferred nrcpt=%zu delay=%lld next=%llds "
		    "reason=\"%s\"", qid, nkeep, (long long)(now - arrival),
		    (long long)(next - now), err);
	}
	return 0;
}

/* Queue the notices through sluice-enqueue, the queue's one writer. */
static int
enqueue_notices(int fd)
{
	char *argv[] = { "sluice-enqueue", NULL };
	pid_t pid;
	int st;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		child_reset();
		if (dup2(fd, 0) < 0)
			die_sys("unable to set up sluice-enqueue");
		child_privs(argv[0]);
		prog_exec(argv);
		die_sys("unable to run sluice-enqueue");
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
commit_staged(void)
{
	char from[64], to[64];
	size_t i;
	int dead = 0;

	for (i = 0; i < nstaged; i++) {
		snprintf(from, sizeof from, "tmp/%s.%s.runq", staged[i].qid,
		    staged[i].dir);
		snprintf(to, sizeof to, "%s/%s", staged[i].dir, staged[i].qid);
		if (strcmp(staged[i].dir, "dead") == 0) {
			/*
			 * dead/ keeps everything: a second failure of the same
			 * double bounce gets a name of its own, QID.N.
			 */
			int n = 0, rc;

			while ((rc = renameat2(spool_fd, from, spool_fd, to,
			    RENAME_NOREPLACE)) < 0 && errno == EEXIST && ++n < 1000)
				snprintf(to, sizeof to, "dead/%s.%d", staged[i].qid, n);
			if (rc < 0)
				return -1;
			dead = 1;
			continue;
		}
		if (renameat(spool_fd, from, spool_fd, to) < 0)
			return -1;
	}
	if (nstaged > 0 && sync_subdir("deferred") < 0)
		return -1;
	if (dead && sync_subdir("dead") < 0)
		return -1;
	nstaged = 0;
	return 0;
}

/*
 * An id for a further part of message qid: the same arrival second (so
 * the same lifetime), the rest from a fresh id, unused in the queue.
 */
static int
split_qid(const char *qid, char out[QID_LEN + 1])
{
	char fresh[QID_LEN + 1], path[64];
	size_t i;
	int tries, used;

	for (tries = 0; tries < 100; tries++) {
		qid_make(fresh);
		memcpy(out, qid, 9);
		memcpy(out + 9, fresh + 9, QID_LEN - 9 + 1);
		used = 0;
		for (i = 0; i < nstaged && !used; i++)
			used = strcmp(staged[i].qid, out) == 0;
		snprintf(path, sizeof path, "deferred/%s", out);
		used |= faccessat(spool_fd, path, F_OK, 0) == 0;
		snprintf(path, sizeof path, "incoming/%s", out);
		used |= faccessat(spool_fd, path, F_OK, 0) == 0;
		if (!used && qid_valid(out))
			return 0;
	}
	return -1;
}

/*
 * A message of a failed batch whose lifetime is over: requeue it as its
 * own remainder, so that expired recipients bounce (with reason as their
 * last error when they have none) and the others wait.  0, or -1 when
 * nothing was committed.
 */
static int
expire_input(struct input *in, const char *reason)
{
	struct stream_reader rd;
	struct stream_writer nw;
	struct txn t;
	char path[64], why[512], enc[STREAM_XVAL_MAX + 1];
	size_t i;
	int fd, nfd = -1, rfail, nnotice = 0, ret = -1;

	input_path(in, path, sizeof path);
	if ((fd = openat(spool_fd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	nfd = openat(spool_fd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (nfd < 0) {
		close(fd);
		return -1;
	}
	if (stream_reader_init(&rd, fd, path) < 0 ||
	    stream_writer_init(&nw, nfd, 0) < 0)
		die_nomem();
	txn_init(&t);
	snprintf(why, sizeof why, "4.3.0 %s", reason);
	if (stream_read_txn(&rd, &t) != 1 || xtext_encode(why, strlen(why), enc,
	    sizeof enc) < 0 || spool_reset(&sp) < 0 ||
	    spool_from_stream(&sp, &rd, &rfail) < 0)
		goto out;
	for (i = 0; i < t.nrcpt; i++)
		if (xparam_get(t.rcpt[i].x, t.rcpt[i].nx, "X-DEFER") == NULL &&
		    xparam_set(t.rcpt[i].x, &t.rcpt[i].nx, "X-DEFER", enc) < 0)
			goto out;
	in->kept = 0;
	if (requeue_remainder(&t, in->qid, in, &nw, &nnotice) < 0 ||
	    stream_flush(&nw) < 0 || (nnotice > 0 && enqueue_notices(nfd) < 0) ||
	    commit_staged() < 0)
		goto out;
	if (in->dir == INCOMING || !in->kept)
		unlinkat(spool_fd, path, 0);
	record_remove(in->qid);
	ret = 0;
out:
	if (ret < 0) {
		staged_unlink_all();
		log_warn("qid=%s unable to bounce after its lifetime: %s", in->qid,
		    rd.err[0] ? rd.err : strerror(errno));
	}
	txn_free(&t);
	stream_reader_free(&rd);
	stream_writer_free(&nw);
	close(nfd);
	close(fd);
	return ret;
}

/*
 * Read what the chain left: remainders of inputs and new notices.  All of
 * it is on disk before any input goes.  Returns 0, or -1 (reason logged)
 * when nothing was committed and the batch must be retried.
 */
static int
process_output(struct chain *c)
{
	struct stream_reader rd;
	struct stream_writer nw;
	struct txn t;
	char path[64];
	size_t i;
	int nfd, rc, rfail, nnotice = 0, ret = -1;

	nfd = openat(spool_fd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (nfd < 0) {
		log_warn("unable to make a file in %s/tmp: %s", spool, strerror(errno));
		return -1;
	}
	if (lseek(c->out, 0, SEEK_SET) < 0 || stream_reader_init(&rd, c->out,
	    "chain output") < 0 || stream_writer_init(&nw, nfd, 0) < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&rd, &t)) == 1) {
		const char *id = t.xf[XF_IDENT];
		struct input *in = NULL;
		char qid[QID_LEN + 1];

		for (i = 0; id != NULL && i < c->n; i++)
			if (strcmp(c->in[i].qid, id) == 0) {
				in = &c->in[i];
				break;
			}
		if (in == NULL) {
			/* A stage's notice, or a message it made: queue it anew. */
			if (stream_write_head(&nw, &t) < 0 ||
			    stream_copy_body(&rd, &nw, &rfail) < 0) {
				if (rfail)
					log_warn("%s", rd.err);
				else
					log_warn("unable to write notices: %s", strerror(errno));
				goto out;
			}
			nnotice++;
			continue;
		}
		memcpy(qid, in->qid, sizeof qid);
		if (in->seen) {
			/*
			 * A stage split the message (sluice-alias does above the
			 * recipient limit): each further part is a queue file of
			 * its own, with an id that keeps the arrival time.
			 */
			if (split_qid(in->qid, qid) < 0 ||
			    txn_set_xf(&t, XF_IDENT, qid) < 0) {
				log_warn("qid=%s unable to name a part of a split "
				    "message", in->qid);
				goto out;
			}
			log_info("qid=%s split_from=%s nrcpt=%zu", qid, in->qid,
			    t.nrcpt);
		}
		in->seen = 1;
		if (spool_reset(&sp) < 0 || spool_from_stream(&sp, &rd, &rfail) < 0) {
			log_warn("%s", rfail ? rd.err : strerror(errno));
			goto out;
		}
		if (requeue_remainder(&t, qid, in, &nw, &nnotice) < 0) {
			log_warn("qid=%s unable to requeue: %s", in->qid, strerror(errno));
			goto out;
		}
	}
	if (rc < 0) {
		log_warn("the chain's output is not a stream: %s", rd.err);
		goto out;
	}
	if (stream_flush(&nw) < 0 || (nnotice > 0 && enqueue_notices(nfd) < 0)) {
		log_warn("unable to queue %d notices", nnotice);
		goto out;
	}
	if (commit_staged() < 0) {
		log_warn("unable to move requeued files into place: %s",
		    strerror(errno));
		goto out;
	}
	/* Everything is safe now: the inputs can go. */
	for (i = 0; i < c->n; i++) {
		struct input *in = &c->in[i];

		if (in->dir == INCOMING || !in->kept) {
			input_path(in, path, sizeof path);
			if (unlinkat(spool_fd, path, 0) < 0 && errno != ENOENT)
				log_warn("qid=%s unable to remove %s: %s", in->qid, path,
				    strerror(errno));
		}
		if (in->dir == INCOMING && !in->kept) {
			/* A stale copy a crash left in deferred/. */
			snprintf(path, sizeof path, "deferred/%s", in->qid);
			unlinkat(spool_fd, path, 0);
		}
		record_remove(in->qid);
		if (!in->seen)
			log_info("qid=%s status=sent", in->qid);
	}
	ret = 0;
out:
	if (ret < 0)
		staged_unlink_all();
	txn_free(&t);
	stream_reader_free(&rd);
	stream_writer_free(&nw);
	close(nfd);
	return ret;
}

static void
finish_chain(struct chain *c)
{
	c->active = 0;
	if (c->status == 0) {
		size_t i;

		if (process_output(c) < 0) {
			for (i = 0; i < c->n; i++)
				c->in[i].seen = c->in[i].kept = 0;
			defer_batch(c->in, c->n, "the chain's output could not be requeued");
		}
	} else if (c->status == EXIT_PERM) {
		if (c->n == 1)
			to_bad(&c->in[0]);
		else {
			/* Halve until the message the chain refuses stands alone. */
			split_add(c->in, c->n / 2);
			split_add(c->in + c->n / 2, c->n - c->n / 2);
		}
	} else
		defer_batch(c->in, c->n, "the chain failed (exit 111)");
	close(c->out);
	free(c->in);
}

/* ---- the loop ---- */

static size_t
nactive(void)
{
	size_t i, n = 0;

	for (i = 0; i < concurrency; i++)
		n += chains[i].active;
	return n;
}

/* Start chains while there is work and room.  Returns how many started. */
static size_t
start_work(void)
{
	size_t i, started = 0;

	for (i = 0; i < concurrency && !stopping; i++) {
		struct input *in;
		size_t n;

		if (chains[i].active)
			continue;
		if (nsplits > 0) {
			nsplits--;
			in = splits[nsplits].in;
			n = splits[nsplits].n;
		} else if (todo_pos < ntodo) {
			n = ntodo - todo_pos < batch_size ? ntodo - todo_pos : batch_size;
			if ((in = malloc(n * sizeof *in)) == NULL)
				die_nomem();
			memcpy(in, todo + todo_pos, n * sizeof *in);
			todo_pos += n;
		} else
			break;
		/* A run-once takes each message once; a daemon needs no memory of it. */
		for (size_t k = 0; once && k < n; k++)
			qset_add(&processed, in[k].qid);
		if (start_chain(&chains[i], in, n) < 0) {
			defer_batch(in, n, "the chain could not be started");
			free(in);
			continue;
		}
		started++;
	}
	return started;
}

/* Collect ended children; returns how many chains finished. */
static int
reap(void)
{
	pid_t pid;
	int st, i, done = 0;

	got_child = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if ((i = chain_reap(pid, st)) >= 0 && chain_done(&chains[i])) {
			finish_chain(&chains[i]);
			done++;
		}
	}
	return done;
}

static void
drain(int fd)
{
	char buf[512];

	while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
		;
}

static void
kill_chains(void)
{
	size_t i;
	int k;

	for (i = 0; i < concurrency; i++)
		for (k = 0; chains[i].active && k < chains[i].npid; k++)
			if (chains[i].pid[k] > 0)
				kill(chains[i].pid[k], SIGTERM);
}

static void
run(void)
{
	time_t next_deferred = 0;
	int dirty = 1, killed = 0;
	long long dirty_since = clock_now_ms();

	for (;;) {
		struct pollfd pfd[2];
		time_t now = time(NULL);
		int timeout;
		int waiting = 0;

		/* In a run-once, what a chain produced (notices) is work for now. */
		if (reap() > 0 && once)
			dirty = 1;
		if (stopping) {
			if (nactive() == 0)
				return;
			if (stopping > 1 && !killed) {
				log_info("stopping: ending the running chains");
				kill_chains();
				killed = 1;
			}
		} else {
			int deferred_due = now >= next_deferred;

			if (now >= next_tmp_clean)
				clean_tmp();

			/* New arrivals while chains run: let a batch gather. */
			if (dirty && !deferred_due && !once && nactive() > 0 &&
			    clock_now_ms() - dirty_since < batch_wait_ms)
				waiting = 1;
			if (!waiting && todo_pos >= ntodo && nsplits == 0 &&
			    nactive() < concurrency && (dirty || deferred_due)) {
				scan(deferred_due || once);
				if (deferred_due)
					next_deferred = now + SCAN_INTERVAL;
				dirty = 0;
			}
			start_work();
			if (once && nactive() == 0 && todo_pos >= ntodo && nsplits == 0) {
				if (!dirty)
					return;
				continue;
			}
		}
		pfd[0].fd = sig_pipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = trigger_fd;
		pfd[1].events = POLLIN;
		timeout = (int)(next_deferred - time(NULL));
		if (timeout < 0)
			timeout = 0;
		timeout = timeout * 1000 + 10;
		if (waiting) {
			long long left = batch_wait_ms - (clock_now_ms() - dirty_since);

			if (left < timeout)
				timeout = left < 1 ? 1 : (int)left;
		}
		if (poll(pfd, trigger_fd >= 0 ? 2 : 1, once ? 1000 : timeout) < 0 &&
		    errno != EINTR)
			die_sys("poll");
		if (pfd[0].revents)
			drain(sig_pipe[0]);
		if (trigger_fd >= 0 && pfd[1].revents) {
			drain(trigger_fd);
			if (!dirty)
				dirty_since = clock_now_ms();
			dirty = 1;
		}
	}
}

/* ---- setting up ---- */

static void
usage(void)
{
	die(100, "usage: sluice-runq [-1 [-f]] [-D destination]");
}

static void
settings(void)
{
	const char *ch = conf_get("chain", "sluice-envelope | sluice-local");

	if (strlen(ch) >= sizeof chain_text)
		die(100, "the chain setting is too long");
	strcpy(chain_text, ch);
	for (int i = 0; i < STAGES_MAX; i++)
		stage_argv[i] = stage_words[i];
	nstages = prog_split_chain(chain_text, stage_argv, STAGES_MAX, ARGS_MAX);
	if (nstages <= 0)
		die(100, "the chain setting is empty or malformed: %s", ch);
	batch_size = (size_t)clamp(conf_num("batch_size", 100), 1, BATCH_MAX);
	concurrency = (size_t)clamp(conf_num("concurrency", 4), 1, CHAINS_MAX);
	batch_wait_ms = clamp(conf_num("batch_wait_ms", 50), 0, 10000);
	lifetime = conf_time("queue_lifetime", 5 * 86400);
	delay_warning = conf_time("delay_warning", 4 * 3600);
	retry_min = conf_time("retry_min", 300);
	retry_max = conf_time("retry_max", 3600);
	if (retry_min < 1)
		retry_min = 1;
	if (retry_max < retry_min)
		retry_max = retry_min;
}

/* Make the folders and the FIFO a fresh spool lacks. */
static void
prepare_spool(void)
{
	static const char *const sub[] = { "tmp", "incoming", "deferred", "bad",
		"dead", "quarantine", "flush", "delivered" };
	char p[4096];
	size_t i;

	if (mkdir_p(spool, 0700) < 0)
		die_sys("unable to make %s", spool);
	if ((spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open the queue %s", spool);
	for (i = 0; i < sizeof sub / sizeof sub[0]; i++)
		if (mkdirat(spool_fd, sub[i], 0700) < 0 && errno != EEXIST)
			die_sys("unable to make %s/%s", spool, sub[i]);
	if (mkfifoat(spool_fd, "trigger", 0622) < 0 && errno != EEXIST)
		die_sys("unable to make %s/trigger", spool);
	(void)p;
}

/* 0, or -1 when another runner holds the lock. */
static int
take_lock(void)
{
	lock_fd = openat(spool_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		die_sys("unable to open %s/lock", spool);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return -1;
		die_sys("unable to lock %s/lock", spool);
	}
	return 0;
}

/*
 * Leave a flush request for whichever runner runs next (the daemon at
 * once: a byte on the trigger wakes it), and exit.
 */
static void __attribute__((noreturn))
request_flush(void)
{
	int fd, dfd;

	if ((dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open the queue %s", spool);
	if (mkdirat(dfd, "flush", 0700) < 0 && errno != EEXIST)
		die_sys("unable to make %s/flush", spool);
	if ((fd = openat(dfd, "flush", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die_sys("unable to open %s/flush", spool);
	if (mknodat(fd, flush_target, S_IFREG | 0600, 0) < 0 && errno != EEXIST)
		die_sys("unable to make %s/flush/%s", spool, flush_target);
	close(fd);
	/* No reader (no daemon) is fine: the next run-once takes it. */
	if ((fd = openat(dfd, "trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "", 1);
		close(fd);
	}
	log_info("flush requested dest=%s", flush_target);
	exit(0);
}

/*
 * The record of delivered recipients (lib/delivered.h): the stages find
 * its folder in SLUICE_DELIVERED.  A record whose message is in none of
 * the queue's folders is a leftover of a crash after a commit: removed.
 * bad/ keeps its records, so a message put back keeps what it delivered.
 */
static void
records_init(void)
{
	static const char *const keep[] = { "incoming", "deferred", "bad" };
	char dir[4096], path[QID_LEN + 16];
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;
	int fd;

	if (realpath(spool, dir) == NULL ||
	    strlen(dir) + sizeof "/delivered" > sizeof dir)
		die_sys("unable to find the full name of %s", spool);
	strcat(dir, "/delivered");
	if (setenv("SLUICE_DELIVERED", dir, 1) < 0)
		die_nomem();
	if ((fd = openat(spool_fd, "delivered", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL)
		die_sys("unable to read %s/delivered", spool);
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name))
			continue;
		for (i = 0; i < sizeof keep / sizeof keep[0]; i++) {
			int n = snprintf(path, sizeof path, "%s/%s", keep[i],
			    de->d_name);

			if (n > 0 && (size_t)n < sizeof path && fstatat(spool_fd,
			    path, &st, AT_SYMLINK_NOFOLLOW) == 0)
				break;
		}
		if (i == sizeof keep / sizeof keep[0])
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
}

/*
 * tmp/ leftovers: our own staged files (only one runner runs, so any is
 * from a dead one, but only at start: later they are live), and files
 * whose writer died (clean_tmp_file): at start, then every
 * TMP_CLEAN_INTERVAL.
 */
static void
clean_tmp(void)
{
	struct dirent *de;
	time_t now = time(NULL);
	DIR *d;
	int at_start = next_tmp_clean == 0;
	int fd = openat(spool_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	next_tmp_clean = now + TMP_CLEAN_INTERVAL;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (at_start)
			die_sys("unable to read %s/tmp", spool);
		log_warn("unable to read %s/tmp: %s", spool, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' && (n == 1 || (n == 2 && de->d_name[1] == '.')))
			continue;
		if (n > 5 && strcmp(de->d_name + n - 5, ".runq") == 0) {
			if (at_start)
				unlinkat(fd, de->d_name, 0);
		} else
			clean_tmp_file(fd, de->d_name, now);
	}
	closedir(d);
}

/*
 * Remove tmp/NAME if no live writer has it.  sluice-enqueue holds an
 * flock on each file it writes until the file is renamed away, so a file
 * that can be locked here was left by a killed one.  The file is removed
 * while locked, and only if the name still is that file: an enqueue that
 * opened it and locks it after us finds it unlinked and makes another
 * (sluice-enqueue.c, lock_tmp).  A file we cannot open (another user's)
 * goes when older than a day.
 */
static void
clean_tmp_file(int dfd, const char *name, time_t now)
{
	struct stat st, cur;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime + TMP_STALE < now && unlinkat(dfd, name, 0) == 0)
			log_info("removed %s/tmp/%s: older than a day", spool, name);
		return;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
	    fstatat(dfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_ino == cur.st_ino && st.st_dev == cur.st_dev &&
	    unlinkat(dfd, name, 0) == 0)
		log_info("removed %s/tmp/%s: its writer is gone", spool, name);
	close(fd);
}

static void
signals(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		die_sys("unable to make a pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	char tmp[4096];
	int c;

	log_init(argv[0]);
	while ((c = getopt(argc, argv, "1fD:")) != -1) {
		switch (c) {
		case '1':
			once = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'D':
			flush_target = optarg;
			if (qdest_check(flush_target) < 0)
				die(100, "-D: not a domain, host name or [address]: %.100s",
				    optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (force && !once)
		die(100, "-f goes with -1");
	settings();
	spool = conf_spool();
	if (flush_target != NULL && !once)
		request_flush();
	prepare_spool();
	if (take_lock() < 0) {
		/* A flush while the daemon runs: the daemon does it. */
		if (flush_target != NULL)
			request_flush();
		die(111, "another sluice-runq is running on %s", spool);
	}
	any_queue_first = qdest_any_queue_first();
	clean_tmp();
	records_init();
	signals();
	/* Read-write, so the FIFO never reports end of file while we wait. */
	if (!once && (trigger_fd = openat(spool_fd, "trigger",
	    O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		die_sys("unable to open %s/trigger", spool);
	if (path_join(tmp, sizeof tmp, spool, "tmp") < 0 || spool_open(&sp, tmp) < 0)
		die_sys("unable to make a spool file in %s/tmp", spool);
	log_info("start chain=\"%s\" batch_size=%zu concurrency=%zu%s%s%s",
	    conf_get("chain", "sluice-envelope | sluice-local"), batch_size,
	    concurrency, once ? " once" : "", flush_target ? " dest=" : "",
	    flush_target ? flush_target : "");
	run();
	log_info("stop");
	return 0;
}
