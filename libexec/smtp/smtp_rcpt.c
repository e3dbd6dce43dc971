/*
 * A recipient's outcome: final ones are logged and reported to the parent
 * (smtp_report.c); soft ones stay pending for the next server.
 */
#include "smtp.h"

#include "log.h"
#include "prog.h"
#include "qid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds since the message arrived (its queue id), else since we started. */
double
rcpt_delay(const struct smtp *s, const struct msg *m)
{
	struct timeval tv;
	const char *id = m->t.xf[XF_IDENT];
	time_t arr = id ? qid_time(id) : 0;

	gettimeofday(&tv, NULL);
	if (arr > 0 && arr <= tv.tv_sec)
		return (double)(tv.tv_sec - arr) + tv.tv_usec / 1e6;
	return (double)(tv.tv_sec - s->t_start.tv_sec) +
	    (tv.tv_usec - s->t_start.tv_usec) / 1e6;
}

/* The log line of recipient ri of m. */
void
rcpt_log(const struct smtp *s, const struct msg *m, size_t ri,
    const char *relay, const char *status, enum rstat st, const char *text)
{
	static const char *const stname[] = { "", "", "sent", "deferred",
		"bounced" };
	const char *id = m->t.xf[XF_IDENT];

	log_info("qid=%s to=<%s> relay=%s delay=%.2f dsn=%s status=%s reply=\"%s\"",
	    id ? id : "-", m->t.rcpt[ri].addr, relay, rcpt_delay(s, m), status,
	    stname[st], text);
}

void
rcpt_set_text(struct rstate *rs, const char *text)
{
	free(rs->text);
	rs->text = xstrdup(text);
}

/* In a worker: a final outcome, logged and reported to the parent. */
void
rcpt_done(struct job *j, size_t mi, size_t ri, enum rstat st,
    const char *status, const char *text, const struct conn *c, int passed)
{
	struct msg *m = &j->s->msgs[mi];
	struct rstate *rs = &m->rs[ri];
	struct report rep;
	char relay[400];

	rs->st = st;
	memset(&rep, 0, sizeof rep);
	rep.msg = mi;
	rep.rcpt = ri;
	rep.st = st;
	rep.passed = passed;
	fmt(rep.status, sizeof rep.status, "%s", status);
	fmt(rep.mta, sizeof rep.mta, "%s", c ? c->name : "");
	fmt(rep.text, sizeof rep.text, "%s", text);
	report_clean(rep.mta);
	report_clean(rep.text);
	if (c != NULL)
		fmt(relay, sizeof relay, "%s[%s]:%u", c->name, c->ip_s, c->port);
	else
		fmt(relay, sizeof relay, "%s", rs->mta ? rs->mta : "none");
	rcpt_log(j->s, m, ri, relay, status, st, rep.text);
	/* A report that cannot be written leaves the recipient unreported:
	 * the parent defers it. */
	if (report_write(&j->rep, &rep) < 0)
		log_warn("unable to report the outcome for <%s>: %s",
		    m->t.rcpt[ri].addr, strerror(errno));
}

/* In a worker: a temporary failure; the recipient stays pending. */
void
rcpt_soft(struct rstate *rs, const char *status, const char *text,
    const struct conn *c)
{
	char relay[400];

	fmt(rs->status, sizeof rs->status, "%s", status);
	rs->status[0] = '4';	/* whatever the server said, we try again */
	rcpt_set_text(rs, text);
	free(rs->mta);
	rs->mta = NULL;
	if (c != NULL) {
		fmt(relay, sizeof relay, "%s[%s]:%u", c->name, c->ip_s, c->port);
		rs->mta = xstrdup(relay);
	}
}

/* Status and reply for a recipient, from a reply: bounce, or soft. */
void
rcpt_outcome(struct job *j, size_t mi, size_t ri, const struct conn *c,
    const struct reply *r, const char *cmd, int temp554)
{
	char t[TEXT_MAX + 300], st[STATUS_MAX];

	conn_said(t, sizeof t, c, r, cmd);
	snprintf(st, sizeof st, "%s", r->status);
	if (r->code >= 500 && !(temp554 && r->code == 554)) {
		rcpt_done(j, mi, ri, R_BOUNCED, st, t, c, 0);
		return;
	}
	rcpt_soft(&j->s->msgs[mi].rs[ri], st, t, c);
}
