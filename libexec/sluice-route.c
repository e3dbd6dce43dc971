/*
 * sluice-route: choose a delivery channel for every recipient and write it
 * into the private RCPT parameter X-ROUTE.  See sluice-route(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bodyfile.h"
#include "conf.h"
#include "dsn.h"
#include "local.h"
#include "log.h"
#include "route.h"
#include "stage.h"
#include "stream.h"
#include "table.h"
#include "xtext.h"
#include "usage.h"

static struct table t_routes, t_domains, t_users;
static struct route default_local, internet;
static const char *delims;

static void
table_fail(const char *name)
{
	die_sys("unable to read table %s", name);
}

/* Whether addr has a mailbox in table users (with or without its detail). */
static int
user_known(const char *addr)
{
	int rc = local_user_known(&t_users, addr, delims);

	if (rc < 0)
		table_fail("users");
	return rc;
}

/*
 * The route of one address into r.  A bad routes entry becomes a defer
 * route, so the recipient waits (and the postmaster sees the reason in the
 * log and in delay notices) instead of being lost or bounced.
 */
static void
decide(const char *qid, const char *addr, struct route *r)
{
	char val[TABLE_VAL_MAX], why[ROUTE_MAX];
	const char *at = strrchr(addr, '@'), *dom, *err;
	int rc;

	dom = at ? at + 1 : "";
	/* Unqualified addresses are local: sluice-envelope qualifies the rest. */
	if (*dom == '\0') {
		*r = user_known(addr) || local_is_postmaster(addr) ? (struct route){
		    .ch = ROUTE_LOCAL, .text = "local" } : default_local;
		return;
	}
	rc = table_get(&t_routes, addr, val, sizeof val);
	if (rc == 0)
		rc = dom[0] == '[' ? table_get(&t_routes, dom, val, sizeof val) :
		    table_lookup_domain(&t_routes, dom, val, sizeof val);
	if (rc < 0)
		table_fail("routes");
	if (rc == 1) {
		if (route_parse(val, r, &err) == 0)
			return;
		log_warn("qid=%s rcpt=%s bad route=\"%.200s\" reason=\"%s\"", qid, addr,
		    val, err);
		snprintf(why, sizeof why, "defer:4.3.5 invalid entry in table routes: %s",
		    err);
		route_parse(why, r, &err);
		return;
	}
	if ((rc = local_domain(&t_domains, dom)) < 0)
		table_fail("domains");
	if (rc == 1) {
		if (user_known(addr) || local_is_postmaster(addr))
			route_parse("local", r, &err);
		else
			*r = default_local;
		return;
	}
	*r = internet;
}

static void
setting_route(const char *key, const char *def, struct route *r)
{
	const char *v = conf_get(key, def), *err;

	if (route_parse(v, r, &err) < 0)
		die(EXIT_TEMP, "4.3.5 setting %s: invalid route \"%.200s\": %s", key, v, err);
}

struct bounce {
	struct txn t;		/* the failed recipients */
	char **status, **diag;
	size_t n, a;
};

static void
bounce_add(struct bounce *b, const struct rcpt *rc, const struct route *r)
{
	if (b->n == b->a) {
		size_t na = b->a ? 2 * b->a : 8;

		if ((b->status = realloc(b->status, na * sizeof *b->status)) == NULL ||
		    (b->diag = realloc(b->diag, na * sizeof *b->diag)) == NULL)
			die_nomem();
		b->a = na;
	}
	if (rcpt_copy(&b->t, rc) < 0 ||
	    (b->status[b->n] = strdup(r->status)) == NULL ||
	    (b->diag[b->n] = strdup(*r->arg ? r->arg : "routed to error")) == NULL)
		die_nomem();
	b->n++;
}

static void
bounce_clear(struct bounce *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->status[i]);
		free(b->diag[i]);
	}
	b->n = 0;
	txn_free(&b->t);
}

/* Write the bounce for b's recipients; those nobody can be told about stay. */
static void
bounce_write(struct stream_writer *w, struct txn *t, struct bounce *b,
    struct bodyfile *sp)
{
	struct dsn d = { .orig = t, .qid = t->xf[XF_IDENT], .action = DSN_FAILED,
	    .body = sp };
	struct dsn_rcpt *dr;
	size_t i;
	int rc;

