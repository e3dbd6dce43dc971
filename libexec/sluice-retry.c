/*
 * sluice-retry: the queue's policy, the last stage of every chain that
 * sluice-runq runs.  For each remainder of a queued message (a transaction
 * whose XFORWARD IDENT is a queue id) it bounces the recipients whose last
 * failure is permanent or whose lifetime is over, sends one delay notice
 * to those waiting longer than delay_warning, and writes the rest with the
 * next retry time (MAIL X-RETRY=epoch); a failed double bounce is written
 * with MAIL X-DEAD=1 for dead/.  Other transactions pass through.  The
 * clock is SLUICE_NOW when set.  See sluice-retry(8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "dsn.h"
#include "log.h"
#include "qdest.h"
#include "qid.h"
#include "stage.h"
#include "xtext.h"
#include "usage.h"

/* What the run is about: see the man page's -t and -q. */
enum mode { RUN_DONE, RUN_FAILED, RUN_HELD };

struct retry {
	enum mode mode;
	const char *reason;	/* -t: why the chain did not run */
	time_t now;
	long long lifetime, delay_warning, retry_min, retry_max;
	/* Per recipient of the transaction at hand (STREAM_RCPT_MAX each). */
	char *fail, *warn, *keep;
	struct rcpt *view;
	struct dsn_rcpt *dr;
	char (*text)[STREAM_XVAL_MAX + 1];
};

static long long
clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * How long the queue keeps trying this recipient: smtp_dest, else
 * queue_lifetime.  An smtp_dest that cannot be read is a temporary
 * failure: its lifetimes unknown, nothing may bounce, so all waits.
 */
static long long
rcpt_lifetime(const struct retry *rt, const struct rcpt *r)
{
	struct dest_opts o;
	char err[512];

	if (qdest_opts(r, &o, err, sizeof err) < 0)
		die(EXIT_TEMP, "%s: the lifetimes of the destinations are unknown, "
		    "so every message waits", err);
	return o.lifetime >= 0 ? o.lifetime : rt->lifetime;
}

/*
 * Next attempt: as long again as the message has waited, within the
 * bounds, and never after the end of its shortest lifetime lt, so that it
 * is tried once more and bounced on time.
 */
static time_t
next_retry(const struct retry *rt, time_t arrival, long long lt)
{
	time_t next = rt->now + (time_t)clamp(rt->now - arrival, rt->retry_min,
	    rt->retry_max);

	if (next > arrival + lt)
		next = arrival + lt > rt->now ? arrival + lt : rt->now + 1;
	return next;
}

/* The last temporary failure of a recipient, decoded: "4.4.1 text". */
static void
last_error(const struct rcpt *r, char *buf, size_t size)
{
	const char *v = xparam_get(r->x, r->nx, "X-DEFER");

	if (v == NULL || xtext_decode(v, strlen(v), buf, size) < 0)
		snprintf(buf, size, "4.4.7 no stage of the chain took this recipient");
}

/* The same envelope with the recipients pick[] selects. */
static struct txn
view(const struct retry *rt, const struct txn *t, const char *pick)
{
	struct txn v = *t;
	size_t i;

	v.rcpt = rt->view;
	v.nrcpt = v.arcpt = 0;
	for (i = 0; i < t->nrcpt; i++)
		if (pick[i])
			v.rcpt[v.nrcpt++] = t->rcpt[i];
	return v;
}

