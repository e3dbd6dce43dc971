/*
 * sluice-runq: the queue runner.  Picks due queue files in batches (pick),
 * runs the configured chain of stages over each batch with the policy
 * stage sluice-retry at its end (chain), and commits what comes out
 * (commit): nothing else.  Retry times, bounces and delay notices are
 * sluice-retry's.  See sluice-runq(8) and doc/internals.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "fmt.h"
#include "fsutil.h"
#include "log.h"
#include "priv.h"
#include "prog.h"
#include "qdest.h"
#include "runq.h"
#include "usage.h"

/*
 * A signal handler can reach nothing else: these and the pipe it writes
 * a byte into, to wake poll, are the runner's only file-scope state.
 */
volatile sig_atomic_t runq_stopping, runq_got_child;
static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGCHLD)
		runq_got_child = 1;
	else
		runq_stopping++;
	(void)!write(sig_pipe[1], "", 1);
	errno = e;
}

void *
runq_grow(void *v, size_t *a, size_t first, size_t sz)
{
	size_t n = *a ? *a * 2 : first;

	if ((v = realloc(v, n * sz)) == NULL)
		die_nomem();
	*a = n;
	return v;
}

void
runq_child_reset(const struct runq *rq)
{
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	/* Only this process holds the locks: a chain left running must not. */
	close(rq->lock_fd);
	close(rq->msglock_fd);
}

/*
 * Least privilege (lib/priv.h): started as root, the runner runs every
 * program it starts as the owner of the spool folder, except sluice-local,
 * which keeps root for system mailboxes and drops by itself
 * (sluice-local(8) PRIVILEGE).  A spool that root owns changes nothing.
 */
int
runq_keeps_root(const char *prog)
{
	const char *base = strrchr(prog, '/');

	return strcmp(base ? base + 1 : prog, "sluice-local") == 0;
}

void
runq_child_privs(const struct runq *rq, const char *prog)
{
	struct priv_user u;

	if (geteuid() != 0 || runq_keeps_root(prog))
		return;
	if (priv_owner(rq->spool, &u) < 0 ||
	    (u.uid != 0 && priv_drop(&u, (gid_t)-1) < 0))
		die_sys("unable to run %s as the owner of %s", prog, rq->spool);
}

/* The owner of the spool and its groups, as priv_drop would set them. */
int
runq_runas(const struct runq *rq, struct runas *ra)
{
	struct priv_user u;

	ra->drop = 0;
	if (geteuid() != 0)
		return 0;
	if (priv_owner(rq->spool, &u) < 0)
		return -1;
	if (u.uid == 0)
		return 0;
	ra->uid = u.uid;
	ra->gid = u.gid;
	ra->ngroups = (int)(sizeof ra->groups / sizeof ra->groups[0]);
	if (u.name[0] == '\0') {
		ra->groups[0] = u.gid;
		ra->ngroups = 1;
	} else if (getgrouplist(u.name, u.gid, ra->groups, &ra->ngroups) < 0)
		return errno = E2BIG, -1;
	ra->drop = 1;
	return 0;
}

static size_t
nactive(const struct runq *rq)
{
	size_t i, n = 0;

	for (i = 0; i < rq->concurrency; i++)
		n += rq->chains[i].active;
	return n;
}

/* The next batch: half of a refused one, else from the to-do list. */
static int
next_batch(struct runq *rq, struct input **in, size_t *n)
{
	if (rq->nsplits > 0) {
		rq->nsplits--;
		*in = rq->splits[rq->nsplits].in;
		*n = rq->splits[rq->nsplits].n;
		return 1;
	}
	if (rq->todo_pos >= rq->todo.n)
		return 0;
	*n = rq->todo.n - rq->todo_pos;
	if (*n > rq->batch_size)
		*n = rq->batch_size;
	if ((*in = malloc(*n * sizeof **in)) == NULL)
		die_nomem();
	memcpy(*in, rq->todo.v + rq->todo_pos, *n * sizeof **in);
	rq->todo_pos += *n;
	return 1;
}

/* Start chains while there is work and room. */
static void
start_work(struct runq *rq)
{
	struct input *in;
	size_t i, k, n;
	int started;

	for (i = 0; i < rq->concurrency && !runq_stopping; i++) {
		if (rq->chains[i].active)
			continue;
		if (!next_batch(rq, &in, &n))
			break;
		if ((n = qdir_take(rq, in, n)) == 0) {
			free(in);
			continue;
		}
		/* A run-once takes each message once; a daemon needs no memory of it. */
		for (k = 0; rq->once && k < n; k++)
			if (strset_add(&rq->processed, in[k].qid) < 0)
				die_nomem();
		record_env(rq, (int)i);	/* its stages' run record */
		started = chain_start(rq, &rq->chains[i], rq->stage_argv,
		    rq->nstages, in, n);
		record_env(rq, -1);
		if (started < 0) {
			commit_defer(rq, in, n, "the chain could not be started");
			qdir_release(rq, in, n);
			free(in);
		}
	}
}

