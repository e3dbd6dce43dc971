/*
 * sluice-attach: find the parts of each message that the attach_block
 * patterns match (by content type, by file name, or both), and remove
 * them, a short text in their place, or bounce the message; optionally
 * tell the postmaster.  See sluice-attach(8).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "content.h"
#include "dsn.h"
#include "prequeue.h"
#include "log.h"
#include "matrix.h"
#include "plan.h"
#include "rules.h"
#include "stage.h"
#include "stream.h"

enum action { A_REMOVE, A_BOUNCE, A_REJECT };
static const char *const actions[] = { "remove", "bounce", "reject" };

#define FOUND_MAX 600	/* the parts found, as logged and told */

struct attach {
	struct rules rules;
	struct plan plan;
	struct matrix mx;
	enum action action;
	const char *text;
	int notify_postmaster;
	const char *host;
};

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

/* The parts found, "\"a.vbs\" (text/x-vbscript), (video/mp4)", cut. */
static void
found(const struct plan *pl, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < pl->n && len + 5 < size; i++) {
		int k = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", pl->cut[i].what);

		if (k < 0 || (size_t)k >= size - len) {
			snprintf(buf + (size > 4 ? size - 4 : 0), 4, "...");
			return;
		}
		len += (size_t)k;
	}
}

static int
line(struct stream_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
line(struct stream_writer *w, const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return n < 0 ? -1 : stream_write_line(w, buf, strlen(buf));
}

/* A short notice to the postmaster (never the message itself). */
static int
notify(struct attach *a, struct stream_writer *w, const struct txn *t, const char *what,
    const char *done)
{
	const char *pm = dsn_postmaster();
	char date[64];
	struct txn nt;
	size_t i;
	int rc = -1;

	txn_init(&nt);
	if (txn_set_from(&nt, "") < 0 || txn_add_rcpt(&nt, pm) == NULL)
		goto out;
	dsn_date(time(NULL), date, sizeof date);
	if (stream_write_head(w, &nt) < 0 ||
	    line(w, "From: Mail Delivery System <MAILER-DAEMON@%s>", a->host) < 0 ||
	    line(w, "To: <%s>", pm) < 0 ||
	    line(w, "Subject: attachment %s in a message from <%.300s>", done, t->from) < 0 ||
	    line(w, "Date: %s", date) < 0 ||
	    line(w, "Message-ID: <%s.%ld.attach@%s>", qid_of(t), (long)time(NULL), a->host) < 0 ||
	    line(w, "Auto-Submitted: auto-generated") < 0 ||
	    line(w, "MIME-Version: 1.0") < 0 ||
	    line(w, "Content-Type: text/plain; charset=us-ascii") < 0 || line(w, "%s", "") < 0 ||
	    line(w, "sluice-attach found parts that are not accepted here.") < 0 ||
	    line(w, "%s", "") < 0 || line(w, "Found:      %s", what) < 0 ||
	    line(w, "Sender:     <%.300s>", t->from) < 0 ||
	    line(w, "Queue id:   %s", qid_of(t)) < 0)
		goto out;
	for (i = 0; i < t->nrcpt; i++)
		if (line(w, "%s <%.300s>", i ? "           " : "Recipients:", t->rcpt[i].addr) < 0)
			goto out;
	if (line(w, "Action:     %s", done) < 0)
		goto out;
	rc = stream_write_end(w);
out:
	txn_free(&nt);
	return rc;
}

static void
bounce(struct stream_writer *w, struct txn *t, struct bodyfile *sp, const char *diag)
{
	struct dsn d = { .orig = t, .qid = t->xf[XF_IDENT], .action = DSN_FAILED,
	    .body = sp };
	struct dsn_rcpt *dr;
	enum ret_type ret = t->ret;
	size_t i;

	if ((dr = calloc(t->nrcpt ? t->nrcpt : 1, sizeof *dr)) == NULL)
		die_nomem();
	for (i = 0; i < t->nrcpt; i++) {
		dr[i].rcpt = &t->rcpt[i];
		dr[i].status = "5.7.1";
		dr[i].diag = diag;
	}
	/* The notice never carries the refused parts back: headers only. */
	t->ret = RET_HDRS;
	if (bodyfile_rewind(sp) < 0 || dsn_write(w, &d, dr, t->nrcpt) < 0)
		die_sys("unable to write a bounce");
	t->ret = ret;
	free(dr);
}

static void
act(struct attach *a, struct stream_writer *w, struct txn *t, struct bodyfile *sp)
{
	char what[FOUND_MAX], tag[998], reason[FOUND_MAX + 100];
	enum action ac = a->action;

	found(&a->plan, what, sizeof what);
	if (ac == A_REJECT && !prequeue_active())
		ac = A_BOUNCE;
	log_info("qid=%s parts=%zu found=\"%s\" action=%s", qid_of(t), a->plan.n, what,
	    actions[ac]);
	if (a->notify_postmaster &&
	    notify(a, w, t, what, ac == A_REMOVE ? "removed" : ac == A_BOUNCE ?
	    "bounced" : "refused") < 0)
		die_sys("unable to write a notice");
	/* prequeue_reject() wants "5.7.1 text", which sluice-smtpd replies. */
	snprintf(reason, sizeof reason, "5.7.1 message refused: it holds parts "
	    "not accepted here: %s", what);
	if (ac == A_REJECT)
		prequeue_reject(w, reason);
	if (ac == A_BOUNCE) {
		bounce(w, t, sp, reason + sizeof "5.7.1 message refused: " - 1);
		return;
	}
	snprintf(tag, sizeof tag, "X-Sluice-Attach: removed %.800s by %.100s", what, a->host);
	if (stream_write_head(w, t) < 0 || plan_copy(&a->plan, sp, w, tag, a->text) < 0)
		die_sys("unable to write");
}

static void
attach_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct attach *a = ctx;
	int rf = 0, m = a->rules.n ? matrix_txn(&a->mx, "attach", rd, w, t, sp, &rf) :
	    MATRIX_NONE;

	if (m == -1)
		stage_fail(rd, rf);
	if (m == MATRIX_NONE) {
		if (a->rules.n == 0)
			stage_copy(rd, w, t);
		return;
	}
	if (m == MATRIX_ALL)
		stage_spool(rd, sp);
	if (plan_walk(&a->plan, sp) < 0)
		die_sys("unable to read the spooled message");
	if (a->plan.n > 0) {
		act(a, w, t, sp);
		return;
	}
	if (stream_write_head(w, t) < 0 || bodyfile_write_stream(sp, w) < 0)
		die_sys("unable to write");
}

