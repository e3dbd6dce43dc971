#ifndef LOCAL_H
#define LOCAL_H

/*
 * Questions about local recipients, asked the same way by every stage
 * that routes or expands them: is it the postmaster, does table users
 * know it (with or without its +detail), is its domain one of table
 * domains.  Lookups return 1 or 0, and -1 on a read error of the table
 * (errno set), which the caller reports.
 */

#include "table.h"

/* Whether the local part of addr (with or without a domain) is postmaster. */
int local_is_postmaster(const char *addr);
/*
 * Whether addr has a mailbox in users: the whole address, then its base
 * address (route_base_addr() with the delimiters delims).  On 1 the
 * mailbox is in val.
 */
int local_user(struct table *users, const char *addr, const char *delims,
    char *val, size_t vsz);
/* local_user() without the mailbox. */
int local_user_known(struct table *users, const char *addr, const char *delims);
/*
 * Whether dom is in domains: an address literal "[...]" exactly, a name
 * with its parents (table_lookup_domain()).  "" (an unqualified address)
 * is local.
 */
int local_domain(struct table *domains, const char *dom);

#endif