/* Collect ended children; returns how many chains finished. */
static int
reap(struct runq *rq)
{
	pid_t pid;
	int st, i, done = 0;

	runq_got_child = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if ((i = chain_reap(rq, pid, st)) >= 0 && chain_done(&rq->chains[i])) {
			commit_finish(rq, &rq->chains[i]);
			rq->last_end_ms = clock_now_ms();
			done++;
		}
	}
	return done;
}

/* Empty a pipe; returns how many bytes it held. */
static size_t
drain(int fd)
{
	char buf[512];
	ssize_t r;
	size_t n = 0;

	while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
		n += (size_t)r;
	return n;
}

/*
 * How long until the mail gathering for a batch has been quiet (no new
 * arrival) for a fifth of batch_wait_ms: more is not coming soon, so it
 * goes.  A steady stream, even one client sending one message after
 * another, arrives far more often than that.
 */
static long long
quiet_left(const struct runq *rq, long long now)
{
	long long quiet = rq->batch_wait_ms / 5;

	if (quiet < 1)
		quiet = 1;
	return rq->last_arrival_ms + quiet - now;
}

/* How long poll may sleep: until the next look at deferred/, or less. */
static int
poll_timeout(const struct runq *rq, time_t next_deferred, int waiting,
    long long dirty_since)
{
	long long left;
	int timeout = (int)(next_deferred - time(NULL));

	if (timeout < 0)
		timeout = 0;
	timeout = timeout * 1000 + 10;
	if (waiting) {
		long long now = clock_now_ms(), quiet = quiet_left(rq, now);

		left = rq->batch_wait_ms - (now - dirty_since);
		if (quiet < left)
			left = quiet;
		if (left < timeout)
			timeout = left < 1 ? 1 : (int)left;
	}
	return rq->once ? 1000 : timeout;
}

