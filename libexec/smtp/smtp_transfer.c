/*
 * One message over an open session: MAIL, RCPT and DATA (pipelined when
 * the server offers PIPELINING), the body from the spool, and each
 * recipient's outcome from the replies.
 */
#include "smtp.h"

#include "clock.h"
#include "delivered.h"
#include "log.h"
#include "prog.h"
#include "text.h"
#include "xtext.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* The recipients of one message this job sends over one session. */
struct batch {
	struct msg *m;
	size_t mi;
	size_t P[STREAM_RCPT_MAX], np;	/* the pending recipients */
	unsigned char acc[STREAM_RCPT_MAX];	/* which the server took */
	size_t nacc;
	unsigned long long size;	/* for SIZE= */
};

/*
 * The remote took the message: note its recipients in the record of
 * delivered recipients (lib/delivered.h) before anything else, in one
 * write, so that a retry of this batch does not send it again.
 */
static void
record_sent(const struct batch *b, int dsn)
{
	const char *addr[STREAM_RCPT_MAX], *id = b->m->t.xf[XF_IDENT];
	size_t k, n = 0;

	for (k = 0; k < b->np && n < STREAM_RCPT_MAX; k++)
		if (b->acc[k])
			addr[n++] = b->m->t.rcpt[b->P[k]].addr;
	if (delivered_mark_all(id, addr, n, NULL, dsn ?
	    DELIVERED_FLAG_DSN_PASSED : 0) < 0)
		log_warn("qid=%s unable to record the delivery of %zu recipients "
		    "(a retry may send them again): %s", id ? id : "-", n,
		    strerror(errno));
}

/* The body from the spool: sendfile in the clear, else read and write. */
static int
send_body(struct conn *c, int spool_fd, const struct msg *m)
{
	long long deadline;
	off_t off = m->off;
	unsigned long long left = m->len;
	char buf[65536];
	ssize_t k;

	if (conn_flush(c, PH_DATA_BLOCK) < 0)
		return -1;
	while (left > 0) {
		deadline = clock_now_ms() + c->timeout_ms[PH_DATA_BLOCK];
		if (c->tls == NULL) {
			k = sendfile(c->fd, spool_fd, &off,
			    left > (1u << 30) ? (1u << 30) : (size_t)left);
			if (k > 0) {
				left -= (unsigned long long)k;
				continue;
			}
			if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (clock_wait_fd(c->fd, POLLOUT, deadline) < 0) {
					conn_fail(c, PH_DATA_BLOCK, "conversation timed out");
					return -1;
				}
				continue;
			}
			if (k == 0) {
				errno = EIO;	/* the spool is shorter than it said */
				die_sys("unable to read the body spool");
			}
			conn_fail(c, PH_DATA_BLOCK, "lost connection");
			return -1;
		}
		k = pread(spool_fd, buf, left > sizeof buf ? sizeof buf : (size_t)left,
		    off);
		if (k <= 0)
			die_sys("unable to read the body spool");
		if (conn_rawwrite(c, buf, (size_t)k, PH_DATA_BLOCK) < 0)
			return -1;
		off += k;
		left -= (unsigned long long)k;
	}
	return 0;
}

static int
notify_param(char *b, size_t size, unsigned n)
{
	if (n & NOTIFY_NEVER)
		return snprintf(b, size, " NOTIFY=NEVER");
	return snprintf(b, size, " NOTIFY=%s%s%s%s%s",
	    n & NOTIFY_SUCCESS ? "SUCCESS" : "",
	    (n & NOTIFY_SUCCESS) && (n & (NOTIFY_FAILURE | NOTIFY_DELAY)) ? "," : "",
	    n & NOTIFY_FAILURE ? "FAILURE" : "",
	    (n & NOTIFY_FAILURE) && (n & NOTIFY_DELAY) ? "," : "",
	    n & NOTIFY_DELAY ? "DELAY" : "");
}

/*
 * The DSN parameters of RCPT TO for rc into p, "" when the server does
 * not offer DSN.  With add_orcpt, a recipient that came without ORCPT
 * and has a 7-bit address gets ORCPT=rfc822;address (RFC 3461 4.2 lets
 * a relay add it).
 */
