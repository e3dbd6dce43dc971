/*
 * commit: what comes out of a chain goes back into the queue.  A
 * transaction whose IDENT is an input's is that message's remainder: it
 * is written to deferred/ with the retry time the policy stage gave
 * (MAIL X-RETRY), or to dead/ (X-DEAD); any other is queued anew through
 * sluice-enqueue; the inputs go only after all of that is on disk.  See
 * sluice-runq(8), "Requeueing".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "prog.h"
#include "runq.h"

static void
staged_unlink_all(struct runq *rq)
{
	char name[64];

	while (rq->nstaged > 0) {
		rq->nstaged--;
		snprintf(name, sizeof name, "tmp/%s.%s.runq",
		    rq->staged[rq->nstaged].qid, rq->staged[rq->nstaged].dir);
		unlinkat(rq->spool_fd, name, 0);
	}
}

/* Write a transaction (its body from rq->sp) into tmp/QID.DIR.runq. */
static int
stage_file(struct runq *rq, const struct txn *t, const char *qid,
    const char *dir, time_t mtime)
{
	struct stream_writer w;
	char name[64];
	int fd, rc = -1;

	if (rq->nstaged == rq->astaged)
		rq->staged = runq_grow(rq->staged, &rq->astaged, 64, sizeof *rq->staged);
	snprintf(name, sizeof name, "tmp/%s.%s.runq", qid, dir);
	/* A kept queue file if there is one (lib/qfree.h). */
	if ((fd = qfree_take(rq->spool_fd, name, (unsigned)rq->nstaged,
	    rq->spool_uid)) < 0)
		fd = handoff_open(rq->spool_fd, name, O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	memcpy(rq->staged[rq->nstaged].qid, qid, QID_LEN + 1);
	rq->staged[rq->nstaged].dir = dir;
	rq->nstaged++;
	if (stream_writer_init(&w, fd, 0) < 0) {
		close(fd);
		return -1;
	}
	if (stream_write_head(&w, t) == 0 && bodyfile_write_stream(&rq->sp, &w) == 0 &&
	    stream_flush(&w) == 0 && cut_and_sync(fd) == 0 &&
	    (mtime == 0 || qdir_set_mtime(fd, NULL, mtime) == 0))
		rc = 0;
	stream_writer_free(&w);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* Queue the notices through sluice-enqueue, the queue's one writer. */
static int
enqueue_notices(const struct runq *rq, int fd)
{
	char *argv[] = { "sluice-enqueue", NULL };
	pid_t pid;
	int st;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		runq_child_reset(rq);
		if (dup2(fd, 0) < 0)
			die_sys("unable to set up sluice-enqueue");
		runq_child_privs(rq, argv[0]);
		prog_exec(argv);
		die_sys("unable to run sluice-enqueue");
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* dead/ keeps everything: a second failure of the same id is QID.N. */
static int
rename_dead(const struct runq *rq, const char *from, const char *qid)
{
	char to[64];
	int n = 0, rc;

	snprintf(to, sizeof to, "dead/%s", qid);
	while ((rc = renameat2(rq->spool_fd, from, rq->spool_fd, to,
	    RENAME_NOREPLACE)) < 0 && errno == EEXIST && ++n < 1000)
		snprintf(to, sizeof to, "dead/%s.%d", qid, n);
	return rc;
}

static int
commit_staged(struct runq *rq)
{
	char from[64], to[64];
	size_t i;
	int dead = 0;

	for (i = 0; i < rq->nstaged; i++) {
		const struct staged *s = &rq->staged[i];

		snprintf(from, sizeof from, "tmp/%s.%s.runq", s->qid, s->dir);
		snprintf(to, sizeof to, "%s/%s", s->dir, s->qid);
		if (strcmp(s->dir, "dead") == 0) {
			if (rename_dead(rq, from, s->qid) < 0)
				return -1;
			dead = 1;
		} else if (handoff_commit(-1, rq->spool_fd, from, to, 0) < 0)
			return -1;
	}
	if (rq->nstaged > 0 && qdir_sync(rq, "deferred") < 0)
		return -1;
	if (dead && qdir_sync(rq, "dead") < 0)
		return -1;
	rq->nstaged = 0;
	return 0;
}

/*
 * An id for a further part of message qid: the same arrival second (so
 * the same lifetime), the rest from a fresh id, unused in the queue.
 */
static int
split_qid(const struct runq *rq, const char *qid, char out[QID_LEN + 1])
{
	char fresh[QID_LEN + 1], path[64];
	size_t i;
	int tries, used;

	for (tries = 0; tries < 100; tries++) {
		qid_make(fresh);
		memcpy(out, qid, 9);
		memcpy(out + 9, fresh + 9, QID_LEN - 9 + 1);
		used = 0;
		for (i = 0; i < rq->nstaged && !used; i++)
			used = strcmp(rq->staged[i].qid, out) == 0;
		snprintf(path, sizeof path, "deferred/%s", out);
		used |= faccessat(rq->spool_fd, path, F_OK, 0) == 0;
		snprintf(path, sizeof path, "incoming/%s", out);
		used |= faccessat(rq->spool_fd, path, F_OK, 0) == 0;
		if (!used && qid_valid(out))
			return 0;
	}
	return -1;
}

/*
 * The policy stage's word on a remainder, taken off its MAIL: X-DEAD,
 * or X-RETRY, the next retry time.  1 for dead/; 0 with *next.  Without a
 * valid X-RETRY (the policy stage is broken) the remainder waits
 * retry_min, so that it is neither lost nor run in a loop.
 */
static int
take_verdict(const struct runq *rq, struct txn *t, const char *qid, time_t *next)
{
	const char *v = xparam_get(t->x, t->nx, "X-RETRY");
	int dead = xparam_get(t->x, t->nx, "X-DEAD") != NULL;
	char *end;
	long long n = v ? strtoll(v, &end, 10) : 0;

	if (!dead && (v == NULL || *end != '\0' || n <= 0)) {
		log_warn("qid=%s the chain's output has no X-RETRY: is %s its last "
		    "stage?", qid, POLICY);
		n = time(NULL) + rq->retry_min;
	}
	xparam_del(t->x, &t->nx, "X-RETRY");
	xparam_del(t->x, &t->nx, "X-DEAD");
	*next = (time_t)n;
	return dead;
}

/* The input whose remainder t is, or NULL for a new message. */
static struct input *
input_of(const struct txn *t, struct input *in, size_t n)
{
	const char *id = t->xf[XF_IDENT];
	size_t i;

	for (i = 0; id != NULL && i < n; i++)
		if (strcmp(in[i].qid, id) == 0)
			return &in[i];
	return NULL;
}

/* Stage one remainder for deferred/ or dead/; 0, or -1 logged. */
static int
requeue(struct runq *rq, struct stream_reader *rd, struct txn *t,
    struct input *in)
{
	char qid[QID_LEN + 1];
	time_t next;
	int rfail = 0, dead = take_verdict(rq, t, in->qid, &next);

	memcpy(qid, in->qid, sizeof qid);
	if (!dead && in->seen) {
		/*
		 * A stage split the message (sluice-alias does above the
		 * recipient limit): each further part is a queue file of its
		 * own, with an id that keeps the arrival time.
		 */
		if (split_qid(rq, in->qid, qid) < 0 || txn_set_xf(t, XF_IDENT, qid) < 0) {
			log_warn("qid=%s unable to name a part of a split message",
			    in->qid);
			return -1;
		}
		log_info("qid=%s split_from=%s nrcpt=%zu", qid, in->qid, t->nrcpt);
	}
	if (bodyfile_reset(&rq->sp) < 0 || bodyfile_from_stream(&rq->sp, rd, &rfail) < 0) {
		log_warn("%s", rfail ? rd->err : strerror(errno));
		return -1;
	}
	if (stage_file(rq, t, qid, dead ? "dead" : "deferred", dead ? 0 : next) < 0) {
		log_warn("qid=%s unable to requeue: %s", in->qid, strerror(errno));
		return -1;
	}
	in->dead |= dead;
	if (!dead) {
		in->kept |= strcmp(qid, in->qid) == 0;
		in->seen = 1;
	}
	return 0;
}

/*
 * A failure notice for an input (X-NOTICE-FOR=QID,N, lib/dsn.c): N of its
 * recipients bounced, for its log line.
 */
static void
count_bounce(const struct txn *t, struct input *in, size_t n)
{
	const char *v = xparam_get(t->x, t->nx, "X-NOTICE-FOR");
	const char *kind = xparam_get(t->x, t->nx, "X-NOTICE");
	char *end;
	unsigned long long k;
	size_t i;

	if (v == NULL || kind == NULL || strcmp(kind, "bounce") != 0 ||
	    strlen(v) <= QID_LEN || v[QID_LEN] != ',')
		return;
	k = strtoull(v + QID_LEN + 1, &end, 10);
	for (i = 0; *end == '\0' && i < n; i++)
		if (strncmp(in[i].qid, v, QID_LEN) == 0)
			in[i].bounced += (size_t)k;
}

/* A transaction that is no input's: a notice, queued anew; 0 or -1. */
static int
notice(struct stream_reader *rd, struct stream_writer *nw, struct txn *t)
{
	int rfail = 0;

	xparam_del(t->x, &t->nx, "X-RETRY");
	xparam_del(t->x, &t->nx, "X-DEAD");
	if (stream_write_head(nw, t) < 0 || stream_copy_body(rd, nw, &rfail) < 0) {
		if (rfail)
			log_warn("%s", rd->err);
		else
			log_warn("unable to write notices: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * An input left the queue: what became of its recipients in this run,
 * from its record of deliveries and the failure notices made for it
 * (sluice-runq(8), LOG).
 */
static void
log_done(const struct input *in, size_t delivered)
{
	if (delivered > 0 && in->bounced > 0)
		log_info("qid=%s status=sent delivered=%zu bounced=%zu", in->qid,
		    delivered, in->bounced);
	else if (delivered > 0)
		log_info("qid=%s status=sent delivered=%zu", in->qid, delivered);
	else if (in->bounced > 0)
		log_info("qid=%s status=bounced bounced=%zu", in->qid, in->bounced);
	else
		log_info("qid=%s status=done", in->qid);
}

/*
 * Everything is safe now: the inputs can go.  Their records go once the
 * chain ran over them (ran): the remainders no longer hold the delivered
 * recipients.  A remainder of the policy stage alone still does, so its
 * record stays, unless nothing of the message is left to retry.
 */
static void
remove_inputs(struct runq *rq, struct input *in, size_t n, int ran)
{
	char path[64];
	size_t i;

	for (i = 0; i < n; i++) {
		if (in[i].dir == INCOMING || !in[i].kept) {
			qdir_input_path(&in[i], path, sizeof path);
			/* Kept for the next message, if a slot is free (qfree.h). */
			if (qfree_put(rq->spool_fd, path, &rq->free, rq->spool_uid) < 0 &&
			    unlinkat(rq->spool_fd, path, 0) < 0 && errno != ENOENT)
				log_warn("qid=%s unable to remove %s: %s", in[i].qid,
				    path, strerror(errno));
		}
		if (in[i].dir == INCOMING && !in[i].kept) {
			/* A stale copy a crash left in deferred/. */
			snprintf(path, sizeof path, "deferred/%s", in[i].qid);
			unlinkat(rq->spool_fd, path, 0);
		}
		if (!in[i].seen && !in[i].dead)
			log_done(&in[i], record_count(rq, in[i].qid));
		if (ran || !in[i].seen)
			record_remove(rq, in[i].qid);
	}
}

/* Read the output and stage or write all of it; 0, or -1 logged. */
static int
read_output(struct runq *rq, int out, struct input *in, size_t n, int nfd,
    int *nnotice)
{
	struct stream_reader rd;
	struct stream_writer nw;
	struct txn t;
	int rc;

	if (lseek(out, 0, SEEK_SET) < 0 || stream_reader_init(&rd, out,
	    "chain output") < 0 || stream_writer_init(&nw, nfd, 0) < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&rd, &t)) == 1) {
		struct input *i = input_of(&t, in, n);

		if (i == NULL)
			count_bounce(&t, in, n);
		if (i == NULL ? notice(&rd, &nw, &t) < 0 : requeue(rq, &rd, &t, i) < 0)
			break;
		*nnotice += i == NULL;
	}
	if (rc < 0)
		log_warn("the chain's output is not a stream: %s", rd.err);
	else if (rc == 1)
		rc = -1;
	else if ((rc = stream_flush(&nw)) < 0)
		log_warn("unable to write notices: %s", strerror(errno));
	txn_free(&t);
	stream_reader_free(&rd);
	stream_writer_free(&nw);
	return rc;
}

/*
 * Commit what a chain left in out: remainders and new notices.  All of
 * it is on disk before any input goes; ran says the whole chain ran.  0, or -1 (reason logged) when
 * nothing was committed and the batch must be retried.
 */
static int
commit_output(struct runq *rq, int out, struct input *in, size_t n, int ran)
{
	int nfd, nnotice = 0, ret = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		in[i].seen = in[i].kept = in[i].dead = 0;
		in[i].bounced = 0;
	}
	nfd = openat(rq->spool_fd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (nfd < 0) {
		log_warn("unable to make a file in %s/tmp: %s", rq->spool,
		    strerror(errno));
		return -1;
	}
	if (read_output(rq, out, in, n, nfd, &nnotice) < 0)
		goto out;
	if (nnotice > 0 && enqueue_notices(rq, nfd) < 0) {
		log_warn("unable to queue %d notices", nnotice);
		goto out;
	}
	if (commit_staged(rq) < 0) {
		log_warn("unable to move requeued files into place: %s",
		    strerror(errno));
		goto out;
	}
	remove_inputs(rq, in, n, ran);
	ret = 0;
out:
	if (ret < 0)
		staged_unlink_all(rq);
	close(nfd);
	return ret;
}

/* The policy stage alone over inputs, its output committed; 0 or -1. */
static int
policy_alone(struct runq *rq, struct input *in, size_t n, const char *opt,
    const char *reason)
{
	int out = chain_policy(rq, in, n, opt, reason), rc;

	if (out < 0)
		return -1;
	rc = commit_output(rq, out, in, n, 0);
	close(out);
	return rc;
}

/* queue_first: new messages wait in deferred/ for their first retry. */
int
commit_held(struct runq *rq, struct input *in, size_t n)
{
	return policy_alone(rq, in, n, "-q", NULL);
}

/*
 * The batch was not run through (the chain exited 111, could not start,
 * or its output could not be committed): the policy stage alone gives
 * each message its retry time and bounces those past their lifetime
 * (sluice-retry -t).  If even that fails, the files wait retry_min as
 * they are, so that a failure of ours neither loses mail nor spins.
 */
void
commit_defer(struct runq *rq, struct input *in, size_t n, const char *reason)
{
	char path[64], dst[64];
	time_t next = time(NULL) + rq->retry_min;
	size_t i;

	for (i = 0; i < n; i++)
		record_sync(rq, in[i].qid);
	if (policy_alone(rq, in, n, "-t", reason) == 0)
		return;
	for (i = 0; i < n; i++) {
		qdir_input_path(&in[i], path, sizeof path);
		if (qdir_set_mtime(rq->spool_fd, path, next) < 0) {
			if (errno != ENOENT)
				log_warn("qid=%s unable to set the retry time: %s",
				    in[i].qid, strerror(errno));
			continue;
		}
		snprintf(dst, sizeof dst, "deferred/%s", in[i].qid);
		if (in[i].dir == INCOMING &&
		    renameat(rq->spool_fd, path, rq->spool_fd, dst) < 0)
			log_warn("qid=%s unable to move to deferred/: %s", in[i].qid,
			    strerror(errno));
		log_info("qid=%s status=deferred next=%llds reason=\"%s\"", in[i].qid,
		    (long long)rq->retry_min, reason);
	}
	if (qdir_sync(rq, "deferred") < 0)
		log_warn("unable to sync %s/deferred: %s", rq->spool, strerror(errno));
}

static void
to_bad(struct runq *rq, struct input *in)
{
	char path[64], dst[64];

	qdir_input_path(in, path, sizeof path);
	snprintf(dst, sizeof dst, "bad/%s", in->qid);
	if (renameat(rq->spool_fd, path, rq->spool_fd, dst) < 0 ||
	    qdir_sync(rq, "bad") < 0) {
		log_warn("qid=%s unable to move to bad/: %s", in->qid, strerror(errno));
		commit_defer(rq, in, 1, "refused by the chain; could not move to bad/");
		return;
	}
	log_info("qid=%s status=bad reason=\"the chain refuses this message "
	    "(exit 100); kept in bad/\"", in->qid);
}

static void
split_add(struct runq *rq, struct input *in, size_t n)
{
	struct split *s;

	if (rq->nsplits == rq->asplits)
		rq->splits = runq_grow(rq->splits, &rq->asplits, 16, sizeof *rq->splits);
	s = &rq->splits[rq->nsplits++];
	if ((s->in = malloc(n * sizeof *in)) == NULL)
		die_nomem();
	memcpy(s->in, in, n * sizeof *in);
	s->n = n;
}

/* A chain has ended: commit its output, or isolate a refusal, or defer. */
void
commit_finish(struct runq *rq, struct chain *c)
{
	size_t slot = (size_t)(c - rq->chains);
	int ok;

	c->active = 0;
	record_take(rq, slot);
	ok = c->status == 0 && commit_output(rq, c->out, c->in, c->n, 1) == 0;
	/* Before anything else runs: the retry reads what this run delivered. */
	record_settle(rq, slot, c->in, c->n, ok);
	if (c->status == 0) {
		if (!ok)
			commit_defer(rq, c->in, c->n,
			    "the chain's output could not be requeued");
	} else if (c->status == EXIT_PERM) {
		if (c->n == 1)
			to_bad(rq, &c->in[0]);
		else {
			/* Halve until the message the chain refuses stands alone. */
			split_add(rq, c->in, c->n / 2);
			split_add(rq, c->in + c->n / 2, c->n - c->n / 2);
		}
	} else
		commit_defer(rq, c->in, c->n, "the chain failed (exit 111)");
	/* The halves of a refused batch are locked again when they start. */
	qdir_release(rq, c->in, c->n);
	close(c->out);
	free(c->in);
}
