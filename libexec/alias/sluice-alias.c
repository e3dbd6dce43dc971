/*
 * sluice-alias: expand the recipients of a stream through the aliases
 * table (lists, :include: files, pipes and files, domain aliases, +detail),
 * bounce unknown local recipients and looping messages.  See sluice-alias(8)
 * and sluice-aliases(5); the modules are listed in sluice-alias.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dsn.h"
#include "log.h"
#include "sluice-alias.h"
#include "stage.h"
#include "usage.h"

/*
 * Read the header; count the Received: fields that name this host and
 * collect the Delivered-To: addresses (lib/header.h).
 */
static void
read_header(struct alias *A, struct stream_reader *rd)
{
	if (header_read(&A->hdr, rd) < 0)
		die(rd->exit_code, "%s", rd->err);
	strset_clear(&A->delivered_to);
	if (header_addrs(&A->hdr, "Delivered-To", &A->delivered_to) < 0)
		die_nomem();
	A->received = header_received_by(&A->hdr, A->hostname);
}

/*
 * Each recipient in the form recipients are compared by (rcpt_key), so
 * that "bob"@EXAMPLE.org is looked up, and kept once, as bob@example.org.
 */
static void
rcpts_normalize(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++) {
		char *k = rcpt_key(t->rcpt[i].addr);

		if (k == NULL)
			die_nomem();
		free(t->rcpt[i].addr);
		t->rcpt[i].addr = k;
	}
}

/* One transaction, its body streaming through from the reader. */
static void
write_through(struct stream_writer *w, const struct txn *t,
    const struct txn *out, const struct header *h, struct stream_reader *rd)
{
	struct txn part = *t;
	const char *l;
	size_t n, pos = 0;
	int rf = 0;

	part.rcpt = out->rcpt;
	part.nrcpt = out->nrcpt;
	if (stream_write_head(w, &part) < 0)
		die_sys("unable to write");
	while (header_line(h, &pos, &l, &n))
		if (stream_write_line(w, l, n) < 0)
			die_sys("unable to write");
	if (h->body_done) {
		if (stream_write_end(w) < 0)
			die_sys("unable to write");
	} else if (stream_copy_body(rd, w, &rf) < 0) {
		if (rf)
			die(rd->exit_code, "%s", rd->err);
		die_sys("unable to write");
	}
}

/* Above the recipient limit a transaction is split, same message. */
static void
write_split(struct stream_writer *w, const struct txn *t,
    const struct txn *out, struct bodyfile *sp)
{
	struct txn part;
	size_t k, n;

	for (k = 0; k < out->nrcpt; k += n) {
		n = out->nrcpt - k < STREAM_RCPT_MAX ? out->nrcpt - k : STREAM_RCPT_MAX;
		part = *t;
		part.rcpt = out->rcpt + k;
		part.nrcpt = n;
		if (stream_write_head(w, &part) < 0 || bodyfile_rewind(sp) < 0 ||
		    bodyfile_write_stream(sp, w) < 0)
			die_sys("unable to write");
	}
}

static void
save_all(struct bodyfile *sp, const struct header *h, struct stream_reader *rd)
{
	const char *l;
	size_t n, pos = 0;
	int rf = 0;

	if (bodyfile_reset(sp) < 0)
		die_sys("unable to spool a message");
	while (header_line(h, &pos, &l, &n))
		if (bodyfile_write_line(sp, l, n) < 0)
			die_sys("unable to spool a message");
	if (!h->body_done && bodyfile_from_stream(sp, rd, &rf) < 0) {
		if (rf)
			die(rd->exit_code, "%s", rd->err);
		die_sys("unable to spool a message");
	}
}