static void
rcpt_params(const struct conn *c, const struct rcpt *rc, int add_orcpt,
    char *p, size_t size)
{
	char o[STREAM_ORCPT_MAX + 16];
	size_t pl = 0;

	p[0] = '\0';
	if (!c->dsn)
		return;
	if (rc->notify)
		pl = (size_t)notify_param(p, size, rc->notify);
	if (rc->orcpt)
		snprintf(p + pl, size - pl, " ORCPT=%s", rc->orcpt);
	else if (add_orcpt && !text_has8bit(rc->addr, strlen(rc->addr)) &&
	    xtext_encode(rc->addr, strlen(rc->addr), o, sizeof o) >= 0)
		snprintf(p + pl, size - pl, " ORCPT=rfc822;%s", o);
}

/*
 * What the server does not offer and sluice does not convert: the
 * recipients bounce (1), or 0.
 */
static int
refused_here(struct job *j, const struct conn *c, const struct batch *b)
{
	const struct msg *m = b->m;
	char t[TEXT_MAX + 300], st[8];
	size_t k;

	t[0] = '\0';
	if (m->t.smtputf8 && !c->utf8)
		fmt(t, sizeof t, "5.6.7 SMTPUTF8 is required, but was not "
		    "offered by host %s[%s]", c->name, c->ip_s);
	else if (m->eight && !c->eightbit)
		fmt(t, sizeof t, "5.6.3 the message has 8-bit content, host "
		    "%s[%s] does not offer 8BITMIME, and sluice does not convert "
		    "it", c->name, c->ip_s);
	else if (c->size_max > 0 && b->size > c->size_max)
		fmt(t, sizeof t, "5.3.4 message size %llu exceeds the size "
		    "limit %llu of host %s[%s]", b->size, c->size_max, c->name,
		    c->ip_s);
	if (t[0] == '\0')
		return 0;
	memcpy(st, t, 5);
	st[5] = '\0';
	for (k = 0; k < b->np; k++)
		rcpt_done(j, b->mi, b->P[k], R_BOUNCED, st, t + 6, c, 0);
	return 1;
}

/* MAIL FROM with its parameters, into the output buffer. */
static void
put_mail(struct conn *c, const struct batch *b)
{
	const struct txn *t = &b->m->t;

	conn_printf(c, PH_MAIL, "MAIL FROM:<%s>", t->from ? t->from : "");
	if (c->size_max > 0 || c->esmtp)
		conn_printf(c, PH_MAIL, " SIZE=%llu", b->size);
	if (b->m->eight)
		conn_printf(c, PH_MAIL, " BODY=8BITMIME");
	if (t->smtputf8)
		conn_printf(c, PH_MAIL, " SMTPUTF8");
	if (c->dsn && t->ret != RET_NONE)
		conn_printf(c, PH_MAIL, " RET=%s", t->ret == RET_FULL ? "FULL" : "HDRS");
	if (c->dsn && t->envid)
		conn_printf(c, PH_MAIL, " ENVID=%s", t->envid);
	conn_printf(c, PH_MAIL, "\r\n");
}

/*
 * MAIL, RCPT, and with PIPELINING DATA too, all in one write; then their
 * replies.  0 with b->acc, or -1 when the connection broke.
 */
static int
envelope(struct job *j, struct conn *c, struct batch *b, struct reply *mr)
{
	char p[STREAM_ORCPT_MAX + 64];
	struct reply r;
	size_t k;
	int mail_ok;

	put_mail(c, b);
	if (!c->pipelining && conn_flush(c, PH_MAIL) < 0)
		return -1;
	for (k = 0; k < b->np && c->pipelining; k++) {
		const struct rcpt *rc = &b->m->t.rcpt[b->P[k]];

		rcpt_params(c, rc, 1, p, sizeof p);
		conn_printf(c, PH_RCPT, "RCPT TO:<%s>%s\r\n", rc->addr, p);
	}
	if (c->pipelining) {
		conn_printf(c, PH_DATA_INIT, "DATA\r\n");
		if (conn_flush(c, PH_MAIL) < 0)
			return -1;
	}
	if (conn_reply(c, mr, PH_MAIL, NULL) < 0)
		return -1;
	conn_check421(c, mr);
	mail_ok = mr->code / 100 == 2;
	for (k = 0; k < b->np && (mail_ok || c->pipelining); k++) {
		if (!c->pipelining) {
			const struct rcpt *rc = &b->m->t.rcpt[b->P[k]];

			rcpt_params(c, rc, 0, p, sizeof p);
			if (conn_printf(c, PH_RCPT, "RCPT TO:<%s>%s\r\n", rc->addr,
			    p) < 0 || conn_flush(c, PH_RCPT) < 0)
				return -1;
		}
		if (conn_reply(c, &r, PH_RCPT, NULL) < 0)
			return -1;
		if (!mail_ok)
			continue;
		conn_check421(c, &r);
		if (r.code / 100 == 2) {
			b->acc[k] = 1;
			b->nacc++;
		} else {
			rcpt_outcome(j, b->mi, b->P[k], c, &r, "RCPT TO", 0);
		}
	}
	if (!mail_ok)
		for (k = 0; k < b->np; k++)
			rcpt_outcome(j, b->mi, b->P[k], c, mr, "MAIL FROM", 0);
	return 0;
}