	if ((dr = calloc(b->n, sizeof *dr)) == NULL)
		die_nomem();
	for (i = 0; i < b->n; i++) {
		dr[i].rcpt = &b->t.rcpt[i];
		dr[i].status = b->status[i];
		dr[i].diag = b->diag[i];
	}
	if ((rc = dsn_write(w, &d, dr, b->n)) < 0)
		die_sys("unable to write a bounce");
	free(dr);
	for (i = 0; i < b->n; i++)
		log_info("qid=%s rcpt=%s status=%s action=%s",
		    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-", b->t.rcpt[i].addr,
		    b->status[i], rc == DSN_WRITTEN ? "bounced" :
		    rc == DSN_NONE ? "failed-no-notice" : "failed-double-bounce-lost");
}

static void
route_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct bounce *b = ctx;
	struct route r;
	const char *err, *qid = t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
	char enc[STREAM_XVAL_MAX + 1];
	size_t i;
	int rc, dead = dsn_is_double(t);

	for (i = 0; i < t->nrcpt; ) {
		struct rcpt *rc_ = &t->rcpt[i];

		rc = route_get(rc_, &r, &err);
		/* A route chosen elsewhere stays, except our own earlier defer. */
		if (rc == 1 && r.ch != ROUTE_DEFER) {
			i++;
			continue;
		}
		if (rc < 0)
			log_warn("qid=%s rcpt=%s X-ROUTE replaced reason=\"%s\"", qid,
			    rc_->addr, err);
		decide(qid, rc_->addr, &r);
		/*
		 * A failed double bounce has nobody to go back to: it keeps its
		 * error route and the status in X-DEFER, and sluice-runq puts it
		 * in dead/, as sluice-alias, -local and -smtp do.
		 */
		if (r.ch == ROUTE_ERROR && !dead) {
			bounce_add(b, rc_, &r);
			txn_del_rcpt(t, i);
			continue;
		}
		if (route_set(rc_, r.text) < 0) {
			if (errno == E2BIG)
				xparam_die(XPARAM_FULL, rc_->addr);
			if (errno == ENOMEM)
				die_nomem();
			die(EXIT_TEMP, "4.3.5 route too long for X-ROUTE: %.100s", r.text);
		}
		if (r.ch == ROUTE_DEFER || r.ch == ROUTE_ERROR) {
			char d[ROUTE_MAX + 1];

			snprintf(d, sizeof d, "%s %s", r.status, r.arg);
			if (xtext_encode(d, strlen(d), enc, sizeof enc) < 0)
				die(EXIT_TEMP, "4.3.5 defer text too long: %.100s", d);
			if ((rc = xparam_set(rc_->x, &rc_->nx, "X-DEFER", enc)) < 0)
				xparam_die(rc, rc_->addr);
		}
		log_info("qid=%s rcpt=%s route=%s", qid, rc_->addr, r.text);
		i++;
	}
	if (b->n == 0) {
		stage_copy(rd, w, t);
		return;
	}
	/* A bounce needs the body as well as the message: spool it once. */
	stage_spool(rd, sp);
	if (t->nrcpt > 0 && (stream_write_head(w, t) < 0 ||
	    bodyfile_rewind(sp) < 0 || bodyfile_write_stream(sp, w) < 0))
		die_sys("unable to write");
	if (bodyfile_rewind(sp) < 0)
		die_sys("unable to read the spooled message");
	bounce_write(w, t, b, sp);
	bounce_clear(b);
}

int
main(int argc, char **argv)
{
	struct bounce b;

	usage_none(argc, argv, "usage: sluice-route < stream > stream\nSee sluice-route(8).\n");
	log_init(argv[0]);
	table_need(&t_routes, "routes");
	table_need(&t_domains, "domains");
	table_need(&t_users, "users");
	delims = conf_get("recipient_delimiter", "+");
	setting_route("local_default_channel", "local", &default_local);
	setting_route("internet_channel", "smtp", &internet);
	memset(&b, 0, sizeof b);
	txn_init(&b.t);
	stage_run(route_txn, &b);
	/* Nothing freed, no table closed: the exit does it at once (content.h). */
	return 0;
}