/* Sleep until a signal, a trigger byte or the timeout; 1 if triggered. */
static int
sleep_until(struct runq *rq, int timeout)
{
	struct pollfd pfd[2] = { { .fd = sig_pipe[0], .events = POLLIN },
		{ .fd = rq->trigger_fd, .events = POLLIN } };

	if (poll(pfd, rq->trigger_fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
		die_sys("poll");
	if (pfd[0].revents)
		drain(sig_pipe[0]);
	if (rq->trigger_fd >= 0 && pfd[1].revents) {
		/* sluice-enqueue writes one byte a message. */
		rq->arrivals += drain(rq->trigger_fd);
		rq->last_arrival_ms = clock_now_ms();
		return 1;
	}
	return 0;
}

/*
 * Whether new arrivals wait for more before the runner looks at them.
 * An idle runner (no chain running, none ended within batch_wait_ms)
 * starts at once: a lone message goes without delay.  A busy one lets a
 * batch gather until batch_size messages are there or the first of them
 * has waited batch_wait_ms: the fixed cost of a chain run (a process per
 * stage, the fsync of the commit) is then shared by the messages that
 * arrived meanwhile, and a trickle from one client makes batches of
 * batch_wait_ms worth of mail instead of the two or three that arrived
 * while the last chain ran.  Small batches so also run one at a time:
 * a second chain starts only when a batch is full or has waited.  Once
 * no more has arrived for a fifth of batch_wait_ms (quiet_left), the
 * batch goes: the end of a burst is not held back for nothing.
 */
static int
gathering(const struct runq *rq, long long dirty_since)
{
	long long now = clock_now_ms();
	int busy = nactive(rq) > 0 ||
	    (rq->last_end_ms > 0 && now - rq->last_end_ms < rq->batch_wait_ms);

	return busy && rq->arrivals < rq->batch_size &&
	    now - dirty_since < rq->batch_wait_ms && quiet_left(rq, now) > 0;
}

/* Whether to stop now (after a signal, once nothing runs). */
static int
stop_now(struct runq *rq, int *killed)
{
	if (nactive(rq) == 0)
		return 1;
	if (runq_stopping > 1 && !*killed) {
		log_info("stopping: ending the running chains");
		chain_kill_all(rq);
		*killed = 1;
	}
	return 0;
}

/* Nothing running and nothing to start. */
static int
idle(const struct runq *rq)
{
	return nactive(rq) == 0 && rq->todo_pos >= rq->todo.n && rq->nsplits == 0;
}

static void
run(struct runq *rq)
{
	time_t next_deferred = 0;
	int dirty = 1, killed = 0;
	long long dirty_since = clock_now_ms();

	for (;;) {
		time_t now = time(NULL);
		int waiting = 0, deferred_due = now >= next_deferred;

		/* In a run-once, what a chain produced (notices) is work for now. */
		if (reap(rq) > 0 && rq->once)
			dirty = 1;
		if (runq_stopping) {
			if (stop_now(rq, &killed))
				return;
		} else {
			if (now >= rq->next_tmp_clean)
				qdir_clean_tmp(rq);
			if (dirty && !deferred_due && !rq->once &&
			    gathering(rq, dirty_since))
				waiting = 1;
			if (!waiting && rq->todo_pos >= rq->todo.n && rq->nsplits == 0 &&
			    nactive(rq) < rq->concurrency && (dirty || deferred_due)) {
				rq->arrivals = 0;
				pick_scan(rq, deferred_due || rq->once);
				if (deferred_due)
					next_deferred = now + SCAN_INTERVAL;
				dirty = 0;
			}
			start_work(rq);
			if (!rq->once && !dirty && now >= rq->next_fill && idle(rq)) {
				(void)qfree_fill(rq->spool_fd, &rq->free, rq->spool_uid, QFREE_SLOTS);
				rq->next_fill = now + FILL_INTERVAL;
			}
			if (rq->once && idle(rq)) {
				if (!dirty)
					return;
				continue;
			}
		}
		if (sleep_until(rq, poll_timeout(rq, next_deferred, waiting,
		    dirty_since))) {
			if (!dirty)
				dirty_since = clock_now_ms();
			dirty = 1;
		}
	}
}

/*
 * What the runner keeps from batch to batch, freed at its end so that a
 * leak check at exit (make check SAN=1) reports real leaks only.  The
 * chains and splits are done by then: run() returns when none is left.
 */
static void
runq_free(struct runq *rq)
{
	size_t i;

	for (i = 0; i < rq->nsplits; i++)
		free(rq->splits[i].in);
	free(rq->splits);
	free(rq->todo.v);
	free(rq->held.v);
	free(rq->staged);
	free(rq->run_text);
	strset_free(&rq->inflight);
	strset_free(&rq->processed);
	strset_free(&rq->incoming_now);
	strset_free(&rq->unreadable);
	bodyfile_close(&rq->sp);
}

static long long
clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Whether a setting is set to something else than "none". */
static int
wanted(const char *name)
{
	const char *v = conf_get(name, NULL);

	return v != NULL && *v != '\0' && strcmp(v, "none") != 0;
}

/* Whether a pattern table holds a rule: a line that is no comment. */
static int
has_rule(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (f == NULL)
		return errno != ENOENT;	/* let sluice-checks say what is wrong */
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = line[0] != '#' && line[strspn(line, " \t\r\n")] != '\0';
	fclose(f);
	return found;
}

/*
 * Whether sluice-checks has work: a header or body table (the setting, or
 * header_checks/body_checks in the configuration folder) with a rule.
 * The shipped tables hold comments only.
 */
static int
checks_wanted(void)
{
	static const char *const t[] = { "header_checks", "body_checks" };
	char path[4096];
	const char *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		if ((v = conf_get(t[i], NULL)) != NULL && strcmp(v, "none") == 0)
			continue;
		if (v == NULL)
			v = t[i];
		if ((v[0] == '/' ? fmt_path(path, sizeof path, "%s", v) :
		    fmt_path(path, sizeof path, "%s/%s", conf_dir(), v)) >= 0 &&
		    has_rule(path))
			return 1;
	}
	return 0;
}

/*
 * Without a chain setting the chain is the whole MTA: envelope, aliases,
 * routing, tunnels, local and remote delivery, the policy; and each
 * content stage whose settings say it is wanted, after sluice-route so
 * that the channel action matrix sees the channels: sluice-scan
 * (scan_method), sluice-attach (attach_block), sluice-checks (a header or
 * body table), sluice-spam (spam_spamd), sluice-disclaimer
 * (disclaimer_text or disclaimer_html).  Stages with nothing to do for a
 * batch copy it through.
 */
static const char *
default_chain(void)
{
	static char buf[1024];

	if (conf_get("chain", NULL) != NULL)
		return conf_get("chain", NULL);
	snprintf(buf, sizeof buf, "sluice-envelope | sluice-alias | sluice-route"
	    "%s%s%s%s%s | sluice-bsmtp-encode | sluice-local | sluice-smtp | "
	    POLICY,
	    wanted("scan_method") ? " | sluice-scan" : "",
	    wanted("attach_block") ? " | sluice-attach" : "",
	    checks_wanted() ? " | sluice-checks" : "",
	    wanted("spam_spamd") ? " | sluice-spam" : "",
	    wanted("disclaimer_text") || wanted("disclaimer_html") ?
	    " | sluice-disclaimer" : "");
	return buf;
}

/* Whether a stage is the policy stage (by name, wherever it lives). */
static int
is_policy(char **argv)
{
	const char *b = strrchr(argv[0], '/');

	return strcmp(b ? b + 1 : argv[0], POLICY) == 0;
}

/*
 * The chain setting, split into stages; the policy stage is added at its
 * end unless it is there already, so that a chain written before there
 * was one still gets the retry policy.
 */
static void
settings(struct runq *rq)
{
	const char *ch = default_chain();
	static char *policy[] = { POLICY, NULL };
	int i;

	if (strlen(ch) >= sizeof rq->chain_text)
		die(EXIT_PERM, "the chain setting is too long");
	strcpy(rq->chain_text, ch);
	for (i = 0; i < STAGES_MAX; i++)
		rq->stage_argv[i] = rq->stage_words[i];
	rq->nstages = prog_split_chain(rq->chain_text, rq->stage_argv,
	    STAGES_MAX - 1, ARGS_MAX);
	if (rq->nstages <= 0)
		die(EXIT_PERM, "the chain setting is empty or malformed: %s", ch);
	if (!is_policy(rq->stage_argv[rq->nstages - 1]))
		rq->stage_argv[rq->nstages++] = policy;
	rq->batch_size = (size_t)clamp(conf_num("batch_size", 100), 1, BATCH_MAX);
	rq->concurrency = (size_t)clamp(conf_num("concurrency", 4), 1, CHAINS_MAX);
	rq->batch_wait_ms = clamp(conf_num("batch_wait_ms", 50), 0, 10000);
	rq->retry_min = conf_time("retry_min", 300);
	if (rq->retry_min < 1)
		rq->retry_min = 1;
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

static const char usage_text[] =
    "usage: sluice-runq [-1 [-f]] [-D destination]\n"
    "See sluice-runq(8).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

static void
options(struct runq *rq, int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "1fD:")) != -1) {
		switch (c) {
		case '1':
			rq->once = 1;
			break;
		case 'f':
			rq->force = 1;
			break;
		case 'D':
			if (qdest_check(optarg) < 0)
				die(EXIT_PERM, "-D: not a domain, host name or [address]: %.100s",
				    optarg);
			rq->flush_target = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (rq->force && !rq->once)
		die(EXIT_PERM, "-f goes with -1");
}

int
main(int argc, char **argv)
{
	struct runq rq = { .spool_fd = -1, .trigger_fd = -1, .lock_fd = -1,
		.msglock_fd = -1 };
	char tmp[4096];

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	options(&rq, argc, argv);
	settings(&rq);
	rq.spool = conf_spool();
	if (rq.flush_target != NULL && !rq.once)
		qdir_request_flush(&rq);
	qdir_prepare(&rq);
	if (qdir_lock(&rq) < 0) {
		/*
		 * A flush or a run-once while the daemon runs: the daemon does
		 * it (-1 and -1 -f: every deferred message, now).
		 */
		if (rq.flush_target != NULL || rq.once)
			qdir_request_flush(&rq);
		die(EXIT_TEMP, "another sluice-runq is running on %s", rq.spool);
	}
	rq.any_queue_first = qdest_any_queue_first();
	qdir_clean_tmp(&rq);
	/*
	 * Files for sluice-smtpd and sluice-enqueue to take (lib/qfree.h),
	 * made now rather than while a client waits; again when idle.
	 */
	if (!rq.once) {
		int made = qfree_fill(rq.spool_fd, &rq.free, rq.spool_uid, QFREE_SLOTS);

		if (made > 0)
			log_info("free: %d queue files made for reuse", made);
		rq.next_fill = time(NULL) + FILL_INTERVAL;
	}
	record_init(&rq);
	signals();
	/* Read-write, so the FIFO never reports end of file while we wait. */
	if (!rq.once && (rq.trigger_fd = openat(rq.spool_fd, "trigger",
	    O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		die_sys("unable to open %s/trigger", rq.spool);
	if (path_join(tmp, sizeof tmp, rq.spool, "tmp") < 0 ||
	    bodyfile_open(&rq.sp, tmp) < 0)
		die_sys("unable to make a body file in %s/tmp", rq.spool);
	log_info("start chain=\"%s\" batch_size=%zu concurrency=%zu%s%s%s",
	    default_chain(), rq.batch_size, rq.concurrency, rq.once ? " once" : "",
	    rq.flush_target ? " dest=" : "", rq.flush_target ? rq.flush_target : "");
	run(&rq);
	log_info("stop");
	runq_free(&rq);
	return 0;
}
