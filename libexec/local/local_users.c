/*
 * One local recipient: is it ours, does it loop, which mailbox the users
 * table gives it (a Maildir, an mbox, a system user's), or which command
 * or file its route names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "fmt.h"
#include "local.h"
#include "route.h"
#include "sluice-local.h"
#include "stream.h"

/*
 * Whether the recipient is ours: X-ROUTE=local, pipe: or file: (whatever
 * the domain), or no route and a local domain.
 */
int
local_users_is_local(struct local *L, const struct rcpt *r, const struct addr *a,
    int parsed)
{
	const char *route = xparam_get(r->x, r->nx, "X-ROUTE");
	char val[16];

	if (route != NULL)
		return strcasecmp(route, "local") == 0 ||
		    strncasecmp(route, "local:", 6) == 0 ||
		    strncasecmp(route, "pipe:", 5) == 0 ||
		    strncasecmp(route, "file:", 5) == 0;
	if (!parsed)
		return 0;
	if (a->domain[0] == '\0')
		return 1;
	if (a->literal)
		return 0;
	return table_lookup_domain(&L->domains, a->domain, val, sizeof val) == 1;
}

/* A system user's mailbox: only the privileged part can write it. */
static void
deliver_system(struct local *L, const char *name, const struct copy *c,
    struct result *res)
{
	if (L->priv_fd < 0)
		return local_result_set(res, 4, "4.3.0", "delivery to system user "
		    "%s needs root, and sluice-local was started unprivileged "
		    "(uid %lu)", name, (unsigned long)getuid());
	local_priv_deliver(L, PRIV_SYSTEM, name, c, res);
}

/* The mailbox of a users table entry: a path, or the system user's. */
static void
deliver_mailbox(struct local *L, const char *key, const char *val,
    const struct copy *c, struct result *res)
{
	char box[BOX_MAX + BOX_MAX];

	if (strncmp(val, "system:", 7) == 0)
		return deliver_system(L, val + 7, c, res);
	if (val[0] == '\0')
		return local_result_set(res, 4, "4.3.0", "empty mailbox for %s in "
		    "table users", key);
	if ((val[0] == '/' ? fmt_path(box, sizeof box, "%s", val) :
	    fmt_path(box, sizeof box, "%s/%s", L->mailroot, val)) < 0)
		return local_result_set(res, 4, "4.3.5", "mailbox name too long "
		    "for %s in table users", key);
	local_box_deliver(L, box, c, 0, res);
}

/* Deliver one local recipient. */
void
local_users_deliver(struct local *L, const struct txn *t, const struct rcpt *r,
    const struct addr *a, struct result *res)
{
	char key[ADDR_PATH_MAX + 8], val[BOX_MAX];
	const struct copy c = { t->from, r->addr, r->orcpt };
	struct route rt;
	const char *err;
	int rc;

	addr_format(a, key, sizeof key);
	if (strset_has(&L->loops, r->addr))
		return local_result_set(res, 5, "5.4.6", "mail forwarding loop for "
		    "%s: the message already has Delivered-To: %s", r->addr, r->addr);
	/* pipe: and file: come from the aliases (or routes) table only. */
	if ((rc = route_get(r, &rt, &err)) < 0)
		return local_result_set(res, 4, "4.3.5", "invalid X-ROUTE: %s", err);
	/* Started as root: they run as default_privs, from the privileged part. */
	if (rc == 1 && (rt.ch == ROUTE_PIPE || rt.ch == ROUTE_FILE) && L->priv_fd >= 0)
		return local_priv_deliver(L, rt.ch == ROUTE_PIPE ? PRIV_PIPE :
		    PRIV_FILE, rt.arg, &c, res);
	if (rc == 1 && rt.ch == ROUTE_PIPE)
		return local_pipe_deliver(L, rt.arg, &c, res);
	if (rc == 1 && rt.ch == ROUTE_FILE)
		return local_pipe_file(L, rt.arg, &c, res);
	/* bob+list@ is bob's mailbox; Delivered-To keeps the whole address. */
	rc = local_user(&L->users, key, L->delims, val, sizeof val);
	if (rc < 0) {
		const char *why = strerror(errno);

		local_result_set(res, 4, "4.3.0", "unable to read table %s: %s",
		    L->users.path, why);
		return local_result_public(res, "unable to read table users: %s", why);
	}
	if (rc == 0) {
		/* RFC 5321 4.5.1: postmaster must work for every local domain. */
		if (!addr_is_postmaster(a))
			return local_result_set(res, 5, "5.1.1", "no such user here: %s",
			    key);
		snprintf(val, sizeof val, "postmaster/");
	}
	deliver_mailbox(L, key, val, &c, res);
}
