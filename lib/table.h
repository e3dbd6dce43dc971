#ifndef TABLE_H
#define TABLE_H

/*
 * Lookups in constant databases compiled by sluice-mkcdb(1).  Keys are
 * stored lowercased.  An address is looked up in this order, the first
 * hit winning:
 *   1. the whole address, local@domain
 *   2. local@            (the user in any domain)
 *   3. local             (the bare name, as /etc/aliases writes it: the
 *                        same as local@; callers ask about local domains)
 *   4. @domain           (catch-all for the domain)
 *   5. @.parent.domain   (each parent of the domain, nearest first)
 * A domain alone (table_lookup_domain) is looked up as the domain, then
 * as each parent with a leading dot: ".example.org" matches every
 * subdomain of example.org but not example.org itself.
 * A table whose .cdb does not exist is empty; one that exists but cannot
 * be opened or read is an error (-1 with errno, never EINVAL: a damaged
 * table is a temporary failure for log.h's errno_exit(), which the
 * program reports before it exits 111, never an empty table).
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
/*
 * table_open(), or exit naming the table: 111, a table that exists but
 * cannot be read being the postmaster's to fix while mail waits.
 */
void table_need(struct table *, const char *name);
/*
 * table_open() for a table of secrets (smtp_auth, any table of
 * passwords): -1 with errno EPERM when others may read its .cdb, or the
 * text it is compiled from beside it, so that the program reading it
 * refuses to start (exit 111, saying which file) rather than use secrets
 * every local user can read.  sluice-mkcdb(1) keeps the text's mode.
 */
int table_open_secret(struct table *, const char *name);
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
 * Every entry in the order of the text file, for tables that are read
 * whole (ranges, lists): set *pos to 0, then call until it returns 0.
 * Returns 1 with the key and value copied NUL-terminated, 0 at the end,
 * -1 on a read error or an entry that does not fit (errno EOVERFLOW).
 */
int table_next(struct table *, unsigned *pos, char *key, size_t ksz,
    char *val, size_t vsz);

#endif