static int
notify(struct retry *rt, struct stream_writer *w, const struct txn *v,
    const char *qid, enum dsn_action action, time_t arrival, struct bodyfile *sp)
{
	struct dsn d;
	size_t i;

	memset(&d, 0, sizeof d);
	d.orig = v;
	d.qid = qid;
	d.action = action;
	d.body = sp;
	for (i = 0; i < v->nrcpt; i++) {
		struct dsn_rcpt *r = &rt->dr[i];
		char *blank;

		memset(r, 0, sizeof *r);
		last_error(&v->rcpt[i], rt->text[i], sizeof rt->text[i]);
		r->rcpt = &v->rcpt[i];
		r->status = rt->text[i];
		r->diag = "";
		if ((blank = strchr(rt->text[i], ' ')) != NULL) {
			*blank = '\0';
			r->diag = blank + 1;
		}
		r->last_attempt = rt->now;
		/* A delay notice says until when each recipient is tried. */
		r->retry_until = action == DSN_DELAYED ?
		    arrival + (time_t)rcpt_lifetime(rt, &v->rcpt[i]) : 0;
	}
	return dsn_write(w, &d, rt->dr, v->nrcpt);
}

/* The transaction's head with MAIL X-RETRY=next; 0 or -1. */
static int
write_retry(struct stream_writer *w, struct txn *t, time_t next)
{
	char n[32];
	int rc;

	snprintf(n, sizeof n, "%lld", (long long)next);
	xparam_del(t->x, &t->nx, "X-DEAD");
	if ((rc = xparam_set(t->x, &t->nx, "X-RETRY", n)) < 0)
		xparam_die(rc, "MAIL");
	return stream_write_head(w, t);
}

/*
 * Decide each recipient's fate: fail (5.x.x, or its lifetime is over),
 * warn (delay notice due), keep.  Returns the shortest lifetime of the
 * kept ones; counts in n[0..3]: failed, warned, kept, of the failed those
 * expired by smtp_dest's lifetime, expired at all.
 */
static long long
judge(struct retry *rt, struct txn *t, time_t arrival, size_t n[5])
{
	char err[STREAM_XVAL_MAX + 1];
	long long lt, lt_keep = rt->lifetime;
	size_t i;

	memset(n, 0, 5 * sizeof n[0]);
	for (i = 0; i < t->nrcpt; i++) {
		struct rcpt *r = &t->rcpt[i];
		int expired, rc;

		lt = rcpt_lifetime(rt, r);
		expired = rt->now - arrival >= lt;
		last_error(r, err, sizeof err);
		rt->fail[i] = err[0] == '5' || expired;
		n[3] += expired && lt != rt->lifetime;
		n[4] += expired;
		if (!rt->fail[i] && lt < lt_keep)
			lt_keep = lt;
		rt->warn[i] = !rt->fail[i] && rt->delay_warning > 0 &&
		    rt->now - arrival >= rt->delay_warning &&
		    xparam_get(r->x, r->nx, "X-WARNED") == NULL;
		rt->keep[i] = !rt->fail[i];
		n[0] += rt->fail[i];
		n[1] += rt->warn[i];
		n[2] += rt->keep[i];
		if (rt->warn[i] &&
		    (rc = xparam_set(r->x, &r->nx, "X-WARNED", "1")) < 0)
			xparam_die(rc, r->addr);
	}
	return lt_keep;
}

static void
fail_write(void)
{
	die_sys("unable to write the output");
}

/* The failed recipients: a bounce, or dead/ for a failed double bounce. */
static void
bounce(struct retry *rt, struct stream_writer *w, struct txn *t,
    const char *qid, time_t arrival, struct bodyfile *sp, const size_t n[5])
{
	struct txn v = view(rt, t, rt->fail);
	int rc = notify(rt, w, &v, qid, DSN_FAILED, arrival, sp);

	if (rc < 0)
		fail_write();
	if (rc == DSN_DEAD) {
		if ((rc = xparam_set(v.x, &v.nx, "X-DEAD", "1")) < 0)
			xparam_die(rc, "MAIL");
		if (stream_write_head(w, &v) < 0 || bodyfile_write_stream(sp, w) < 0)
			fail_write();
		log_info("qid=%s status=dead nrcpt=%zu reason=\"an undeliverable "
		    "double bounce; kept in dead/\"", qid, n[0]);
		return;
	}
	log_info("qid=%s status=bounced nrcpt=%zu delay=%lld%s", qid, n[0],
	    (long long)(rt->now - arrival), n[4] == 0 ? "" : n[3] > 0 ?
	    " reason=\"lifetime of the destination reached (smtp_dest)\"" :
	    " reason=\"queue_lifetime reached\"");
}

