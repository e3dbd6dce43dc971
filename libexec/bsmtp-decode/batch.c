/*
 * The batch read strictly: the stream reader's limits and order, and on
 * top of them what a tunnel may not carry.  Client facts (XFORWARD) and
 * sluice's private parameters (X-ROUTE=pipe:...) are this host's own
 * business: a batch that holds them is refused, never obeyed.  Unless its
 * sender may relay, a tunnel carries mail only for the domains this host
 * serves (table domains) or routes (table routes), as sluice-smtpd
 * checks a client that may not relay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "decode.h"
#include "dsn.h"
#include "local.h"
#include "log.h"
#include "stream.h"

/* A tunnel message's batch ends with QUIT: it was not cut at a message end. */
static void
check_quit(struct decode *d)
{
	char tail[64];
	off_t end = lseek(d->batch_fd, 0, SEEK_END), from;
	ssize_t k;
	char *l;

	if (end < 0)
		die_sys("unable to read a temporary file");
	from = end > (off_t)sizeof tail - 1 ? end - (off_t)sizeof tail + 1 : 0;
	if ((k = pread(d->batch_fd, tail, sizeof tail - 1, from)) < 0)
		die_sys("unable to read a temporary file");
	tail[k] = '\0';
	if (k >= 2 && tail[k - 2] == '\r')
		tail[k - 2] = '\0';
	else if (k >= 1 && tail[k - 1] == '\n')
		tail[k - 1] = '\0';
	l = strrchr(tail, '\n');
	if (strcasecmp(l ? l + 1 : tail, "QUIT") != 0)
		refuse_input(d, "the batch does not end with QUIT: cut short");
}

static int
routed_here(struct decode *d, const char *addr)
{
	char val[TABLE_VAL_MAX];
	const char *at = strrchr(addr, '@'), *dom;
	int rc;

	if (at == NULL)
		return 0;
	dom = at + 1;
	if ((rc = local_domain(&d->domains, dom)) != 0)
		goto done;
	if ((rc = table_get(&d->routes, addr, val, sizeof val)) != 0)
		goto done;
	rc = dom[0] == '[' ? table_get(&d->routes, dom, val, sizeof val) :
	    table_lookup_domain(&d->routes, dom, val, sizeof val);
done:
	if (rc < 0)
		die_sys("unable to read table domains or routes");
	return rc;
}

static void
check_txn(struct decode *d, const struct txn *t)
{
	size_t i;

	for (i = 0; i < XF_COUNT; i++)
		if (t->xf[i] != NULL)
			refuse_input(d, "transaction %u: XFORWARD in a batch", d->ntxn);
	if (t->nx > 0)
		refuse_input(d, "transaction %u: private parameter %s on MAIL",
		    d->ntxn, t->x[0].key);
	for (i = 0; i < t->nrcpt; i++) {
		const struct rcpt *r = &t->rcpt[i];

		if (r->nx > 0)
			refuse_input(d, "transaction %u: private parameter %s on RCPT",
			    d->ntxn, r->x[0].key);
		if (!d->plain && !d->relay && !routed_here(d, r->addr))
			refuse_input(d, "5.7.1 transaction %u: relaying denied for "
			    "<%s>: not a domain of this host", d->ntxn, r->addr);
	}
}

/* The trace field this host adds to each message (RFC 5321 4.4). */
static void
received(struct decode *d, struct stream_writer *w)
{
	char line[HEAD_LINE_MAX + 1], date[64];
	const char *dom = strrchr(d->h.from, '@');
	int n;

	dsn_date(time(NULL), date, sizeof date);
	if (d->plain)
		n = snprintf(line, sizeof line, "Received: by %s (sluice-bsmtp-decode)"
		    " with BSMTP;", conf_hostname());
	else
		n = snprintf(line, sizeof line, "Received: from %s (BSMTP tunnel <%s>)",
		    dom ? dom + 1 : "unknown", d->h.from);
	if (n < 0 || (size_t)n >= sizeof line || stream_write_line(w, line,
	    (size_t)n) < 0)
		die(EXIT_TEMP, "unable to write a Received: field");
	if (!d->plain) {
		n = snprintf(line, sizeof line, "\tby %s (sluice-bsmtp-decode) with "
		    "BSMTP id <%s>;", conf_hostname(), d->h.id);
		if (n < 0 || (size_t)n >= sizeof line || stream_write_line(w, line,
		    (size_t)n) < 0)
			die(EXIT_TEMP, "unable to write a Received: field");
	}
	n = snprintf(line, sizeof line, "\t%s", date);
	if (stream_write_line(w, line, (size_t)n) < 0)
		die(EXIT_TEMP, "unable to write a Received: field");
}

/* One transaction out, without AUTH=: another host's claim, not ours. */
static void
put_txn(struct decode *d, struct stream_reader *rd, struct txn *t)
{
	struct stream_writer *w = &d->out.w;
	int rf;

	free(t->auth);
	t->auth = NULL;
	if (txn_set_xf(t, XF_PROTO, "BSMTP") < 0)
		die_nomem();
	if (stream_write_head(w, t) < 0)
		die_sys("unable to write a temporary file");
	received(d, w);
	if (stream_copy_body(rd, w, &rf) < 0) {
		if (!rf)
			die_sys("unable to write a temporary file");
		if (rd->in.err)
			die(EXIT_TEMP, "%s", rd->err);
		refuse_input(d, "%s", rd->err);
	}
}

void
batch_read(struct decode *d)
{
	struct stream_reader rd;
	struct txn t;
	int rc;

	if (!d->plain)
		check_quit(d);
	if (lseek(d->batch_fd, 0, SEEK_SET) < 0 ||
	    stream_reader_init(&rd, d->batch_fd, "batch") < 0)
		die_sys("unable to read a temporary file");
	txn_init(&t);
	while ((rc = stream_read_txn(&rd, &t)) == 1) {
		d->ntxn++;
		check_txn(d, &t);
		put_txn(d, &rd, &t);
	}
	if (rc < 0) {
		if (rd.in.err)
			die(EXIT_TEMP, "%s", rd.err);
		refuse_input(d, "%s", rd.err);
	}
	if (d->ntxn == 0)
		refuse_input(d, "no transaction in the batch");
	txn_free(&t);
	stream_reader_free(&rd);
}
