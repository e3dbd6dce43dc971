/*
 * One transaction: which recipients are ours, the body spooled once, each
 * recipient delivered (or found in the record of delivered recipients),
 * what remains written on, and the notices added.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "delivered.h"
#include "dsn.h"
#include "header.h"
#include "log.h"
#include "sluice-local.h"
#include "stage.h"
#include "stream.h"
#include "xtext.h"

/*
 * Spool the body, remembering the Delivered-To addresses of its header
 * (folded fields count whole, and the first HEADER_MAX octets of the
 * header are looked at, as sluice-alias does: lib/header.h).
 */
static void
save_body(struct local *L, struct stream_reader *rd)
{
	const char *l;
	size_t n, pos = 0;
	int rf = 0;

	strset_clear(&L->loops);
	stage_reset(&L->sp);
	if (header_read(&L->hdr, rd) < 0)
		die(rd->exit_code, "%s", rd->err);
	if (header_addrs(&L->hdr, "Delivered-To", &L->loops) < 0)
		die_nomem();
	while (header_line(&L->hdr, &pos, &l, &n))
		if (bodyfile_write_line(&L->sp, l, n) < 0)
			die_sys("unable to write the body file");
	if (!L->hdr.body_done && bodyfile_from_stream(&L->sp, rd, &rf) < 0) {
		if (rf)
			die(rd->exit_code, "%s", rd->err);
		die_sys("unable to write the body file");
	}
	if (bodyfile_rewind(&L->sp) < 0)
		die_sys("unable to write the body file");
}

static void
notice(struct local *L, struct stream_writer *w, const struct txn *t,
    struct txn *list, struct result *res, enum dsn_action action)
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
	d.body = &L->sp;
	for (i = 0; i < list->nrcpt; i++) {
		memset(&dr[i], 0, sizeof dr[i]);
		dr[i].rcpt = &list->rcpt[i];
		dr[i].status = res[i].status;
		dr[i].diag = local_result_text(&res[i]);
	}
	if (dsn_write(w, &d, dr, list->nrcpt) < 0)
		die_sys("unable to write a delivery notice");
}

/* X-DEFER=status text, cut to fit the stream's limit on a parameter. */
static void
set_defer(struct rcpt *r, const struct result *res)
{
	char text[sizeof res->text + 16], enc[STREAM_XVAL_MAX + 1];
	size_t n;
	int rc;

	snprintf(text, sizeof text, "%s %s", res->status, local_result_text(res));
	n = strlen(text);
	while (xtext_encode(text, n, enc, sizeof enc) < 0)
		n -= n / 8 + 1;
	if ((rc = xparam_set(r->x, &r->nx, "X-DEFER", enc)) < 0)
		xparam_die(rc, r->addr);
}

/*
 * The route that tells a command or file target apart in the record of
 * delivered recipients (a mailbox is known by its address alone).
 */
static const char *
target_route(const struct rcpt *r)
{
	const char *route = xparam_get(r->x, r->nx, "X-ROUTE");

	if (route != NULL && (strncasecmp(route, "pipe:", 5) == 0 ||
	    strncasecmp(route, "file:", 5) == 0))
		return route;
	return NULL;
}

/*
 * Note a delivery before anything else happens, so that a retry of this
 * batch (a later stage failed, the chain was killed) does not repeat it.
 */
void
local_txn_record(const char *qid, const char *addr, const char *route)
{
	if (delivered_mark(qid, addr, route, 0) < 0)
		log_warn("qid=%s to=<%s> unable to record the delivery (a retry "
		    "may deliver it again): %s", qid, addr, strerror(errno));
}

/* Which recipients are ours: local[i] set; their number. */
static size_t
classify(struct local *L, const struct txn *t, char *local)
{
	struct addr a;
	struct addr_err ae;
	size_t i, n = 0;

	for (i = 0; i < t->nrcpt; i++) {
		int parsed = addr_parse(t->rcpt[i].addr, strlen(t->rcpt[i].addr),
		    ADDR_UNQUAL_OK | ADDR_UTF8, &a, &ae) == 0;

		local[i] = (char)local_users_is_local(L, &t->rcpt[i], &a, parsed);
		n += local[i] != 0;
	}
	return n;
}

/* Nothing for us: copy the transaction through without spooling. */
static void
pass(struct stream_reader *rd, struct stream_writer *w, const struct txn *t)
{
	int rfail = 0;

	if (stream_write_head(w, t) < 0 || stream_copy_body(rd, w, &rfail) < 0) {
		if (rfail)
			die(rd->exit_code, "%s", rd->err);
		die_sys("unable to write the output");
	}
}

