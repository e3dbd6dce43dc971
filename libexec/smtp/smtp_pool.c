/*
 * The parent's side of delivery: worker processes, at most
 * smtp_concurrency at once, the first of every destination before any
 * second; their reports read as they come (smtp_report.c), strictly.
 * Whatever a worker leaves unreported, or reports in a line that cannot
 * be read, is deferred (4.3.0): the message stays queued.
 */
#include "smtp.h"

#include "log.h"
#include "prog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct worker {
	pid_t pid;		/* 0: a free slot */
	int fd;
	struct rbuf in;
	size_t dest;
	size_t *m, nm;		/* its messages, ascending */
	int skip;		/* in the rest of an over-long line */
	size_t bad;		/* report lines that could not be read */
};

static pid_t
start(struct smtp *s, struct worker *w, size_t di, size_t *m, size_t nm)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die_sys("unable to make a pipe");
	if ((pid = fork()) < 0)
		die_sys("unable to fork");
	if (pid == 0) {
		struct job j;

		close(p[0]);
		memset(&j, 0, sizeof j);
		j.s = s;
		j.d = &s->dests[di];
		j.m = m;
		j.nm = nm;
		if (wbuf_init(&j.rep, p[1], BUF_SIZE) < 0)
			_exit(EXIT_TEMP);
		worker_run(&j);
		if (wbuf_flush(&j.rep) < 0)
			_exit(EXIT_TEMP);
		_exit(EXIT_OK);
	}
	close(p[1]);
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->fd = p[0];
	w->dest = di;
	w->m = m;
	w->nm = nm;
	if (rbuf_init(&w->in, p[0], 16384) < 0)
		die_nomem();
	return pid;
}

