/*
 * The tables sluice-alias reads: aliases, and domains and users for what
 * is local.  A table that cannot be read is a temporary failure, so that
 * no message is bounced for the postmaster's mistake.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "local.h"
#include "log.h"
#include "route.h"
#include "sluice-alias.h"

static void
table_fail(const char *name)
{
	die_sys("unable to read table %s", name);
}

const char *
alias_lookup_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

int
alias_lookup_user_known(struct alias *A, const char *addr)
{
	int rc = local_user_known(&A->users, addr, A->delims);

	if (rc < 0)
		table_fail("users");
	return rc;
}

int
alias_lookup_domain_local(struct alias *A, const char *dom)
{
	int rc = local_domain(&A->domains, dom);

	if (rc < 0)
		table_fail("domains");
	return rc;
}

static int
get(struct alias *A, const char *key, char *val, size_t vsz)
{
	int rc = table_get(&A->aliases, key, val, vsz);

	if (rc < 0)
		table_fail("aliases");
	return rc;
}

/* The bare local part of addr (the /etc/aliases form). */
static int
get_bare(struct alias *A, const char *addr, char *val, size_t vsz)
{
	char key[ADDR_PATH_MAX + 1];
	const char *at = strrchr(addr, '@');

	snprintf(key, sizeof key, "%.*s", (int)(at ? (size_t)(at - addr) :
	    strlen(addr)), addr);
	return get(A, key, val, vsz);
}

/* The domain aliases of dom: @domain, then @.parent for each parent. */
static int
get_domain(struct alias *A, const char *dom, char *val, size_t vsz)
{
	char key[ADDR_PATH_MAX + 2];
	const char *d;

	snprintf(key, sizeof key, "@%s", dom);
	if (get(A, key, val, vsz))
		return 1;
	if (dom[0] == '[')
		return 0;
	for (d = strchr(dom, '.'); d != NULL; d = strchr(d + 1, '.')) {
		snprintf(key, sizeof key, "@%s", d);
		if (get(A, key, val, vsz))
			return 1;
	}
	return 0;
}

/*
 * The alias of addr, in the order of sluice-aliases(5): local@domain,
 * base@domain, local@, base@ (base is the local part without its detail),
 * the bare local and base (/etc/aliases names: in local domains only),
 * then, unless addr is a user of table users, @domain and @.parent.
 * Returns 1 with val filled, 0 when addr is no alias.
 */
int
alias_lookup_find(struct alias *A, const char *addr, char *val, size_t vsz)
{
	char base[ADDR_PATH_MAX + 1], key[ADDR_PATH_MAX + 2];
	const char *at = strrchr(addr, '@');
	const char *dom = alias_lookup_domain_of(addr);
	int has_base = route_base_addr(addr, A->delims, base, sizeof base);
	size_t ll = at ? (size_t)(at - addr) : strlen(addr);

	if (get(A, addr, val, vsz) || (has_base && get(A, base, val, vsz)))
		return 1;
	snprintf(key, sizeof key, "%.*s@", (int)ll, addr);
	if (get(A, key, val, vsz))
		return 1;
	if (has_base) {
		snprintf(key, sizeof key, "%.*s@", (int)strcspn(base, "@"), base);
		if (get(A, key, val, vsz))
			return 1;
	}
	if (*dom == '\0')
		return 0;
	if (alias_lookup_domain_local(A, dom) && (get_bare(A, addr, val, vsz) ||
	    (has_base && get_bare(A, base, val, vsz))))
		return 1;
	if (alias_lookup_user_known(A, addr))
		return 0;
	return get_domain(A, dom, val, vsz);
}