/* The end of data was answered with r: each accepted recipient's outcome. */
static void
data_outcome(struct job *j, struct conn *c, struct batch *b,
    const struct reply *r)
{
	size_t k;

	if (r->code / 100 == 2)
		record_sent(b, c->dsn);
	for (k = 0; k < b->np; k++) {
		if (!b->acc[k])
			continue;
		if (r->code / 100 == 2)
			rcpt_done(j, b->mi, b->P[k], R_SENT, r->status, r->text, c,
			    c->dsn);
		else
			rcpt_outcome(j, b->mi, b->P[k], c, r, "end of DATA",
			    j->s->cf.data554_temp);
	}
}

/*
 * DATA (unless pipelined), the body and the end of data.  0; 1 when the
 * outcomes are set but the connection is no longer usable (a 421); -1
 * when it broke with recipients left pending.
 */
static int
data(struct job *j, struct conn *c, struct batch *b, int mail_ok)
{
	struct reply dr, r;
	size_t k;

	if (!c->pipelining && b->nacc > 0) {
		if (conn_printf(c, PH_DATA_INIT, "DATA\r\n") < 0 ||
		    conn_flush(c, PH_DATA_INIT) < 0)
			return -1;
	}
	if (c->pipelining || b->nacc > 0) {
		if (conn_reply(c, &dr, PH_DATA_INIT, NULL) < 0)
			return -1;
		conn_check421(c, &dr);
	}
	if (b->nacc == 0) {
		/* Nobody to send to; a 354 anyway gets an empty message. */
		if (c->pipelining && dr.code == 354 &&
		    (conn_printf(c, PH_DATA_DONE, ".\r\n") < 0 ||
		    conn_flush(c, PH_DATA_DONE) < 0 ||
		    conn_reply(c, &dr, PH_DATA_DONE, NULL) < 0))
			return -1;
		if (mail_ok)
			session_rset(c);
		return c->broken;
	}
	if (dr.code != 354) {
		for (k = 0; k < b->np; k++)
			if (b->acc[k])
				rcpt_outcome(j, b->mi, b->P[k], c, &dr, "DATA",
				    j->s->cf.data554_temp);
		session_rset(c);
		return c->broken;
	}
	if (send_body(c, j->s->spool_fd, b->m) < 0 ||
	    conn_reply(c, &r, PH_DATA_DONE, NULL) < 0)
		return -1;
	conn_check421(c, &r);
	c->sent++;
	data_outcome(j, c, b, &r);
	return c->broken;
}

/*
 * Deliver message mi's pending recipients for this job over c.  Outcomes
 * go to rcpt_done (final) or rcpt_soft (try the next server).  Returns 0,
 * or -1 when the connection is no longer usable.
 */
int
transfer_msg(struct job *j, struct conn *c, size_t mi)
{
	struct batch b;
	struct reply mr;
	int di = (int)(j->d - j->s->dests), rc;
	size_t k;

	b.m = &j->s->msgs[mi];
	b.mi = mi;
	b.np = b.nacc = 0;
	b.size = b.m->t.has_size && b.m->t.size > b.m->len ? b.m->t.size :
	    b.m->len;
	for (k = 0; k < b.m->t.nrcpt && b.np < STREAM_RCPT_MAX; k++)
		if (b.m->rs[k].dest == di && b.m->rs[k].st == R_PENDING)
			b.P[b.np++] = k;
	if (b.np == 0)
		return 0;
	memset(b.acc, 0, b.np);
	if (refused_here(j, c, &b))
		return 0;
	if (envelope(j, c, &b, &mr) < 0 ||
	    (rc = data(j, c, &b, mr.code / 100 == 2)) < 0)
		goto broken;
	return rc ? -1 : 0;
broken:
	for (k = 0; k < b.np; k++)
		if (b.m->rs[b.P[k]].st == R_PENDING)
			rcpt_soft(&b.m->rs[b.P[k]], "4.4.2", c->err, c);
	return -1;
}
