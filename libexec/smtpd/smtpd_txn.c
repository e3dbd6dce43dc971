/*
 * The transaction's envelope: MAIL and RCPT with their parameters, the
 * sender checked by the access rules and limits at MAIL time, each
 * recipient by the policy at RCPT time, and the reset that RSET,
 * HELO/EHLO and the end of DATA make.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dsn.h"
#include "log.h"
#include "smtpd.h"
#include "stream.h"
#include "param.h"
#include "text.h"

void
smtpd_txn_reset(struct session *s)
{
	txn_free(&s->t);
	s->have_mail = 0;
}

/*
 * Split "FROM:<path> params" (prefix "FROM:" or "TO:") into the path's
 * content and the parameters.  Returns 0, or -1 on a syntax error.
 */
static int
path_split(char *arg, const char *prefix, const char **path, size_t *pl,
    const char **params, size_t *parl)
{
	size_t k = strlen(prefix), n;
	long e;

	if (strncasecmp(arg, prefix, k) != 0)
		return -1;
	arg += k;
	while (*arg == ' ')
		arg++;
	n = strlen(arg);
	if (n == 0 || arg[0] != '<' || (e = addr_path_end(arg, n)) < 0)
		return -1;
	if (arg[e + 1] != '\0' && arg[e + 1] != ' ')
		return -1;
	*path = arg + 1;
	*pl = (size_t)e - 1;
	*params = arg + e + 1;
	*parl = n - (size_t)e - 1;
	return 0;
}

/* The parameters of MAIL (r NULL) or RCPT; 0, or -1 when answered. */
static int
params_check(struct session *s, struct rcpt *r, const char *p, size_t n)
{
	const char *err;
	int code;

	if (n > 0 && s->helo != HELO_ESMTP) {
		smtpd_reply(s, RP_PARAM_NO_EHLO);
		return -1;
	}
	if (param_parse(&s->t, r, p, n, r != NULL, &err, &code) < 0) {
		smtpd_reply(s, code == 451 ? RP_LOCAL_ERROR :
		    code == 555 ? RP_PARAM_UNKNOWN : RP_PARAM_SYNTAX);
		return -1;
	}
	/*
	 * The private X- parameters steer later stages (routes, retries): no
	 * client may set them.  AUTH= only where AUTH is offered; its value
	 * is ours to set (smtpd_auth_mail).
	 */
	if ((r != NULL && r->nx > 0) || (r == NULL && (s->t.nx > 0 ||
	    (s->t.auth && !(s->auth_offer && s->tls))))) {
		smtpd_reply(s, RP_PARAM_UNKNOWN);
		return -1;
	}
	return 0;
}

void
smtpd_txn_mail(struct session *s, char *arg)
{
	const char *p, *par;
	size_t pl, parl;
	struct addr a;
	struct addr_err e;
	char fmt[ADDR_PATH_MAX + 8];

	if (path_split(arg, "FROM:", &p, &pl, &par, &parl) < 0) {
		smtpd_reply(s, RP_MAIL_SYNTAX);
		return;
	}
	if (s->helo == HELO_NONE) {
		smtpd_reply(s, RP_NEED_HELO);
		return;
	}
	if (s->have_mail) {
		smtpd_reply(s, RP_NESTED_MAIL);
		return;
	}
	txn_free(&s->t);
	if (params_check(s, NULL, par, parl) < 0 || smtpd_auth_mail(s) < 0 ||
	    smtpd_limit_check(s) < 0) {
		txn_free(&s->t);
		return;
	}
	if (addr_parse(p, pl, ADDR_NULL_OK | (s->t.smtputf8 ? ADDR_UTF8 : 0),
	    &a, &e) < 0) {
		smtpd_reply(s, !s->t.smtputf8 && text_has8bit(p, pl) ?
		    RP_NEED_UTF8 : RP_BAD_SENDER);
		txn_free(&s->t);
		return;
	}
	if (s->size_limit && s->t.has_size && s->t.size > s->size_limit) {
		smtpd_reply(s, RP_TOO_BIG);
		txn_free(&s->t);
		return;
	}
	/* Normal form may be longer than what was parsed: never cut it. */
	if (addr_format(&a, fmt, sizeof fmt) >= sizeof fmt) {
		smtpd_reply(s, RP_BAD_SENDER);
		txn_free(&s->t);
		return;
	}
	/* The access rules, then the rate: a refused MAIL is not counted. */
	if (smtpd_access_mail(s) < 0 || smtpd_sender_mail(s, &a, fmt) < 0 ||
	    smtpd_limits_mail(s) < 0) {
		txn_free(&s->t);
		return;
	}
	if (txn_set_from(&s->t, fmt) < 0) {
		smtpd_reply(s, RP_LOCAL_ERROR);
		txn_free(&s->t);
		return;
	}
	s->have_mail = 1;
	smtpd_reply(s, RP_SENDER_OK);
}

