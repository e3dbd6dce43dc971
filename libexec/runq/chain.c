/*
 * chain: running stages.  A feeder process writes the batch's files,
 * concatenated, into the first stage; the last writes into an unlinked
 * file in tmp/.  The chain's status is the worst of its members'.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "prog.h"
#include "runq.h"

/* The feeder: the batch's files, concatenated, into the chain's input. */
static void __attribute__((noreturn))
feed(const struct runq *rq, int out, const struct input *in, size_t n)
{
	char path[64], *buf = malloc(BUF_SIZE);
	ssize_t r;
	size_t i;
	int fd;

	if (buf == NULL)
		die_nomem();
	for (i = 0; i < n; i++) {
		qdir_input_path(&in[i], path, sizeof path);
		if ((fd = openat(rq->spool_fd, path, O_RDONLY | O_CLOEXEC)) < 0) {
			if (errno == ENOENT)
				continue;	/* removed meanwhile: nothing to do */
			die_sys("unable to open %s/%s", rq->spool, path);
		}
		while ((r = read(fd, buf, BUF_SIZE)) > 0)
			if (write_all(out, buf, (size_t)r) < 0)
				die_sys("unable to feed the chain");
		if (r < 0)
			die_sys("unable to read %s/%s", rq->spool, path);
		close(fd);
	}
	free(buf);
	_exit(0);
}

/*
 * The child of vfork: it shares the runner's memory until execve, so it
 * makes system calls only, and leaves its errno in *err for the runner
 * to log when it could not start the program.
 */
static void __attribute__((noreturn))
exec_stage(const struct runq *rq, const struct runas *ra, const char *path,
    char **argv, int in, int out, const sigset_t *mask, volatile int *err)
{
	static const int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct sigaction dfl;
	size_t i;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &dfl, NULL);
	/* Only the runner holds the locks: a chain left running must not. */
	close(rq->lock_fd);
	close(rq->msglock_fd);
	errno = 0;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
		goto fail;
	/* As priv_drop: for good, so root must not come back. */
	if (ra->drop && !runq_keeps_root(path) &&
	    (setgroups((size_t)ra->ngroups, ra->groups) < 0 ||
	    setgid(ra->gid) < 0 || setuid(ra->uid) < 0 || setuid(0) == 0))
		goto fail;
	if (sigprocmask(SIG_SETMASK, mask, NULL) < 0)
		goto fail;
	execv(path, argv);
fail:
	*err = errno ? errno : EPERM;
	_exit(EXIT_TEMP);
}

/*
 * Start one stage reading in and writing out: vfork, so that the runner's
 * page tables are not copied eight times a batch.  Signals are blocked
 * around it, so that no handler of the runner runs in the child.  The
 * pid, or -1 (logged) when the program did not start.
 */
static pid_t
spawn_stage(const struct runq *rq, const struct runas *ra, char **argv,
    int in, int out)
{
	char path[4096];
	sigset_t all, old;
	volatile int err = 0;
	pid_t pid;
	int st;

	if (prog_path(argv[0], path, sizeof path) < 0) {
		log_warn("unable to run %s: %s", argv[0], strerror(ENOENT));
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = vfork()) == 0)
		exec_stage(rq, ra, path, argv, in, out, &old, &err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_warn("unable to start %s: %s", argv[0], strerror(errno));
		return -1;
	}
	if (err != 0) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		log_warn("unable to run %s: %s", argv[0], strerror(err));
		return -1;
	}
	return pid;
}

/* Start the stages after the feeder, reading from prev; 0 or -1. */
static int
start_stages(const struct runq *rq, struct chain *c, char **const argv[],
    int nst, int prev)
{
	struct runas ra;
	int i;
	pid_t pid;

	if (runq_runas(rq, &ra) < 0) {
		log_warn("unable to run the chain as the owner of %s: %s", rq->spool,
		    strerror(errno));
		close(prev);
		return -1;
	}
	for (i = 0; i < nst; i++) {
		int last = i == nst - 1, q[2] = { -1, -1 };

		if (!last && pipe2(q, O_CLOEXEC) < 0)
			break;
		pid = spawn_stage(rq, &ra, argv[i], prev, last ? c->out : q[1]);
		if (pid < 0) {
			if (!last) {
				close(q[0]);
				close(q[1]);
			}
			break;
		}
		c->pid[c->npid++] = pid;
		close(prev);
		prev = last ? -1 : q[0];
		if (!last)
			close(q[1]);
	}
	if (prev >= 0)
		close(prev);	/* a stage did not start: the others see EOF or EPIPE */
	return i == nst ? 0 : -1;
}