/* Expand each recipient, or fail them all when the message loops. */
static void
expand_all(struct expansion *c, const struct txn *t)
{
	size_t i;
	int looping = c->A->received > c->A->max_received;

	for (i = 0; i < t->nrcpt; i++) {
		const struct rcpt *r = &t->rcpt[i];

		c->orig = r;
		c->depth = 0;
		if (looping) {
			char n[32];

			snprintf(n, sizeof n, "%ld", c->A->received);
			alias_expand_fail(c, c->loop, r->addr, "5.4.6",
			    "mail loop: %s Received: fields name this host", n);
		} else if (xparam_get(r->x, r->nx, "X-EXPANDED") != NULL ||
		    xparam_get(r->x, r->nx, "X-ROUTE") != NULL)
			alias_expand_emit(c, r->addr, NULL);	/* done on an earlier pass */
		else
			alias_expand_rcpt(c, r->addr);
	}
}

/* Pass the expanded recipients on, and the bounces after them. */
static void
pass_on(struct alias *A, struct stream_reader *rd, struct stream_writer *w,
    const struct txn *t, struct bodyfile *sp, struct expansion *c)
{
	if (c->fail->t.nrcpt == 0 && c->loop->t.nrcpt == 0 &&
	    c->out->nrcpt <= STREAM_RCPT_MAX) {
		if (c->out->nrcpt > 0)
			write_through(w, t, c->out, &A->hdr, rd);
		else if (!A->hdr.body_done && stream_skip_body(rd) < 0)
			die(rd->exit_code, "%s", rd->err);
		return;
	}
	save_all(sp, &A->hdr, rd);
	write_split(w, t, c->out, sp);
	alias_fail_bounce(w, t, c->fail, sp, 0);
	alias_fail_bounce(w, t, c->loop, sp, A->loop_to_pm);
}

static void
alias_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct alias *A = ctx;
	struct fail fl, lp;
	/*
	 * Kept from one transaction to the next, emptied: with musl, a block
	 * allocated and freed per message can be a mmap and a munmap.
	 */
	static struct txn out;
	static struct strset emitted, expanded;
	struct expansion c;

	alias_fail_init(&fl);
	alias_fail_init(&lp);
	memset(&c, 0, sizeof c);
	c.A = A;
	c.qid = t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
	c.out = &out;
	c.fail = &fl;
	c.loop = &lp;
	c.emitted = &emitted;
	c.expanded = &expanded;

	read_header(A, rd);
	rcpts_normalize(t);
	expand_all(&c, t);
	if (t->from != NULL && t->from[0] == '\0' && dsn_is_double(t)) {
		alias_fail_keep(&out, &fl);
		if (!A->loop_to_pm)
			alias_fail_keep(&out, &lp);
	}
	pass_on(A, rd, w, t, sp, &c);
	alias_fail_free(&fl);
	alias_fail_free(&lp);
	strset_clear(&emitted);
	strset_clear(&expanded);
	txn_reset(&out);
}

/* The tables and settings of sluice-alias(8) ENVIRONMENT. */
static void
settings(struct alias *A)
{
	const char *v;

	table_need(&A->aliases, "aliases");
	table_need(&A->domains, "domains");
	table_need(&A->users, "users");
	A->delims = conf_get("recipient_delimiter", "+");
	A->hostname = conf_hostname();
	A->max_depth = conf_num("alias_max_depth", 10);
	A->max_received = conf_num("max_received", 50);
	if (A->max_depth < 1 || A->max_depth > DEPTH_CAP)
		die(EXIT_TEMP, "4.3.5 setting alias_max_depth must be from 1 to %d",
		    DEPTH_CAP);
	if (A->max_received < 1)
		die(EXIT_TEMP, "4.3.5 setting max_received must be a positive number");
	v = conf_get("loop_to_postmaster", "no");
	A->loop_to_pm = strcasecmp(v, "yes") == 0;
	/* Unknown local users are bounced here only if sluice-local would. */
	v = conf_get("local_default_channel", "local");
	A->bounce_unknown = strcasecmp(v, "local") == 0;
}

int
main(int argc, char **argv)
{
	static struct alias A;

	usage_none(argc, argv, "usage: sluice-alias < stream > stream\nSee sluice-alias(8).\n");
	log_init(argv[0]);
	settings(&A);
	if (header_init(&A.hdr) < 0)
		die_nomem();
	stage_run(alias_txn, &A);
	/* Nothing freed, no table closed: the exit does it at once (content.h). */
	return 0;
}