/*
 * The recipient as the stream gets it, in the form recipients are
 * compared by (rcpt_key): <postmaster> without a domain, which RFC 5321
 * 4.5.1 makes this host's postmaster, is the postmaster setting (see
 * sluice-smtpd(8)), so that it never gets a foreign domain downstream.
 * fmt is a in normal form (addr_format).  Returns a string to free, or
 * NULL when out of memory.
 */
static char *
rcpt_address(const struct addr *a, const char *fmt)
{
	if (a->domain[0] == '\0')
		return rcpt_key(dsn_postmaster());
	return rcpt_key(fmt);
}

/*
 * Add the recipient, or answer why not.  A duplicate (same key) is kept
 * once, with the first one's parameters, and answered 250 as Postfix
 * does: a client that lists an address twice has done nothing wrong.
 * The key is freed as soon as the transaction has its copy: a reply may
 * end the session (too many errors), and nothing of ours is held then.
 */
static void
rcpt_add(struct session *s, const struct addr *a, const char *fmt,
    const char *par, size_t parl)
{
	struct rcpt *r;
	enum reply_id verdict;
	char *key = rcpt_address(a, fmt);

	r = key != NULL ? txn_add_rcpt(&s->t, key) : NULL;
	free(key);
	if (r == NULL) {
		smtpd_reply(s, RP_LOCAL_ERROR);
		return;
	}
	if (params_check(s, r, par, parl) < 0) {
		txn_del_rcpt(&s->t, s->t.nrcpt - 1);
		return;
	}
	if (txn_find_rcpt(&s->t, r->addr, s->t.nrcpt - 1) >= 0) {
		log_info("client=%s event=duplicate to=<%s>", s->addr, r->addr);
		txn_del_rcpt(&s->t, s->t.nrcpt - 1);
		smtpd_reply(s, RP_RCPT_OK);
		return;
	}
	verdict = smtpd_policy_rcpt(s, a, r->addr);
	if (verdict != RP_RCPT_OK) {
		log_info("client=%s event=reject to=<%s> reply=\"%d %.5s\"", s->addr,
		    r->addr, smtpd_reply_code(verdict), smtpd_reply_text(verdict));
		txn_del_rcpt(&s->t, s->t.nrcpt - 1);
	}
	smtpd_reply(s, verdict);
	/* Address guessing: refused recipients count as errors too. */
	if (smtpd_reply_code(verdict) >= 500)
		smtpd_session_error(s);
}

void
smtpd_txn_rcpt(struct session *s, char *arg)
{
	const char *p, *par;
	size_t pl, parl;
	struct addr a;
	struct addr_err e;
	char fmt[ADDR_PATH_MAX + 8];

	if (path_split(arg, "TO:", &p, &pl, &par, &parl) < 0) {
		smtpd_reply(s, RP_RCPT_SYNTAX);
		return;
	}
	if (!s->have_mail) {
		smtpd_reply(s, RP_NEED_MAIL);
		return;
	}
	if (s->t.nrcpt >= s->max_rcpt) {
		smtpd_reply(s, RP_TOO_MANY_RCPT);
		return;
	}
	if (addr_parse(p, pl, ADDR_UNQUAL_OK | (s->t.smtputf8 ? ADDR_UTF8 : 0),
	    &a, &e) < 0) {
		if (!s->t.smtputf8 && text_has8bit(p, pl)) {
			smtpd_reply(s, RP_NEED_UTF8);
			smtpd_session_error(s);
		} else
			smtpd_reply(s, RP_BAD_RCPT);
		return;
	}
	/* RFC 5321 4.1.1.3: only <postmaster> may come without a domain. */
	if ((a.domain[0] == '\0' && !addr_is_postmaster(&a)) ||
	    addr_format(&a, fmt, sizeof fmt) >= sizeof fmt) {
		smtpd_reply(s, RP_BAD_RCPT);
		return;
	}
	if (smtpd_access_rcpt(s) < 0 || smtpd_limits_rcpt(s) < 0)
		return;
	rcpt_add(s, &a, fmt, par, parl);
}