/*
 * Run the stages argv[0..nst) over the inputs, the output into c->out.
 * 0, or -1 (logged) when nothing started.
 */
int
chain_start(struct runq *rq, struct chain *c, char **const argv[], int nst,
    struct input *in, size_t n)
{
	int p[2];
	pid_t pid;

	memset(c, 0, sizeof *c);
	c->in = in;
	c->n = n;
	c->out = openat(rq->spool_fd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (c->out < 0) {
		log_warn("unable to make a file in %s/tmp: %s", rq->spool,
		    strerror(errno));
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
		runq_child_reset(rq);
		close(p[0]);
		feed(rq, p[1], in, n);
	}
	close(p[1]);
	c->pid[c->npid++] = pid;
	/* A stage that did not start fails the chain: the others see EOF or EPIPE. */
	if (start_stages(rq, c, argv, nst, p[0]) < 0)
		c->status = EXIT_TEMP;
	c->active = 1;
	return 0;
fail:
	log_warn("unable to start the chain: %s", strerror(errno));
	close(c->out);
	return -1;
}

/* A member's end into the chain's status: refusal (100) outranks 111. */
static void
note_status(struct chain *c, int st)
{
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_TEMP;

	if (code != 0 && code != EXIT_PERM)
		code = EXIT_TEMP;
	if (code == EXIT_PERM || (code == EXIT_TEMP && c->status == 0))
		c->status = code;
}

/*
 * Note one member's end; returns the index of its chain, or -1.  A stage
 * that refuses a message breaks the pipe for those before it, and the
 * refusal is what lets the runner isolate the message.
 */
int
chain_reap(struct runq *rq, pid_t pid, int st)
{
	size_t i;
	int k;

	for (i = 0; i < rq->concurrency; i++) {
		struct chain *c = &rq->chains[i];

		for (k = 0; c->active && k < c->npid; k++) {
			if (c->pid[k] != pid)
				continue;
			c->pid[k] = 0;
			note_status(c, st);
			return (int)i;
		}
	}
	return -1;
}

int
chain_done(const struct chain *c)
{
	int k;

	for (k = 0; k < c->npid; k++)
		if (c->pid[k] != 0)
			return 0;
	return 1;
}

void
chain_kill_all(struct runq *rq)
{
	size_t i;
	int k;

	for (i = 0; i < rq->concurrency; i++)
		for (k = 0; rq->chains[i].active && k < rq->chains[i].npid; k++)
			if (rq->chains[i].pid[k] > 0)
				kill(rq->chains[i].pid[k], SIGTERM);
}

/*
 * The policy stage alone over inputs that did not go through the chain
 * (sluice-retry -t REASON after a failure, -q for queue_first), waited
 * for here.  Its output's descriptor, or -1 (logged) when it failed.
 */
int
chain_policy(struct runq *rq, struct input *in, size_t n, const char *opt,
    const char *reason)
{
	char *words[4] = { rq->stage_argv[rq->nstages - 1][0], (char *)opt,
		(char *)reason, NULL };
	char **argv[1] = { words };
	struct chain c;
	int k, st;

	if (chain_start(rq, &c, argv, 1, in, n) < 0)
		return -1;
	for (k = 0; k < c.npid; k++) {
		while (waitpid(c.pid[k], &st, 0) < 0)
			if (errno != EINTR)
				die_sys("waitpid");
		note_status(&c, st);
	}
	if (c.status != 0) {
		log_warn("%s %s failed (exit %d)", words[0], opt, c.status);
		close(c.out);
		return -1;
	}
	return c.out;
}
