/*
 * Limits per client, with counters shared by all sessions through files
 * in the spool and no daemon: sessions at once per address and per
 * network (the /24 of an IPv4 address, the /64 of an IPv6 one) as
 * flock(2)ed slots (lib/slot.h, spool/smtpd/), messages and recipients
 * per time window (lib/rate.h, spool/smtpd/rate/), and a delay that grows
 * with each protocol error of a session.  Relay clients (Postfix's
 * $mynetworks) are not limited, but for the error delay.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "rate.h"
#include "slot.h"
#include "smtpd.h"

/* spool/smtpd, or spool/smtpd/rate: 0, or -1 (logged). */
static int
limits_dir(struct session *s, const char *sub, char *dir, size_t size)
{
	int rc = snprintf(dir, size, "%s/smtpd%s", conf_spool(), sub);

	if (rc < 0 || (size_t)rc >= size) {
		log_warn("client=%s spool path too long for the client limits", s->addr);
		return -1;
	}
	return 0;
}

/*
 * The key of the client's network: "192.0.2.0_24" or "2001:db8:1:2::_64"
 * (a slot key has no '/').  0, or -1 when the address is nobody's.
 */
static int
net_key(const struct session *s, char *key, size_t size)
{
	struct cidr_addr a;
	char buf[CIDR_ADDR_STRLEN];
	unsigned bits;

	if (cidr_addr_parse(s->addr, &a) < 0)
		return -1;
	bits = cidr_is_v4(&a) ? 24 : 64;
	cidr_mask(&a, bits);
	snprintf(key, size, "%s_%u", cidr_ntop(&a, buf, sizeof buf), bits);
	return 0;
}

/*
 * Take one of limit slots of key, or answer id (421) and end the session.
 * A slot folder that cannot be used costs the limit, not the mail:
 * logged, and the session goes on.
 */
static void
take(struct session *s, struct slot *sl, const char *key, unsigned limit,
    enum reply_id id, const char *why)
{
	char dir[4096];
	int rc;

	if (limit == 0 || limits_dir(s, "", dir, sizeof dir) < 0)
		return;
	rc = slot_take(sl, dir, key, limit);
	if (rc < 0)
		log_warn("client=%s unable to take a session slot in %s: %s",
		    s->addr, dir, strerror(errno));
	if (rc != 0)
		return;
	smtpd_reply(s, id);
	log_info("client=%s event=reject reason=%s limit=%u", s->addr, why, limit);
	smtpd_session_exit(s, EXIT_TEMP);
}

/* The client's session slots: its address's, then its network's. */
void
smtpd_limits_connect(struct session *s)
{
	char key[SLOT_KEY_MAX + 1];

	if (s->relay)
		return;
	take(s, &s->slot, s->addr, s->client_limit, RP_TOO_MANY_CONN,
	    "connection_limit");
	if (net_key(s, key, sizeof key) == 0)
		take(s, &s->net_slot, key, s->ac.net_limit, RP_TOO_MANY_NET_CONN,
		    "net_connection_limit");
}

/*
 * Count one event of counter which for the client within limit: 1
 * counted, 0 over the limit.  A counter that cannot be kept is logged
 * and does not refuse mail.  Now and then the files of clients gone
 * quiet are removed.
 */
static int
count(struct session *s, unsigned which, unsigned long limit)
{
	char dir[4096];
	int rc;

	if (limit == 0 || s->relay || limits_dir(s, "/rate", dir, sizeof dir) < 0)
		return 1;
	rc = rate_add(dir, s->addr, s->ac.rate_window, which, limit);
	if (rc < 0) {
		log_warn("client=%s unable to count in %s: %s", s->addr, dir,
		    strerror(errno));
		return 1;
	}
	/* About one session in 256 sweeps (pids run in turn): a small cost. */
	if ((getpid() & 0xff) == 0)
		(void)rate_sweep(dir, 2 * s->ac.rate_window);
	return rc;
}

/* MAIL: messages per window.  0, or -1 when answered. */
int
smtpd_limits_mail(struct session *s)
{
	if (count(s, 0, s->ac.msg_rate))
		return 0;
	smtpd_reply(s, RP_MSG_RATE);
	log_info("client=%s event=tempfail reason=message_rate limit=%lu window=%ld",
	    s->addr, s->ac.msg_rate, s->ac.rate_window);
	return -1;
}

/* RCPT: recipients per window, counted whether accepted or not. */
int
smtpd_limits_rcpt(struct session *s)
{
	if (count(s, 1, s->ac.rcpt_rate))
		return 0;
	smtpd_reply(s, RP_RCPT_RATE);
	log_info("client=%s event=tempfail reason=recipient_rate limit=%lu window=%ld",
	    s->addr, s->ac.rcpt_rate, s->ac.rate_window);
	return -1;
}

/*
 * The tarpit: after smtpd_error_delay_after errors, the reply to each
 * further one waits smtpd_error_delay more than the last (1 s, 2 s, 3 s,
 * ...), up to smtpd_error_delay_max, so that a client guessing addresses
 * or speaking nonsense slows down while a client with a typo does not.
 * Never past the session's time limit.
 */
void
smtpd_limits_error_delay(struct session *s)
{
	const struct access_conf *c = &s->ac;
	long long ms, left;

	if (c->error_delay == 0 || s->errors <= c->error_delay_after)
		return;
	ms = c->error_delay * (long long)(s->errors - c->error_delay_after);
	if (ms > c->error_delay_max)
		ms = c->error_delay_max;
	if (s->session_end != 0) {
		left = s->session_end - clock_now_ms();
		if (left < ms)
			ms = left > 0 ? left : 0;
	}
	if (ms > 0)
		(void)poll(NULL, 0, (int)ms);
}
