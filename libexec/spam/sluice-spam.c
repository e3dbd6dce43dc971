/*
 * sluice-spam: ask spamd (SpamAssassin) about every message of the stream
 * and act on its verdict, per destination channel: tag it, rewrite its
 * subject, discard, bounce, forward or archive it, or (before the queue)
 * reject it.  See sluice-spam(8).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "action.h"
#include "archive.h"
#include "bounce.h"
#include "buf.h"
#include "conf.h"
#include "content.h"
#include "copy.h"
#include "log.h"
#include "prequeue.h"
#include "spamc.h"
#include "bodyfile.h"
#include "stage.h"
#include "stream.h"
#include "matrix.h"

/* The MAIL parameter of a message this stage forwarded: not checked again. */
#define FWD_PARAM "X-SPAM"

enum on_error { E_DEFER, E_PASS };

struct spam {
	const char *spamd, *user, *prefix;
	unsigned timeout;
	unsigned long long max_size;
	struct policy spam, ham;
	double threshold;	/* NAN: spamd's own */
	enum on_error on_error;
	struct matrix mx;	/* which mail this stage acts on (sluice-content(5)) */
	/* this message */
	struct txn *t;
	struct bodyfile *sp;
	struct stream_writer *w;
	char tags[COPY_TAGS_MAX];
	char reason[200];	/* for bounces and rejects */
};

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

/*
 * Whether spam checking applies to the recipients of channel ch.  The
 * channel action matrix (lib/matrix.h, matrix_applies(), by source and
 * destination channel) decides this when it lands; until then it applies
 * to every recipient.  A recipient it does not apply to passes untouched.
 */
static int
spam_applies(struct spam *s, const struct txn *t, enum channel ch)
{
	(void)ch;
	if (s->spamd == NULL)
		return 0;
	if (!matrix_applies(&s->mx, "spam", t))
		return 0;
	/* Our own forward: checked once already. */
	return xparam_get(t->x, t->nx, FWD_PARAM) == NULL;
}

/* Nothing to do for any recipient: the message is copied through. */
static int
any_applies(struct spam *s, const struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if (spam_applies(s, t, channel_of(&t->rcpt[i])))
			return 1;
	return 0;
}

static int
put_stream(void *ctx, const char *l, size_t n)
{
	return stream_write_line(ctx, l, n);
}

static void
pass_tagged(struct spam *s, const char *prefix)
{
	struct copy c = { s->tags, prefix, NULL, put_stream, s->w };

	if (stream_write_head(s->w, s->t) < 0 || copy_message(&c, s->sp) < 0 ||
	    stream_write_end(s->w) < 0)
		die_sys("unable to write");
}

static void
forward(struct spam *s, const char *to)
{
	struct copy c = { s->tags, NULL, s->t, put_stream, s->w };
	struct txn nt;
	struct rcpt *r;
	size_t i;

	txn_init(&nt);
	if (txn_set_from(&nt, s->t->from) < 0 || (r = txn_add_rcpt(&nt, to)) == NULL ||
	    xparam_set(nt.x, &nt.nx, FWD_PARAM, "forwarded") < 0)
		die_nomem();
	for (i = 0; i < XF_COUNT; i++)
		if (i != XF_IDENT && txn_set_xf(&nt, (enum xf_attr)i, s->t->xf[i]) < 0)
			die_nomem();
	/* The sender of spam is likely forged: no notices about the copy. */
	r->notify = NOTIFY_NEVER;
	nt.smtputf8 = s->t->smtputf8;
	nt.body = s->t->body;
	if (stream_write_head(s->w, &nt) < 0 || copy_message(&c, s->sp) < 0 ||
	    stream_write_end(s->w) < 0)
		die_sys("unable to write");
	txn_free(&nt);
}

struct to_fd {
	struct wbuf w;
	int mboxrd;
};