/* A remainder that came through the chain: bounce, warn, retry. */
static void
judge_remainder(struct retry *rt, struct stream_reader *rd,
    struct stream_writer *w, struct txn *t, struct bodyfile *sp,
    const char *qid, time_t arrival)
{
	char err[STREAM_XVAL_MAX + 1];
	size_t n[5], i;
	long long lt = judge(rt, t, arrival, n);
	int rfail = 0;
	time_t next;

	/* Notices return the message: spool it only when one is due. */
	if (n[0] > 0 || n[1] > 0) {
		if (bodyfile_reset(sp) < 0 || bodyfile_from_stream(sp, rd, &rfail) < 0) {
			if (rfail)
				die(rd->exit_code, "%s", rd->err);
			die_sys("unable to spool a message in %s", bodyfile_tmpdir());
		}
		if (n[0] > 0)
			bounce(rt, w, t, qid, arrival, sp, n);
		if (n[1] > 0) {
			struct txn v = view(rt, t, rt->warn);

			if (notify(rt, w, &v, qid, DSN_DELAYED, arrival, sp) < 0)
				fail_write();
		}
	}
	if (n[2] == 0) {
		if (n[0] == 0 && n[1] == 0 && stream_skip_body(rd) < 0)
			die(rd->exit_code, "%s", rd->err);
		return;
	}
	next = next_retry(rt, arrival, lt);
	if (n[0] > 0 || n[1] > 0) {
		struct txn v = view(rt, t, rt->keep);

		if (write_retry(w, &v, next) < 0 || bodyfile_write_stream(sp, w) < 0)
			fail_write();
	} else if (write_retry(w, t, next) < 0 ||
	    stream_copy_body(rd, w, &rfail) < 0) {
		if (rfail)
			die(rd->exit_code, "%s", rd->err);
		fail_write();
	}
	/* The log gives the first waiting recipient's reason. */
	for (i = 0; !rt->keep[i]; i++)
		;
	last_error(&t->rcpt[i], err, sizeof err);
	log_info("qid=%s status=deferred nrcpt=%zu delay=%lld next=%llds "
	    "reason=\"%s\"", qid, n[2], (long long)(rt->now - arrival),
	    (long long)(next - rt->now), err);
}

/* A message that did not go through the chain: it only waits. */
static void
wait_only(struct retry *rt, struct stream_reader *rd, struct stream_writer *w,
    struct txn *t, const char *qid, time_t arrival)
{
	long long lt = rt->lifetime, l;
	time_t next;
	size_t i;
	int rfail = 0;

	for (i = 0; i < t->nrcpt; i++)
		if ((l = rcpt_lifetime(rt, &t->rcpt[i])) < lt)
			lt = l;
	next = next_retry(rt, arrival, lt);
	if (write_retry(w, t, next) < 0 || stream_copy_body(rd, w, &rfail) < 0) {
		if (rfail)
			die(rd->exit_code, "%s", rd->err);
		fail_write();
	}
	if (rt->mode == RUN_HELD)
		log_info("qid=%s status=queued nrcpt=%zu next=%llds reason=\"queue_first: "
		    "waiting for the next retry or a flush\"", qid, t->nrcpt,
		    (long long)(next - rt->now));
	else
		log_info("qid=%s status=deferred delay=%lld next=%llds reason=\"%s\"",
		    qid, (long long)(rt->now - arrival), (long long)(next - rt->now),
		    rt->reason);
}

/*
 * -t: the chain failed, so this message was not tried.  It only waits,
 * unless a recipient's lifetime is over: the fault may be ours, but no
 * mail waits forever, so it is judged as if the chain had returned it,
 * with the reason as the last error of recipients that have none.
 */
