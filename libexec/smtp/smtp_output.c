/*
 * The output, written after every delivery has ended: each message with
 * its recipients still undelivered (X-DEFER says why), and the notices
 * (lib/dsn): bounces, and success notices for servers without DSN.
 */
#include "smtp.h"

#include "bodyfile.h"
#include "dsn.h"
#include "log.h"
#include "prog.h"
#include "text.h"
#include "xtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The next block of the body spool at *off, of *left octets: its length. */
static size_t
spool_next(const struct smtp *s, char *buf, size_t size, off_t *off,
    unsigned long long *left)
{
	ssize_t k = pread(s->spool_fd, buf, *left > size ? size : (size_t)*left,
	    *off);

	if (k <= 0)
		die_sys("unable to read the body spool");
	*off += k;
	*left -= (unsigned long long)k;
	return (size_t)k;
}

/* Read message m's wire body back as lines, into a body file (notices). */
static void
wire_lines(const struct smtp *s, const struct msg *m, struct bodyfile *sp)
{
	char buf[65536], line[STREAM_TEXT_MAX + 8];
	unsigned long long left = m->len;
	off_t off = m->off;
	size_t ln = 0, i, k;

	while (left > 0) {
		k = spool_next(s, buf, sizeof buf, &off, &left);
		for (i = 0; i < k; i++) {
			const char *l = line;
			size_t n;

			if (buf[i] != '\n') {
				if (ln < sizeof line)
					line[ln++] = buf[i];
				continue;
			}
			n = ln > 0 && line[ln - 1] == '\r' ? ln - 1 : ln;
			ln = 0;
			if (n == 1 && line[0] == '.')
				return;
			if (n > 0 && line[0] == '.') {
				l++;
				n--;
			}
			if (bodyfile_write_line(sp, l, n) < 0)
				die_sys("unable to write the output");
		}
	}
}


/*
 * Message m's wire body back into the stream, without its final ".\r\n".
 * In the spool every CR is part of a CRLF (spool_line) and every line is
 * dot-stuffed, as the stream's are: so the stream form is the spool with
 * its CRs left out, copied in blocks rather than read back line by line.
 */
static void
wire_copy(const struct smtp *s, const struct msg *m, struct stream_writer *w)
{
	char buf[65536];
	unsigned long long left = m->len - 3;
	off_t off = m->off;
	size_t n;

	while (left > 0) {
		n = spool_next(s, buf, sizeof buf, &off, &left);
		if (!(w->flags & STREAM_W_CRLF))
			n = text_drop(buf, n, '\r');
		if (wbuf_put(&w->out, buf, n) < 0)
			die_sys("unable to write the output");
	}
}

/* The remote's own reply inside our words, for Diagnostic-Code: smtp. */
static const char *
diag_of(const char *text, char *buf, size_t size)
{
	const char *p = strstr(text, " said: "), *e;

	if (p == NULL)
		return text;
	p += 7;
	e = strstr(p, " (in reply to ");
	fmt(buf, size, "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
	return buf;
}

/* The recipients of m with outcome want that get a notice, into r. */
static size_t
notice_rcpts(struct msg *m, enum rstat want, struct dsn_rcpt *r,
    char (*diag)[TEXT_MAX])
{
	size_t k, n = 0;

	for (k = 0; k < m->t.nrcpt; k++) {
		struct rstate *rs = &m->rs[k];

		if (rs->st != want || (want == R_SENT && rs->dsn_passed))
			continue;
		if (!dsn_wanted(m->t.rcpt[k].notify, want == R_BOUNCED ?
		    DSN_FAILED : DSN_RELAYED))
			continue;
		r[n].rcpt = &m->t.rcpt[k];
		r[n].status = rs->status;
		r[n].diag = diag_of(rs->text ? rs->text : "", diag[n], TEXT_MAX);
		r[n].remote_mta = rs->mta;
		n++;
	}
	return n;
}

static void
notices(const struct smtp *s, struct stream_writer *out, struct msg *m)
{
	struct dsn_rcpt *r = calloc(m->t.nrcpt, sizeof *r);
	char (*diag)[TEXT_MAX] = calloc(m->t.nrcpt, TEXT_MAX);
	struct bodyfile sp;
	struct dsn d;
	size_t n;
	int pass, spooled = 0, rc;

	if (r == NULL || diag == NULL)
		die_nomem();
	for (pass = 0; pass < 2; pass++) {
		n = notice_rcpts(m, pass == 0 ? R_BOUNCED : R_SENT, r, diag);
		if (n == 0)
			continue;
		if (!spooled) {
			if (bodyfile_open(&sp, bodyfile_tmpdir()) < 0)
				die_sys("unable to make a body file");
			wire_lines(s, m, &sp);
			spooled = 1;
		}
		memset(&d, 0, sizeof d);
		d.orig = &m->t;
		d.qid = m->t.xf[XF_IDENT];
		d.action = pass == 0 ? DSN_FAILED : DSN_RELAYED;
		d.body = &sp;
		rc = dsn_write(out, &d, r, n);
		if (rc < 0)
			die_sys("unable to write a delivery status notice");
		if (rc == DSN_DEAD)
			log_warn("qid=%s a bounce of a bounce to the postmaster "
			    "failed; dropped", d.qid ? d.qid : "-");
	}
	if (spooled)
		bodyfile_close(&sp);
	free(r);
	free(diag);
}

/* Drop the delivered and bounced recipients; X-DEFER on the deferred. */
static void
settle(struct msg *m)
{
	char v[TEXT_MAX + 32], enc[STREAM_XVAL_MAX + 1];
	size_t k, vl;
	int xrc;

	for (k = m->t.nrcpt; k-- > 0;) {
		struct rstate *rs = &m->rs[k];

		if (rs->st == R_SENT || rs->st == R_BOUNCED) {
			free(rs->text);
			free(rs->mta);
			txn_del_rcpt(&m->t, k);
			memmove(&m->rs[k], &m->rs[k + 1],
			    (m->t.nrcpt - k) * sizeof *m->rs);
		} else if (rs->st == R_DEFERRED) {
			snprintf(v, sizeof v, "%s %s", rs->status,
			    rs->text ? rs->text : "");
			/* Cut the text until its xtext fits the stream's limit. */
			for (vl = strlen(v); xtext_encode(v, vl, enc,
			    sizeof enc) < 0; vl -= vl / 8 + 1)
				;
			if ((xrc = xparam_set(m->t.rcpt[k].x,
			    &m->t.rcpt[k].nx, "X-DEFER", enc)) < 0)
				xparam_die(xrc, m->t.rcpt[k].addr);
		}
	}
}

void
output_write(struct smtp *s, struct stream_writer *out)
{
	size_t i, k;

	for (i = 0; i < s->nmsgs; i++) {
		struct msg *m = &s->msgs[i];

		/*
		 * A failed double bounce has nobody to go back to: keep its
		 * recipients with their 5.x.x X-DEFER, and sluice-runq puts the
		 * message in dead/ for the postmaster, as sluice-local does.
		 */
		if (dsn_is_double(&m->t))
			for (k = 0; k < m->t.nrcpt; k++)
				if (m->rs[k].st == R_BOUNCED)
					m->rs[k].st = R_DEFERRED;
		notices(s, out, m);
		settle(m);
		if (m->t.nrcpt == 0)
			continue;
		if (stream_write_head(out, &m->t) < 0)
			die_sys("unable to write the output");
		wire_copy(s, m, out);
		if (stream_write_end(out) < 0)
			die_sys("unable to write the output");
	}
}