static int
put_fd(void *ctx, const char *l, size_t n)
{
	struct to_fd *f = ctx;
	size_t i;

	if (f->mboxrd) {
		/* mboxrd: one more '>' on every line that reads ">*From ". */
		for (i = 0; i < n && l[i] == '>'; i++)
			;
		if (n - i >= 5 && memcmp(l + i, "From ", 5) == 0 && wbuf_putc(&f->w, '>') < 0)
			return -1;
	}
	return wbuf_put(&f->w, l, n) < 0 || wbuf_putc(&f->w, '\n') < 0 ? -1 : 0;
}

static int
archived_body(int fd, int mboxrd, void *ctx)
{
	struct spam *s = ctx;
	struct to_fd f = { .mboxrd = mboxrd };
	struct copy c = { s->tags, NULL, s->t, put_fd, &f };
	int rc;

	if (wbuf_init(&f.w, fd, BUF_SIZE) < 0)
		return -1;
	rc = copy_message(&c, s->sp) < 0 || wbuf_flush(&f.w) < 0 ? -1 : 0;
	wbuf_free(&f.w);
	return rc;
}

/* One action for the recipients now in s->t. */
static void
act(struct spam *s, const struct action *a)
{
	char err[600];

	log_info("qid=%s nrcpt=%zu action=%s%s%s", qid_of(s->t), s->t->nrcpt,
	    action_names[a->kind], *a->arg ? " to=" : "", a->arg);
	switch (a->kind) {
	case AK_PASS:
		if (stream_write_head(s->w, s->t) < 0 || bodyfile_write_stream(s->sp, s->w) < 0)
			die_sys("unable to write");
		break;
	case AK_TAG:
	case AK_SUBJECT:
		pass_tagged(s, a->kind == AK_SUBJECT ? s->prefix : NULL);
		break;
	case AK_DISCARD:
		break;
	case AK_REJECT:
		if (prequeue_active())
			prequeue_reject(s->w, s->reason);
		/* FALLTHROUGH */
	case AK_BOUNCE:
		if (bounce_write(s->w, s->t, s->sp, "5.7.1", s->reason + 6) < 0)
			die_sys("unable to write a bounce");
		break;
	case AK_FORWARD:
		forward(s, a->arg);
		break;
	case AK_ARCHIVE:
		if (archive_write(a->arg, s->t->from, archived_body, s, err, sizeof err) < 0)
			die(EXIT_TEMP, "4.3.0 unable to archive a message: %s", err);
		break;
	}
}

/*
 * The recipients grouped by the action their channel gets, one output
 * per group (one transaction per action, all with the input's IDENT:
 * the runner requeues the extra ones as a split message).
 */
static void
act_per_channel(struct spam *s, const struct policy *p)
{
	struct txn *t = s->t;
	struct rcpt *all = t->rcpt, *sub;
	struct action acts[CH_COUNT + 1], pass = { .kind = AK_PASS };
	size_t nall = t->nrcpt, na = 0, i, g;
	unsigned char *grp;

	if ((sub = malloc((nall ? nall : 1) * sizeof *sub)) == NULL ||
	    (grp = malloc(nall ? nall : 1)) == NULL)
		die_nomem();
	for (i = 0; i < nall; i++) {
		enum channel ch = channel_of(&all[i]);
		const struct action *a = spam_applies(s, t, ch) ? &p->by[ch] : &pass;

		for (g = 0; g < na && !action_same(&acts[g], a); g++)
			;
		if (g == na)
			acts[na++] = *a;
		grp[i] = (unsigned char)g;
	}
	/* Before the queue a refusal is for the whole transaction. */
	for (g = 0; g < na && prequeue_active(); g++)
		if (acts[g].kind == AK_REJECT)
			prequeue_reject(s->w, s->reason);
	for (g = 0; g < na; g++) {
		t->rcpt = sub;
		t->nrcpt = 0;
		for (i = 0; i < nall; i++)
			if (grp[i] == g)
				sub[t->nrcpt++] = all[i];
		act(s, &acts[g]);
	}
	t->rcpt = all;
	t->nrcpt = nall;
	free(sub);
	free(grp);
}

