#ifndef SLUICE_ALIAS_H
#define SLUICE_ALIAS_H

/*
 * sluice-alias(8), the alias stage.  One file per module, named after its
 * function prefix:
 *
 *   sluice-alias.c   main: settings, tables, the stream, and one
 *                    transaction: its header, its recipients expanded,
 *                    the message passed on (split above the limit)
 *   alias_lookup.c   the aliases, domains and users tables: the keys an
 *                    address is looked up by, in sluice-aliases(5) order
 *   alias_expand.c   one recipient expanded: lists, :include: files,
 *                    pipes and files, domain aliases, loops and depth;
 *                    the recipients sent on and those that fail
 *   alias_fail.c     failed recipients: the bounces and loop notices, or
 *                    kept in the stream when a double bounce fails
 *
 * The state of one run is one struct alias, made in main; the expansion
 * of one transaction is one struct expansion, made per transaction.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "header.h"
#include "stream.h"
#include "strset.h"
#include "table.h"

/* Limits (sluice-alias(8); the header examined: lib/header.h). */
#define DEPTH_CAP 100		/* highest alias_max_depth accepted */
#define EXPAND_MAX 100000	/* recipients one transaction may expand to */
#define INCLUDE_SIZE_MAX (1024 * 1024)	/* an :include: file */
#define INCLUDE_LINE_MAX 1000	/* a line of an :include: file */

struct alias {
	/* Settings and tables, read once at start. */
	struct table aliases, domains, users;
	const char *delims, *hostname;
	long long max_depth, max_received;
	int loop_to_pm, bounce_unknown;
	/* The header of the transaction at hand. */
	struct header hdr;
	struct strset delivered_to;	/* its Delivered-To: addresses */
	long received;	/* its Received: fields naming this host */
};

/* Failed recipients, each with its status and reason. */
struct fail {
	struct txn t;	/* only its recipients are used */
	char **status, **diag;
	size_t a;
};

/* The expansion of one transaction's recipients. */
struct expansion {
	struct alias *A;
	const char *qid;
	const struct rcpt *orig;	/* the recipient being expanded */
	struct txn *out;		/* the recipients that go on */
	struct fail *fail, *loop;	/* bounces: unknown users; loops */
	struct strset *emitted, *expanded;
	const char *path[DEPTH_CAP + 2];	/* aliases being expanded */
	size_t depth;
};

/* alias_lookup.c */
const char *alias_lookup_domain_of(const char *addr);
int alias_lookup_user_known(struct alias *, const char *addr);
int alias_lookup_domain_local(struct alias *, const char *dom);
int alias_lookup_find(struct alias *, const char *addr, char *val,
    size_t vsz);

/* alias_expand.c */
size_t alias_expand_rcpt(struct expansion *, const char *addr);
size_t alias_expand_emit(struct expansion *, const char *addr,
    const char *route);
void alias_expand_fail(struct expansion *, struct fail *, const char *addr,
    const char *status, const char *fmt, const char *arg);

/* alias_fail.c */
void alias_fail_init(struct fail *);
void alias_fail_add(struct fail *, const struct rcpt *, const char *status,
    const char *diag);
void alias_fail_free(struct fail *);
void alias_fail_bounce(struct stream_writer *, const struct txn *,
    struct fail *, struct bodyfile *, int to_postmaster);
void alias_fail_keep(struct txn *out, struct fail *);

#endif