/* One local recipient's attempt, unless the record says it was made. */
static void
attempt(struct local *L, const struct txn *t, const struct rcpt *r,
    const struct delivered *rec, int noroom, struct result *res)
{
	struct addr a;
	struct addr_err ae;

	if (delivered_find(rec, r->addr, target_route(r)) >= 0)
		local_result_set(res, 0, "2.0.0", "delivered by an earlier attempt "
		    "(the record of delivered recipients says so)");
	else if (noroom)
		local_result_set(res, 4, "4.3.1", "unable to record deliveries in "
		    "the queue: %s", strerror(noroom));
	else if (addr_parse(r->addr, strlen(r->addr), ADDR_UNQUAL_OK |
	    ADDR_UTF8, &a, &ae) < 0)
		local_result_set(res, 5, "5.1.3", "bad recipient address syntax: %s",
		    ae.msg);
	else {
		unsigned long before = L->npend_made;

		local_users_deliver(L, t, r, &a, res);
		/* A Maildir file pending (local_maildir.c) is recorded once in new/. */
		if (res->code == 0 && !local_maildir_record_later(L, before, L->qid,
		    r->addr, target_route(r)))
			local_txn_record(L->qid, r->addr, target_route(r));
	}
	log_info("qid=%s to=<%s> status=%s dsn=%s %s", L->qid, r->addr,
	    res->code == 0 ? "sent" : res->code == 4 ? "deferred" : "bounced",
	    res->status, res->text);
}

/* The outcomes of one transaction, for its notices. */
struct outcome {
	struct txn failed, done;
	struct result fres[STREAM_RCPT_MAX], sres[STREAM_RCPT_MAX];
};

/*
 * Sort one outcome: a temporary failure (or a failed double bounce, which
 * stays for sluice-runq to put in dead/) keeps the recipient with X-DEFER;
 * a permanent failure goes into the bounce, a success into a success
 * notice when asked.  1 when the recipient leaves the transaction.
 */
static int
sort_outcome(struct rcpt *r, const struct result *res, int dead,
    struct outcome *o)
{
	if (res->code == 4 || (res->code == 5 && dead)) {
		set_defer(r, res);
		return 0;
	}
	if (res->code == 5) {
		o->fres[o->failed.nrcpt] = *res;
		if (rcpt_copy(&o->failed, r) < 0)
			die_nomem();
	} else if (r->notify & NOTIFY_SUCCESS) {
		o->sres[o->done.nrcpt] = *res;
		if (rcpt_copy(&o->done, r) < 0)
			die_nomem();
	}
	return 1;
}

/* One transaction: deliver what is ours, write what remains and the notices. */
void
local_txn_process(struct local *L, struct stream_reader *rd,
    struct stream_writer *w, struct txn *t)
{
	static struct outcome o;
	static struct result res;
	static struct delivered rec;
	char *local;
	size_t i;
	int dead, noroom;

	L->qid = t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
	if ((local = calloc(t->nrcpt, 1)) == NULL)
		die_nomem();
	if (classify(L, t, local) == 0) {
		free(local);
		return pass(rd, w, t);
	}
	save_body(L, rd);
	txn_init(&o.failed);
	txn_init(&o.done);
	dead = dsn_is_double(t);
	if (delivered_load(&rec, t->xf[XF_IDENT]) < 0)
		die_sys("qid=%s unable to read the record of delivered recipients",
		    L->qid);
	noroom = delivered_room(t->xf[XF_IDENT]) < 0 ? errno : 0;
	for (i = 0; i < t->nrcpt; i++) {
		if (!local[i])
			continue;
		attempt(L, t, &t->rcpt[i], &rec, noroom, &res);
		local[i] = (char)sort_outcome(&t->rcpt[i], &res, dead, &o);
	}
	for (i = t->nrcpt; i-- > 0;)
		if (local[i])
			txn_del_rcpt(t, i);
	free(local);
	if (t->nrcpt > 0 && (stream_write_head(w, t) < 0 ||
	    bodyfile_write_stream(&L->sp, w) < 0))
		die_sys("unable to write the output");
	notice(L, w, t, &o.failed, o.fres, DSN_FAILED);
	notice(L, w, t, &o.done, o.sres, DSN_DELIVERED);
	txn_free(&o.failed);
	txn_free(&o.done);
}
