/*
 * Reading the input: each transaction with a recipient for us has its body
 * spooled once in wire form and its recipients grouped by destination;
 * every other transaction is copied to the output at once.
 */
#include "smtp.h"

#include "bodyfile.h"
#include "delivered.h"
#include "log.h"
#include "prog.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * One body line in wire form.  No bare CR or LF goes on the wire, whatever
 * the queue holds (a stream line has no LF): CRs at the end of the line
 * belong to its line end, and any other CR ends a line, as sendmail(1)
 * reads one.  The text after it is a line of its own, dot-stuffed, so that
 * "x\r.\rMAIL FROM:" can neither end the data nor smuggle commands at a
 * next hop that takes a bare CR for a line end.
 */
static void
spool_line(struct wbuf *w, const char *l, size_t n)
{
	const char *cr;
	size_t k;

	while (n > 0 && l[n - 1] == '\r')
		n--;
	for (;;) {
		cr = memchr(l, '\r', n);
		k = cr != NULL ? (size_t)(cr - l) : n;
		if ((k > 0 && l[0] == '.' && wbuf_putc(w, '.') < 0) ||
		    wbuf_put(w, l, k) < 0 || wbuf_put(w, "\r\n", 2) < 0)
			die_sys("unable to write the body spool");
		if (cr == NULL)
			return;
		l = cr + 1;
		n -= k + 1;
	}
}

/*
 * A run of plain lines (stream.h) in wire form: CRLF line ends; with no
 * CR in it, as mail almost always is, in one block.
 */
static void
spool_plain(struct wbuf *w, const char *p, size_t n)
{
	const char *nl;

	if (text_find(p, n, '\r') == NULL) {
		if (stream_put_crlf(w, p, n) < 0)
			die_sys("unable to write the body spool");
		return;
	}
	for (; n > 0; n -= (size_t)(nl - p) + 1, p = nl + 1) {
		nl = text_find(p, n, '\n');
		spool_line(w, p, (size_t)(nl - p));
	}
}

/* Spool the body in wire form: CRLF, dot-stuffed, with the final ".". */
static void
spool_body(struct stream_reader *r, struct wbuf *w, struct msg *m)
{
	const char *l;
	size_t n, lines;
	int rc;

	m->off = (off_t)w->total;
	for (;;) {
		if (stream_read_plain(r, &l, &n, &lines) == 1) {
			m->eight = m->eight || text_has8bit(l, n);
			spool_plain(w, l, n);
			continue;
		}
		if ((rc = stream_read_line(r, &l, &n)) != 1)
			break;
		if (!m->eight && text_has8bit(l, n))
			m->eight = 1;
		spool_line(w, l, n);
	}
	if (rc < 0)
		die(r->exit_code, "%s", r->err);
	if (wbuf_put(w, ".\r\n", 3) < 0)
		die_sys("unable to write the body spool");
	m->len = w->total - (unsigned long long)m->off;
}

/*
 * A recipient that the record of delivered recipients holds was sent by
 * an earlier run of this batch (a later stage failed, or the chain was
 * killed): it is reported sent again, notices and all, and not sent.
 */
static int
already_sent(const struct smtp *s, struct msg *m, size_t i,
    const struct delivered *rec)
{
	struct rstate *rs = &m->rs[i];
	int flags = delivered_find(rec, m->t.rcpt[i].addr, NULL);

	if (flags < 0)
		return 0;
	rs->st = R_SENT;
	rs->dsn_passed = (flags & DELIVERED_FLAG_DSN_PASSED) != 0;
	strcpy(rs->status, "2.0.0");
	rs->text = xstrdup("delivered by an earlier attempt (the record of "
	    "delivered recipients says so)");
	rcpt_log(s, m, i, "none", rs->status, rs->st, rs->text);
	return 1;
}

/* No room to note a delivery: the recipient waits rather than risk a repeat. */
static int
no_record(const struct smtp *s, struct msg *m, size_t i, int err)
{
	struct rstate *rs = &m->rs[i];
	char t[256];

	rs->st = R_DEFERRED;
	strcpy(rs->status, "4.3.1");
	fmt(t, sizeof t, "unable to record deliveries in the queue: %s",
	    strerror(err));
	rs->text = xstrdup(t);
	rcpt_log(s, m, i, "none", rs->status, rs->st, rs->text);
	return 1;
}