static void
settings(void *ctx)
{
	struct attach *a = ctx;
	const char *v = conf_get("attach_block", ""), *act_s;
	char err[300];
	size_t i;

	if (rules_parse(&a->rules, v, err, sizeof err) < 0)
		die(EXIT_TEMP, "4.3.5 setting attach_block: %s", err);
	act_s = conf_get("attach_action", "remove");
	for (i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strcasecmp(act_s, actions[i]) == 0)
			break;
	if (i == sizeof actions / sizeof actions[0])
		die(EXIT_TEMP, "4.3.5 setting attach_action: \"%.100s\" is not remove, bounce "
		    "or reject", act_s);
	a->action = (enum action)i;
	a->text = conf_get("attach_text", "This part of the message, %s, was removed by "
	    "the mail system: attachments of this kind are not accepted here.");
	a->notify_postmaster = strcasecmp(conf_get("attach_notify_postmaster", "no"),
	    "yes") == 0;
	a->host = conf_hostname();
	plan_init(&a->plan, &a->rules);
}

int
main(int argc, char **argv)
{
	static struct attach a;
	static const struct content_stage cs = {
		.usage = "usage: sluice-attach [-- queue-program [args...]] < stream > stream\n"
		    "See sluice-attach(8).\n",
		.settings = settings, .mx = &a.mx, .txn = attach_txn, .ctx = &a,
	};

	return content_stage_run(&cs, argc, argv);
}
