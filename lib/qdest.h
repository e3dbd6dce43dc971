#ifndef QDEST_H
#define QDEST_H

/*
 * The destination of a queued recipient, as the queue sees it: what
 * sluice-runq(8) keys per-destination lifetimes, queue_first and flushes
 * on, and what mailq(1) shows.
 *
 * A recipient whose X-ROUTE is smtp with a nexthop goes to that host
 * (smtp:[127.0.0.1]:2525 -> "127.0.0.1"); one whose X-ROUTE is plain smtp
 * goes to the relayhost setting's host when that is set, as sluice-smtp(8)
 * does; any other recipient goes to the domain of its address.  Names are
 * lowercased.
 */

#include <stddef.h>

#include "dest.h"
#include "stream.h"

#define QDEST_NAME_MAX 255

/* The destination name (may be "" for an address without a domain). */
void qdest_name(const struct rcpt *r, char *out, size_t size);
/*
 * For people: "example.net", or "example.net via [127.0.0.1]:2525" when
 * the route names a nexthop.
 */
void qdest_describe(const struct rcpt *r, char *out, size_t size);
/*
 * Whether the recipient is one a flush for want takes: its destination
 * or its domain is want; with a leading "@" (RFC 1985), also every
 * subdomain of it.  want must have passed qdest_check().
 */
int qdest_match(const struct rcpt *r, const char *want);
/*
 * Check and lowercase a flush name: a domain or host name, an address
 * literal in brackets, each optionally led by "@".  0, or -1 if invalid.
 */
int qdest_check(char *name);
/*
 * The recipient's options from table smtp_dest, looked up by its
 * destination, then by its domain; each option comes from the first entry
 * that sets it.  Unset: lifetime -1, queue_first 0.  Returns 0, or -1 when
 * the table exists but cannot be read (logged once, with err): a
 * temporary failure, never an empty table, as a lifetime read as the
 * default could bounce mail that should wait.  An entry that does not
 * parse is logged once and skipped.
 */
int qdest_opts(const struct rcpt *r, struct dest_opts *o, char *err,
    size_t errsz);
/*
 * Whether any entry of smtp_dest says queue_first=yes (read once); 1 too
 * when the table cannot be read, so that each new message is looked up
 * and waits (qdest_opts fails).
 */
int qdest_any_queue_first(void);

#endif
