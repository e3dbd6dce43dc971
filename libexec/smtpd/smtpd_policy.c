/*
 * Policy: which clients may talk (the access table), how many sessions
 * one client may hold, and which recipients are accepted (local ones that
 * exist; others only from relay clients).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "route.h"
#include "slot.h"
#include "smtpd.h"
#include "table.h"

/*
 * The access table, keyed by the client's address, then by ever shorter
 * prefixes of whole components: 192.0.2.7, 192.0.2, 192.0, 192.
 * Returns "relay", "reject", or NULL.
 */
const char *
smtpd_policy_access(struct session *s)
{
	struct table t;
	char key[INET6_ADDRSTRLEN + 8], *p, *val = s->lookup_val;
	char sep = strchr(s->addr, ':') ? ':' : '.';
	const char *verdict = NULL;
	int rc = 0;

	if (strlen(s->addr) >= sizeof key)
		return NULL;
	if (table_open(&t, "access") < 0) {
		log_warn("unable to open table access: %s", strerror(errno));
		return NULL;
	}
	strcpy(key, s->addr);
	for (;;) {
		rc = table_get(&t, key, val, sizeof s->lookup_val);
		if (rc != 0 || (p = strrchr(key, sep)) == NULL)
			break;
		*p = '\0';
	}
	if (rc < 0)
		log_warn("unable to read table access: %s", strerror(errno));
	if (rc == 1) {
		if (strncasecmp(val, "relay", 5) == 0)
			verdict = "relay";
		else if (strncasecmp(val, "reject", 6) == 0)
			verdict = "reject";
		else
			log_warn("table access: unknown value for %s: %.40s", key, val);
	}
	table_close(&t);
	return verdict;
}

/*
 * One of the client's smtpd_client_connection_limit session slots, shared
 * through lock files in the spool (lib/slot.h), or 421.  Relay clients
 * are trusted and not counted, as Postfix exempts $mynetworks.  A slot
 * folder that cannot be used costs the limit, not the mail: logged, and
 * the session goes on.
 */
void
smtpd_policy_slot(struct session *s)
{
	char dir[4096];
	int rc;

	if (s->client_limit == 0)
		return;
	rc = snprintf(dir, sizeof dir, "%s/smtpd", conf_spool());
	if (rc < 0 || (size_t)rc >= sizeof dir) {
		log_warn("client=%s spool path too long for the session slots", s->addr);
		return;
	}
	rc = slot_take(&s->slot, dir, s->addr, s->client_limit);
	if (rc < 0)
		log_warn("client=%s unable to take a session slot in %s: %s",
		    s->addr, dir, strerror(errno));
	if (rc != 0)
		return;
	smtpd_reply(s, RP_TOO_MANY_CONN);
	log_info("client=%s event=reject reason=connection_limit limit=%u",
	    s->addr, s->client_limit);
	smtpd_session_exit(s, EXIT_TEMP);
}

/* Table lookup where a value that fits nowhere still counts as found. */
static int
found(int rc)
{
	return rc == 1 || (rc < 0 && errno == EOVERFLOW) ? 1 : rc;
}

/* In users, else in aliases: 1, 0, or -1 when a table cannot be read. */
static int
rcpt_known(struct session *s, const char *addr)
{
	int rc;

	rc = found(table_lookup_addr(&s->users, addr, s->lookup_val,
	    sizeof s->lookup_val, NULL, 0));
	if (rc == 0)
		rc = found(table_lookup_addr(&s->aliases, addr, s->lookup_val,
		    sizeof s->lookup_val, NULL, 0));
	return rc;
}

/*
 * Recipient policy: a local domain's recipients must exist (users, then
 * aliases; postmaster always); other domains only for relay clients.
 */
enum reply_id
smtpd_policy_rcpt(struct session *s, const struct addr *a, const char *full)
{
	char base[ADDR_PATH_MAX + 1];
	int rc;

	if (a->domain[0] == '\0')	/* <postmaster>, checked by the caller */
		return RP_RCPT_OK;
	rc = found(table_lookup_domain(&s->domains, a->domain, s->lookup_val,
	    sizeof s->lookup_val));
	if (rc < 0)
		return RP_LOOKUP_FAIL;
	if (rc == 0)
		return s->relay ? RP_RCPT_OK : RP_RELAY_DENIED;
	if (addr_is_postmaster(a))
		return RP_RCPT_OK;
	rc = rcpt_known(s, full);
	/* user+detail: known when the user is, as the delivery stages see it. */
	if (rc == 0 && route_base_addr(full, conf_get("recipient_delimiter", "+"),
	    base, sizeof base))
		rc = rcpt_known(s, base);
	return rc < 0 ? RP_LOOKUP_FAIL : rc == 1 ? RP_RCPT_OK : RP_NO_USER;
}
