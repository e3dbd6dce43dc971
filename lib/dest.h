#ifndef DEST_H
#define DEST_H

#include <stddef.h>

/*
 * Per-destination delivery options: the table smtp_dest maps a domain
 * (or ".parent", or a relay host name) to words
 *     reuse=N concurrency=N lifetime=5d queue_first=yes
 * Any word may be left out; a missing one keeps the caller's default.
 * sluice-smtp uses reuse and concurrency; lifetime and queue_first are
 * for the queue runner (sluice-smtp(8) says what they mean).
 */

struct dest_opts {
	long reuse;		/* messages per connection */
	long concurrency;	/* connections at once to this destination */
	long long lifetime;	/* seconds before a bounce, -1 = queue_lifetime */
	int queue_first;	/* 1: queue before trying, -1 = unset */
};

/* Parse text into o, changing only the words present. 0, or -1 with err. */
int dest_parse(const char *text, struct dest_opts *o, char *err, size_t errsz);
/*
 * Look up name in the table smtp_dest (domain order of table.h) and parse
 * the value over o.  Returns 1 found, 0 absent, -1 with err: errno EINVAL
 * for an entry that does not parse, another when the table exists but
 * cannot be read (a temporary failure, never an empty table).
 */
int dest_lookup(const char *name, struct dest_opts *o, char *err, size_t errsz);

#endif
