#ifndef DELIVERED_H
#define DELIVERED_H

/*
 * The record of recipients already delivered, one file per queue id in
 * the folder that sluice-runq names in SLUICE_DELIVERED (spool/delivered/).
 *
 * A delivering stage (sluice-local, sluice-smtp) appends a line for each
 * recipient the moment its delivery is complete, and consults the record
 * before it delivers: a recipient found there is reported as delivered
 * again (same log, same notices) without a second delivery.  So when a
 * later stage fails, or the chain is killed, the retry of the batch does
 * not deliver anew what was delivered; a crash repeats at most the
 * deliveries in flight at that instant.  sluice-runq removes a record
 * once the chain's output is committed (the remainder no longer holds
 * those recipients).
 *
 * A line is "ADDRESS TAB ROUTE TAB FLAGS LF": ROUTE is the recipient's
 * X-ROUTE value as it is in the stream for a command or file target and
 * empty for a mailbox or a remote address; FLAGS is a decimal number the
 * stage gives back to itself (sluice-smtp: the remote took NOTIFY).
 * Lines are written with one write(2) to a file opened O_APPEND, so
 * several processes may add to one record.
 *
 * Without SLUICE_DELIVERED, or for a transaction without a valid queue
 * id, there is no record: every function succeeds and finds nothing.
 */

#include <stddef.h>

#define DELIVERED_FLAG_DSN_PASSED 1

struct delivered {
	char *text;		/* the record read by delivered_load */
	size_t len;
	size_t cap;		/* text's size: kept from one load to the next */
};

/* Read the record of qid (NULL: none).  0, or -1 with errno. */
int delivered_load(struct delivered *, const char *qid);
/*
 * 0 when the record of qid can grow (or none is kept); -1 with ENOSPC when
 * its disk has less than DELIVERED_ROOM free, or with errno when that
 * cannot be known.  A stage that cannot record a delivery must not make it:
 * a retry would make it again.
 */
#define DELIVERED_ROOM (256u << 10)
int delivered_room(const char *qid);
/* The flags of a recipient found in the record, or -1. */
int delivered_find(const struct delivered *, const char *addr,
    const char *route);
/* Add a recipient to qid's record.  0, or -1 with errno. */
int delivered_mark(const char *qid, const char *addr, const char *route,
    int flags);
/* The same for n addresses with one route (NULL: none), in one write. */
int delivered_mark_all(const char *qid, const char *const *addr, size_t n,
    const char *route, int flags);
void delivered_free(struct delivered *);

#endif
