/*
 * Policy: which recipients are accepted (local ones that exist; others
 * only from relay clients: by address, RELAYCLIENT, or authenticated).
 * Who may connect is smtpd_access.c's; how often, smtpd_limits.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "route.h"
#include "smtpd.h"
#include "table.h"

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
		return s->relay || s->authenticated ? RP_RCPT_OK : RP_RELAY_DENIED;
	if (addr_is_postmaster(a))
		return RP_RCPT_OK;
	rc = rcpt_known(s, full);
	/* user+detail: known when the user is, as the delivery stages see it. */
	if (rc == 0 && route_base_addr(full, conf_get("recipient_delimiter", "+"),
	    base, sizeof base))
		rc = rcpt_known(s, base);
	return rc < 0 ? RP_LOOKUP_FAIL : rc == 1 ? RP_RCPT_OK : RP_NO_USER;
}