static int
any_expired(const struct retry *rt, const struct txn *t, time_t arrival)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if (rt->now - arrival >= rcpt_lifetime(rt, &t->rcpt[i]))
			return 1;
	return 0;
}

static void
set_reason(const struct retry *rt, struct txn *t)
{
	char why[512], enc[STREAM_XVAL_MAX + 1];
	size_t i;
	int rc;

	snprintf(why, sizeof why, "4.3.0 %s", rt->reason);
	if (xtext_encode(why, strlen(why), enc, sizeof enc) < 0)
		die(EXIT_PERM, "-t: the reason is too long");
	for (i = 0; i < t->nrcpt; i++)
		if (xparam_get(t->rcpt[i].x, t->rcpt[i].nx, "X-DEFER") == NULL &&
		    (rc = xparam_set(t->rcpt[i].x, &t->rcpt[i].nx, "X-DEFER", enc)) < 0)
			xparam_die(rc, t->rcpt[i].addr);
}

static void
one_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct retry *rt = ctx;
	const char *id = t->xf[XF_IDENT];
	char qid[QID_LEN + 1];
	time_t arrival;
	int rfail = 0;

	if (id == NULL || !qid_valid(id) || t->nrcpt == 0) {
		/* A notice or a message a stage made: the runner queues it anew. */
		if (stream_write_head(w, t) < 0 || stream_copy_body(rd, w, &rfail) < 0) {
			if (rfail)
				die(rd->exit_code, "%s", rd->err);
			fail_write();
		}
		return;
	}
	memcpy(qid, id, sizeof qid);
	arrival = qid_time(qid);
	if (arrival == 0 || arrival > rt->now)
		arrival = rt->now;
	if (rt->mode == RUN_HELD ||
	    (rt->mode == RUN_FAILED && !any_expired(rt, t, arrival))) {
		wait_only(rt, rd, w, t, qid, arrival);
		return;
	}
	if (rt->mode == RUN_FAILED)
		set_reason(rt, t);
	judge_remainder(rt, rd, w, t, sp, qid, arrival);
}

static void
settings(struct retry *rt)
{
	rt->lifetime = conf_time("queue_lifetime", 5 * 86400);
	rt->delay_warning = conf_time("delay_warning", 4 * 3600);
	rt->retry_min = conf_time("retry_min", 300);
	rt->retry_max = conf_time("retry_max", 3600);
	if (rt->retry_min < 1)
		rt->retry_min = 1;
	if (rt->retry_max < rt->retry_min)
		rt->retry_max = rt->retry_min;
	rt->fail = malloc(STREAM_RCPT_MAX);
	rt->warn = malloc(STREAM_RCPT_MAX);
	rt->keep = malloc(STREAM_RCPT_MAX);
	rt->view = malloc(STREAM_RCPT_MAX * sizeof *rt->view);
	rt->dr = malloc(STREAM_RCPT_MAX * sizeof *rt->dr);
	rt->text = malloc(STREAM_RCPT_MAX * sizeof *rt->text);
	if (!rt->fail || !rt->warn || !rt->keep || !rt->view || !rt->dr || !rt->text)
		die_nomem();
}

static const char usage_text[] =
    "usage: sluice-retry [-t reason | -q] < stream > stream\n"
    "See sluice-retry(8).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

int
main(int argc, char **argv)
{
	struct retry rt;
	int c;

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	memset(&rt, 0, sizeof rt);
	rt.mode = RUN_DONE;
	while ((c = getopt(argc, argv, "t:q")) != -1) {
		switch (c) {
		case 't':
			rt.mode = RUN_FAILED;
			rt.reason = optarg;
			break;
		case 'q':
			rt.mode = RUN_HELD;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	switch (clock_fixed(&rt.now)) {
	case -1:
		die(EXIT_PERM, "SLUICE_NOW is not a number of seconds: %.40s",
		    getenv("SLUICE_NOW"));
	case 0:
		rt.now = time(NULL);
	}
	settings(&rt);
	stage_run(one_txn, &rt);
	return 0;
}
