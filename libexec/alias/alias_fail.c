/*
 * Failed recipients, each with its status and reason: the bounces to the
 * sender (unknown users, empty lists) and the loop notices, to the sender
 * or the postmaster; or, when a double bounce fails, the recipients kept
 * in the stream for sluice-runq to hand to the postmaster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "log.h"
#include "sluice-alias.h"
#include "xtext.h"

void
alias_fail_init(struct fail *f)
{
	txn_init(&f->t);
	f->status = f->diag = NULL;
	f->a = 0;
}

void
alias_fail_add(struct fail *f, const struct rcpt *r, const char *status,
    const char *diag)
{
	size_t n = f->t.nrcpt;

	if (n == f->a) {
		size_t na = f->a ? 2 * f->a : 8;

		if ((f->status = realloc(f->status, na * sizeof *f->status)) == NULL ||
		    (f->diag = realloc(f->diag, na * sizeof *f->diag)) == NULL)
			die_nomem();
		f->a = na;
	}
	if (rcpt_copy(&f->t, r) < 0 || (f->status[n] = strdup(status)) == NULL ||
	    (f->diag[n] = strdup(diag)) == NULL)
		die_nomem();
}

/* Forget the recipients; the arrays stay for alias_fail_free. */
static void
clear(struct fail *f)
{
	size_t i;

	for (i = 0; i < f->t.nrcpt; i++) {
		free(f->status[i]);
		free(f->diag[i]);
	}
	txn_free(&f->t);
}

void
alias_fail_free(struct fail *f)
{
	clear(f);
	free(f->status);
	free(f->diag);
	alias_fail_init(f);
}

/* One notice per STREAM_RCPT_MAX failed recipients, with the message. */
void
alias_fail_bounce(struct stream_writer *w, const struct txn *t,
    struct fail *f, struct bodyfile *sp, int to_postmaster)
{
	struct dsn_rcpt *dr;
	struct txn pm;
	struct dsn d = { .orig = t, .qid = t->xf[XF_IDENT], .action = DSN_FAILED,
	    .body = sp };
	size_t i, k, n;
	int rc;

	if (f->t.nrcpt == 0)
		return;
	if (to_postmaster) {
		/* The postmaster is told whatever the sender asked for. */
		pm = *t;
		pm.from = (char *)dsn_postmaster();
		d.orig = &pm;
		for (i = 0; i < f->t.nrcpt; i++)
			f->t.rcpt[i].notify = 0;
	}
	if ((dr = calloc(f->t.nrcpt, sizeof *dr)) == NULL)
		die_nomem();
	for (i = 0; i < f->t.nrcpt; i++) {
		dr[i].rcpt = &f->t.rcpt[i];
		dr[i].status = f->status[i];
		dr[i].diag = f->diag[i];
	}
	for (k = 0; k < f->t.nrcpt; k += n) {
		n = f->t.nrcpt - k < STREAM_RCPT_MAX ? f->t.nrcpt - k : STREAM_RCPT_MAX;
		if (bodyfile_rewind(sp) < 0)
			die_sys("unable to read the spooled message");
		if ((rc = dsn_write(w, &d, dr + k, n)) < 0)
			die_sys("unable to write a bounce");
		if (rc == DSN_NONE)
			log_info("qid=%s bounce=none reason=\"NOTIFY asks for none\"",
			    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-");
	}
	free(dr);
}

/*
 * A failed double bounce cannot be bounced: its recipients stay, with the
 * reason in X-DEFER, until sluice-runq gives it to the postmaster (dead/).
 */
void
alias_fail_keep(struct txn *out, struct fail *f)
{
	char d[DSN_DIAG_MAX + 20], enc[STREAM_XVAL_MAX + 1];
	size_t i;
	int rc;

	for (i = 0; i < f->t.nrcpt; i++) {
		struct rcpt *r;

		if (rcpt_copy(out, &f->t.rcpt[i]) < 0)
			die_nomem();
		r = &out->rcpt[out->nrcpt - 1];
		snprintf(d, sizeof d, "%s %s", f->status[i], f->diag[i]);
		if (xtext_encode(d, strlen(d), enc, sizeof enc) >= 0 &&
		    (rc = xparam_set(r->x, &r->nx, "X-DEFER", enc)) < 0)
			xparam_die(rc, r->addr);
		log_warn("qid=%s rcpt=%s status=%s kept=\"failed double bounce\"",
		    out->xf[XF_IDENT] ? out->xf[XF_IDENT] : "-", r->addr, f->status[i]);
	}
	clear(f);
}
