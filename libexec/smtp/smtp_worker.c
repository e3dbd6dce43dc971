/*
 * A worker: the child process that delivers one destination's share of
 * messages.  It resolves the destination, then tries its servers in turn,
 * sending every message still pending over one session per server (a new
 * one after the destination's reuse limit), and reports each recipient's
 * final outcome to the parent as it is known.
 */
#include "smtp.h"

#include "log.h"
#include "prog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
msg_pending(const struct job *j, size_t mi)
{
	const struct msg *m = &j->s->msgs[mi];
	int di = (int)(j->d - j->s->dests);
	size_t k;

	for (k = 0; k < m->t.nrcpt; k++)
		if (m->rs[k].dest == di && m->rs[k].st == R_PENDING)
			return 1;
	return 0;
}

/* Give every pending recipient of messages [from, nm) this soft error. */
static void
soft_all(struct job *j, size_t from, const char *status, const char *text)
{
	int di = (int)(j->d - j->s->dests);
	size_t i, k;

	for (i = from; i < j->nm; i++) {
		struct msg *m = &j->s->msgs[j->m[i]];

		for (k = 0; k < m->t.nrcpt; k++)
			if (m->rs[k].dest == di && m->rs[k].st == R_PENDING)
				rcpt_soft(&m->rs[k], status, text, NULL);
	}
}

/*
 * Every recipient still pending gets st: a deferred one with its own last
 * soft error when it has one, else with status and text.
 */
static void
finish_all(struct job *j, enum rstat st, const char *status, const char *text)
{
	int di = (int)(j->d - j->s->dests);
	size_t i, k;

	for (i = 0; i < j->nm; i++) {
		struct msg *m = &j->s->msgs[j->m[i]];

		for (k = 0; k < m->t.nrcpt; k++) {
			struct rstate *rs = &m->rs[k];

			if (rs->dest != di || rs->st != R_PENDING)
				continue;
			if (st == R_DEFERRED && rs->text != NULL)
				rcpt_done(j, j->m[i], k, st, rs->status, rs->text, NULL, 0);
			else
				rcpt_done(j, j->m[i], k, st, status, text, NULL, 0);
		}
	}
}

/* A session with target ti: 0 open, -1 not (with status and err). */
static int
open_target(struct job *j, size_t ti, struct conn *c, char *status, char *err,
    size_t errsz)
{
	int rc;

	rc = session_open(j, &j->t[ti], c, status, err, errsz);
	if (rc == -2) {	/* opportunistic TLS failed: once more in the clear */
		log_info("qid=- relay=%s[%s]:%u status=tls-failed reason=\"%s\" "
		    "retry=clear", j->t[ti].name, c->ip_s, j->t[ti].port, err);
		rc = session_open(j, &j->t[ti], c, status, err, errsz);
	}
	j->tried++;
	j->dead += rc < 0 && c->dead;
	j->slow += rc < 0 && c->slow;
	if ((rc == 0 || !c->dead) && j->answered++ == 0 &&
	    unreach_forget(&j->s->unreach, j->d->key) == 1)
		log_info("qid=- dest=%s status=reachable", j->d->key);
	if (rc < 0)
		log_info("qid=- relay=%s[%s]:%u status=unreachable reason=\"%s\"",
		    j->t[ti].name, c->ip_s, j->t[ti].port, err);
	return rc < 0 ? -1 : 0;
}

/* Whether any of the job's messages still waits. */
static int
job_pending(const struct job *j)
{
	size_t i;

	for (i = 0; i < j->nm; i++)
		if (msg_pending(j, j->m[i]))
			return 1;
	return 0;
}

/*
 * The end of a session that is still good: into the cache for the next
 * run when every message is done here, else QUIT.
 */
static void
release(struct job *j, struct conn *c)
{
	if (job_pending(j))
		session_quit(c);
	else
		cache_hold(j, c);
}

/*
 * The pending messages over a session taken from the cache, up to its
 * messages per connection.  What it leaves pending (it broke) goes the
 * usual way, to the destination's servers.
 */
static void
try_cached(struct job *j, struct conn *c)
{
	size_t i;

	for (i = 0; i < j->nm; i++) {
		if (!msg_pending(j, j->m[i]))
			continue;
		if (c->sent >= j->d->o.reuse)
			break;
		if (transfer_msg(j, c, j->m[i]) < 0) {
			conn_close(c);
			return;
		}
		if (wbuf_flush(&j->rep) < 0)
			_exit(EXIT_TEMP);
	}
	release(j, c);
	wbuf_flush(&j->rep);
}

/* The pending messages over target ti, reusing its session. */
static void
try_target(struct job *j, size_t ti, size_t i, char *status, char *err,
    size_t errsz)
{
	struct conn c;
	int open = 0;

	for (; i < j->nm; i++) {
		if (!msg_pending(j, j->m[i]))
			continue;
		if (open && c.sent >= j->d->o.reuse) {
			session_quit(&c);
			open = 0;
		}
		if (!open) {
			if (open_target(j, ti, &c, status, err, errsz) < 0) {
				soft_all(j, i, status, err);
				break;
			}
			open = 1;
		}
		if (transfer_msg(j, &c, j->m[i]) < 0) {
			conn_close(&c);
			open = 0;
			break;
		}
		if (wbuf_flush(&j->rep) < 0)
			_exit(EXIT_TEMP);
	}
	if (open)
		release(j, &c);
	wbuf_flush(&j->rep);
}

/* Remember the destination as unreachable in lib/unreach. */
static void
remember(struct job *j, const char *why)
{
	int rc = unreach_record(&j->s->unreach, j->d->key, why);

	if (rc == 0)
		log_info("qid=- dest=%s status=unreachable remembered=%llds "
		    "reason=\"%s\"", j->d->key, j->s->unreach.ttl, why);
	else if (rc < 0)
		log_warn("unable to remember %s as unreachable in %s: %s",
		    j->d->key, j->s->unreach.dir, strerror(errno));
}

void
worker_run(struct job *j)
{
	char status[STATUS_MAX], err[TEXT_MAX], v[64];
	struct conn c;
	size_t ti, i;

	j->tls_level = settings_tls_level(j->s->cf.tls_level);
	if (table_lookup_domain(&j->s->tls, j->d->host, v, sizeof v) == 1)
		j->tls_level = settings_tls_level(v);
	if (cache_take(j, &c) == 1) {
		try_cached(j, &c);
		if (!job_pending(j))
			return;
	}
	if (resolve_dest(j, j->d, status, err, sizeof err) < 0) {
		finish_all(j, status[0] == '5' ? R_BOUNCED : R_DEFERRED, status, err);
		return;
	}
	snprintf(status, sizeof status, "4.4.1");
	fmt(err, sizeof err, "no server of %s could be reached", j->d->host);
	for (ti = 0; ti < j->nt; ti++) {
		for (i = 0; i < j->nm && !msg_pending(j, j->m[i]); i++)
			;
		if (i == j->nm)
			break;
		try_target(j, ti, i, status, err, sizeof err);
	}
	/*
	 * Every server failed before a session, one at least by a timeout:
	 * remember it, so that the next runs do not wait for it again.
	 * Refused connections cost no time and are not remembered.
	 */
	if (j->tried > 0 && j->dead == j->tried && j->slow > 0)
		remember(j, err);
	finish_all(j, R_DEFERRED, status, err);
}