static void
judge(struct spam *s)
{
	struct spamc_result r;
	char err[400], why[400];

	if (s->sp->bytes > s->max_size) {
		snprintf(why, sizeof why, "larger than spam_max_size: %llu octets",
		    s->sp->bytes);
	} else if (spamc_check(s->spamd, s->user, s->timeout, s->sp, &r, err, sizeof err) < 0) {
		if (s->on_error == E_DEFER)
			die(EXIT_TEMP, "4.3.0 spam check failed: %s", err);
		snprintf(why, sizeof why, "%s", err);
	} else {
		if (!isnan(s->threshold)) {
			r.required = s->threshold;
			r.spam = r.score >= s->threshold;
		}
		log_info("qid=%s verdict=%s score=%.1f required=%.1f tests=%.300s",
		    qid_of(s->t), r.spam ? "spam" : "ham", r.score, r.required, r.symbols);
		copy_tags(s->tags, sizeof s->tags, &r, NULL);
		snprintf(s->reason, sizeof s->reason, "5.7.1 message refused as spam "
		    "(score %.1f, required %.1f)", r.score, r.required);
		act_per_channel(s, r.spam ? &s->spam : &s->ham);
		return;
	}
	log_warn("qid=%s verdict=unscanned reason=\"%s\" action=pass", qid_of(s->t), why);
	copy_tags(s->tags, sizeof s->tags, NULL, why);
	pass_tagged(s, NULL);
}

static void
spam_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct spam *s = ctx;

	if (!any_applies(s, t)) {
		stage_copy(rd, w, t);
		return;
	}
	stage_spool(rd, sp);
	s->t = t;
	s->sp = sp;
	s->w = w;
	judge(s);
}

static void
policy(struct policy *p, const char *key, const char *def)
{
	const char *v = conf_get(key, def);
	char err[300];

	if (policy_parse(p, v, err, sizeof err) < 0)
		die(EXIT_TEMP, "4.3.5 setting %s: %s", key, err);
}

static void
settings(void *ctx)
{
	struct spam *s = ctx;
	const char *v;
	static char prefix[200];
	long long n;

	v = conf_get("spam_spamd", "none");
	s->spamd = *v == '\0' || strcasecmp(v, "none") == 0 ? NULL : v;
	s->user = conf_get("spam_user", "");
	n = conf_time("spam_timeout", 120);
	s->timeout = n < 1 || n > 86400 ? 120 : (unsigned)n;
	n = conf_size("spam_max_size", 512000);
	s->max_size = n < 1 ? 512000 : (unsigned long long)n;
	policy(&s->spam, "spam_action", "tag");
	policy(&s->ham, "spam_ham_action", "tag");
	v = conf_get("spam_subject_prefix", "[SPAM]");
	snprintf(prefix, sizeof prefix, "%.190s%s", v, *v && v[strlen(v) - 1] != ' ' ? " " : "");
	s->prefix = prefix;
	v = conf_get("spam_threshold", "");
	s->threshold = NAN;
	if (*v) {
		char *end;

		s->threshold = strtod(v, &end);
		if (*end != '\0' || isnan(s->threshold) || isinf(s->threshold))
			die(EXIT_TEMP, "4.3.5 setting spam_threshold: \"%.100s\" is not a number", v);
	}
	v = conf_get("spam_error_action", "defer");
	if (strcasecmp(v, "defer") == 0)
		s->on_error = E_DEFER;
	else if (strcasecmp(v, "pass") == 0)
		s->on_error = E_PASS;
	else
		die(EXIT_TEMP, "4.3.5 setting spam_error_action: \"%.100s\" is not defer or pass", v);
}

int
main(int argc, char **argv)
{
	static struct spam s;
	static const struct content_stage cs = {
		.usage = "usage: sluice-spam [-- queue-program [args...]] < stream > stream\n"
		    "See sluice-spam(8).\n",
		.settings = settings, .mx = &s.mx, .txn = spam_txn, .ctx = &s,
	};

	return content_stage_run(&cs, argc, argv);
}