/* Each recipient's destination; 1 when one at least is ours. */
static int
sort_rcpts(struct smtp *s, struct msg *m)
{
	const char *id = m->t.xf[XF_IDENT];
	size_t i;
	int ours = 0;

	m->rs = calloc(m->t.nrcpt ? m->t.nrcpt : 1, sizeof *m->rs);
	if (m->rs == NULL)
		die_nomem();
	for (i = 0; i < m->t.nrcpt; i++) {
		struct rstate *rs = &m->rs[i];

		rs->dest = dest_of_rcpt(s, &m->t.rcpt[i], rs);
		if (rs->dest != -1)
			ours = 1;
		if (rs->dest == -2)
			log_info("qid=%s to=<%s> relay=none delay=0 dsn=%s "
			    "status=%s reply=\"%s\"", id ? id : "-",
			    m->t.rcpt[i].addr, rs->status, rs->st == R_BOUNCED ?
			    "bounced" : "deferred", rs->text);
	}
	return ours;
}

/* Message m (index mi) is ours: spool it, queue its recipients. */
static void
take(struct smtp *s, struct stream_reader *r, struct wbuf *w, size_t mi,
    struct delivered *rec)
{
	struct msg *m = &s->msgs[mi];
	const char *id = m->t.xf[XF_IDENT];
	size_t i;
	int noroom;

	m->eight = m->t.body == BODY_8BITMIME;
	spool_body(r, w, m);
	if (delivered_load(rec, id) < 0)
		die_sys("qid=%s unable to read the record of delivered "
		    "recipients", id);
	noroom = delivered_room(id) < 0 ? errno : 0;
	for (i = 0; i < m->t.nrcpt; i++) {
		if (m->rs[i].dest < 0)
			continue;
		if (already_sent(s, m, i, rec) || (noroom && no_record(s, m, i,
		    noroom)))
			continue;
		m->rs[i].st = R_PENDING;
		dest_add_msg(&s->dests[m->rs[i].dest], mi);
	}
}

void
input_read(struct smtp *s, struct stream_writer *out)
{
	struct delivered rec = { 0 };
	struct stream_reader r;
	struct wbuf w;
	struct msg *m;
	int rc, rd;

	if (stream_reader_init(&r, 0, "stdin") < 0 ||
	    wbuf_init(&w, s->spool_fd, BUF_SIZE) < 0)
		die_nomem();
	for (;;) {
		if (s->nmsgs == s->amsgs) {
			s->amsgs = s->amsgs ? s->amsgs * 2 : 64;
			s->msgs = xrealloc(s->msgs, s->amsgs * sizeof *s->msgs);
		}
		m = &s->msgs[s->nmsgs];
		memset(m, 0, sizeof *m);
		txn_init(&m->t);
		if ((rc = stream_read_txn(&r, &m->t)) == 0)
			break;
		if (rc < 0)
			die(r.exit_code, "%s", r.err);
		if (sort_rcpts(s, m)) {
			/*
			 * The body spool, made for the first message to deliver:
			 * a run with none (all delivered locally) makes no file.
			 */
			if (s->spool_fd < 0) {
				const char *tmp = bodyfile_tmpdir();

				if ((s->spool_fd = bodyfile_tmpfile(tmp)) < 0)
					die_sys("unable to make a body file in %s", tmp);
				w.fd = s->spool_fd;
			}
			take(s, &r, &w, s->nmsgs++, &rec);
			continue;
		}
		/* Nothing for us: straight through, no spool. */
		if (stream_write_head(out, &m->t) < 0 ||
		    stream_copy_body(&r, out, &rd) < 0) {
			if (rd)
				die(r.exit_code, "%s", r.err);
			die_sys("unable to write the output");
		}
		free(m->rs);
		txn_free(&m->t);
	}
	txn_free(&m->t);
	delivered_free(&rec);
	if (wbuf_flush(&w) < 0)
		die_sys("unable to write the body spool");
	wbuf_free(&w);
	stream_reader_free(&r);
}