/* Whether message mi is one of w's. */
static int
has_msg(const struct worker *w, size_t mi)
{
	size_t lo = 0, hi = w->nm, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (w->m[mid] == mi)
			return 1;
		if (w->m[mid] < mi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The pending recipient w may report, or NULL. */
static struct rstate *
reportable(struct smtp *s, const struct worker *w, size_t mi, size_t ri)
{
	struct rstate *rs;

	if (mi >= s->nmsgs || ri >= s->msgs[mi].t.nrcpt || !has_msg(w, mi))
		return NULL;
	rs = &s->msgs[mi].rs[ri];
	return rs->dest == (int)w->dest && rs->st == R_PENDING ? rs : NULL;
}

static void
defer(struct rstate *rs, const char *text)
{
	rs->st = R_DEFERRED;
	fmt(rs->status, sizeof rs->status, "4.3.0");
	rcpt_set_text(rs, text);
}

/*
 * A report line that cannot be read: logged, and the recipient it names,
 * when it is one of w's still pending, is deferred at once; any other is
 * deferred when w ends without having reported it.
 */
static void
bad_line(struct smtp *s, struct worker *w, const char *l, size_t n,
    const struct report *r, const char *why)
{
	char shown[120], text[TEXT_MAX];
	struct rstate *rs;

	w->bad++;
	fmt(shown, sizeof shown, "%.*s", (int)(n > 100 ? 100 : n), l);
	shown[strcspn(shown, "\n")] = '\0';
	report_clean(shown);
	log_warn("qid=- dest=%s status=error reason=\"delivery worker %ld: %s "
	    "(%zu octets: %s%s)\"", s->dests[w->dest].key, (long)w->pid, why, n,
	    shown, n > 100 ? "..." : "");
	fmt(text, sizeof text, "the delivery worker's report was unreadable (%s)",
	    why);
	if (r->msg != SIZE_MAX && (rs = reportable(s, w, r->msg, r->rcpt)))
		defer(rs, text);
}

/* One line from w: parsed and applied, or an error. */
static void
take_line(struct smtp *s, struct worker *w, const char *l, size_t n)
{
	struct report r;
	struct rstate *rs;
	char err[200];

	if (report_parse(l, n, &r, err, sizeof err) < 0) {
		bad_line(s, w, l, n, &r, err);
		return;
	}
	if ((rs = reportable(s, w, r.msg, r.rcpt)) == NULL) {
		bad_line(s, w, l, n, &r, "report for a recipient that is not "
		    "the worker's to report");
		return;
	}
	rs->st = r.st;
	rs->dsn_passed = r.passed;
	fmt(rs->status, sizeof rs->status, "%s", r.status);
	free(rs->mta);
	rs->mta = r.mta[0] ? xstrdup(r.mta) : NULL;
	rcpt_set_text(rs, r.text);
}

/* w is gone: whatever it did not report is deferred. */
static void
reap(struct smtp *s, struct worker *w)
{
	int status = prog_wait(w->pid);
	size_t i, k;

	for (i = 0; i < w->nm; i++) {
		struct msg *m = &s->msgs[w->m[i]];

		for (k = 0; k < m->t.nrcpt; k++) {
			struct rstate *rs = &m->rs[k];

			if (rs->dest != (int)w->dest || rs->st != R_PENDING)
				continue;
			defer(rs, w->bad ? "the delivery worker's report was "
			    "unreadable" : status ? "delivery worker failed" :
			    "delivery worker ended early");
		}
	}
	rbuf_free(&w->in);
	close(w->fd);
	w->pid = 0;
}

/*
 * Read what w has written: every whole line, without waiting for more.
 * 1 when w has closed its end (it is reaped), else 0.
 */
static int
drain(struct smtp *s, struct worker *w)
{
	const char *l;
	size_t n;
	int rc;

	do {
		rc = rbuf_getline(&w->in, &l, &n, REPORT_LINE_MAX + 1);
		if (rc == -2 || (rc == 1 && w->skip)) {
			/* An over-long line is one error, however long. */
			if (!w->skip)
				take_line(s, w, l, n);
			w->skip = rc == -2 || l[n - 1] != '\n';
		} else if (rc == 1) {
			take_line(s, w, l, n);
		}
	} while ((rc == 1 || rc == -2) && memchr(w->in.buf + w->in.start, '\n',
	    rbuf_pending(&w->in)) != NULL);
	if (rc == 0 || rc == -1) {
		reap(s, w);
		return 1;
	}
	return 0;
}

/*
 * Another connection for every smtp_messages_per_connection messages, up
 * to the destination's concurrency: a handful of messages share one
 * session instead of opening one each.
 */
static void
plan(struct smtp *s)
{
	size_t di, want, per = (size_t)s->cf.per_conn;

	for (di = 0; di < s->ndests; di++) {
		struct dest *d = &s->dests[di];

		want = (d->nm + per - 1) / per;
		d->nworkers = (size_t)d->o.concurrency < want ?
		    (size_t)d->o.concurrency : want;
	}
}

/* Where the next worker to start is: a destination and its share. */
struct cursor {
	size_t dest, chunk;
	int more;
};

/*
 * Start workers while there are free slots: the first of every
 * destination before any second.  Returns how many are running.
 */
static size_t
fill(struct smtp *s, struct worker *w, size_t maxw, size_t running,
    struct cursor *cur)
{
	size_t di, lo, hi, i;
	struct dest *d;

	while (cur->more && running < maxw) {
		if (cur->dest == s->ndests) {
			cur->dest = 0;
			cur->chunk++;
			for (di = 0, cur->more = 0; di < s->ndests; di++)
				if (s->dests[di].nworkers > cur->chunk)
					cur->more = 1;
			if (!cur->more)
				break;
		}
		d = &s->dests[cur->dest++];
		if (cur->chunk >= d->nworkers)
			continue;
		lo = d->nm * cur->chunk / d->nworkers;
		hi = d->nm * (cur->chunk + 1) / d->nworkers;
		for (i = 0; i < maxw && w[i].pid != 0; i++)
			;
		start(s, &w[i], (size_t)(d - s->dests), d->m + lo, hi - lo);
		running++;
	}
	return running;
}

void
pool_run(struct smtp *s)
{
	size_t maxw = (size_t)s->cf.concurrency, running = 0, i;
	struct cursor cur = { 0, 0, 1 };
	struct worker *w;
	struct pollfd *pf;

	plan(s);
	w = calloc(maxw, sizeof *w);
	pf = calloc(maxw, sizeof *pf);
	if (w == NULL || pf == NULL)
		die_nomem();
	for (;;) {
		if ((running = fill(s, w, maxw, running, &cur)) == 0)
			break;
		for (i = 0; i < maxw; i++) {
			pf[i].fd = w[i].pid ? w[i].fd : -1;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, maxw, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_sys("poll");
		}
		for (i = 0; i < maxw; i++)
			if (w[i].pid != 0 && pf[i].revents != 0 && drain(s, &w[i]))
				running--;
	}
	free(w);
	free(pf);
}
