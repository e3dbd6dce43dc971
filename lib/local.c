#include <string.h>
#include <strings.h>

#include "addr.h"
#include "local.h"
#include "route.h"

int
local_is_postmaster(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);

	return n == 10 && strncasecmp(addr, "postmaster", 10) == 0;
}

int
local_user(struct table *users, const char *addr, const char *delims,
    char *val, size_t vsz)
{
	/* A base address is shorter than the address it comes from. */
	char base[ADDR_PATH_MAX + 8];
	int rc;

	rc = table_lookup_addr(users, addr, val, vsz, NULL, 0);
	if (rc == 0 && route_base_addr(addr, delims, base, sizeof base))
		rc = table_lookup_addr(users, base, val, vsz, NULL, 0);
	return rc;
}

int
local_user_known(struct table *users, const char *addr, const char *delims)
{
	char val[TABLE_VAL_MAX];

	return local_user(users, addr, delims, val, sizeof val);
}

int
local_domain(struct table *domains, const char *dom)
{
	char val[TABLE_VAL_MAX];

	if (*dom == '\0')
		return 1;
	return dom[0] == '[' ? table_get(domains, dom, val, sizeof val) :
	    table_lookup_domain(domains, dom, val, sizeof val);
}
