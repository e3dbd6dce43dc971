#ifndef TABLE_H
#define TABLE_H

/*
 * Lookups in constant databases compiled by sluice-mkcdb(1).  Keys are
 * stored lowercased.  An address is looked up in this order, the first
 * hit winning:
 *   1. the whole address, local@domain
 *   2. local@            (the user in any domain)
 *   3. @domain           (catch-all for the domain)
 *   4. @.parent.domain   (each parent of the domain, nearest first)
 * A domain alone (table_lookup_domain) is looked up as the domain, then
 * as each parent with a leading dot: ".example.org" matches every
 * subdomain of example.org but not example.org itself.
 * A table whose .cdb does not exist is empty.
 */

#include <cdb.h>
#include <stddef.h>

#define TABLE_KEY_MAX 1024
#define TABLE_VAL_MAX 65536

struct table {
	struct cdb cdb;
	int fd;		/* -1 when the table is absent (empty) */
	char path[4096];
};

/* name is a table in the configuration folder ("users") or a path with '/'. */
int table_open(struct table *, const char *name);
void table_close(struct table *);
/*
 * Exact lookup of key (lowercased here).  Returns 1 with the value copied
 * NUL-terminated into val, 0 when absent, -1 on a read error or a value
 * that does not fit (errno EOVERFLOW).
 */
int table_get(struct table *, const char *key, char *val, size_t vsz);
/* Address lookup in the order above; matched gets the key that hit. */
int table_lookup_addr(struct table *, const char *addr, char *val,
    size_t vsz, char *matched, size_t msz);
int table_lookup_domain(struct table *, const char *domain, char *val,
    size_t vsz);
/*
 * Every entry in file order, for the small tables read whole (content,
 * disclaimers): set *pos to 0 first.  Returns 1 with the next key and
 * value NUL-terminated, 0 at the end, -1 on a read error or an entry that
 * does not fit (errno EOVERFLOW).
 */
int table_next(struct table *, unsigned *pos, char *key, size_t ksz,
    char *val, size_t vsz);

#endif
