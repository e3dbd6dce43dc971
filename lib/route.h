#ifndef ROUTE_H
#define ROUTE_H

/*
 * Routes: which delivery stage takes a recipient, carried in the private
 * RCPT parameter X-ROUTE (xtext) that sluice-route(8) sets and sluice-alias(8)
 * sets for pipe and file targets.  The text form, shared by the routes
 * table, the local_default_channel setting and X-ROUTE, is
 *
 *   local                          local delivery, sluice-local(8)
 *   smtp                           the Internet: MX of the recipient's domain
 *   smtp:host[:port]               MX of host (port 25 unless given)
 *   smtp:[host][:port]             host itself, no MX lookup
 *   bsmtp:mailbox@example          a BSMTP tunnel: wrap the message for this mailbox
 *   pipe:/path/to/command args     a command, argv split on white space, no shell
 *   file:/path/to/mbox             append to a file (from the alias table only)
 *   error:5.x.y text               bounce with this status
 *   defer:4.x.y text               leave undelivered with this status
 *
 * See sluice-route(8).
 */

#include <stddef.h>

#include "stream.h"

#define ROUTE_MAX 900	/* the text form, decoded */

enum route_channel { ROUTE_LOCAL, ROUTE_SMTP, ROUTE_BSMTP, ROUTE_PIPE,
	ROUTE_FILE, ROUTE_ERROR, ROUTE_DEFER };

struct route {
	enum route_channel ch;
	char host[256];		/* smtp: nexthop, "" for the recipient's MX */
	int mx;			/* smtp: look up MX of host (no brackets) */
	unsigned port;		/* smtp: 0 for the default */
	char status[16];	/* error, defer: "5.1.2" */
	const char *arg;	/* bsmtp address, pipe command, file path,
				   error/defer text ("" when none); points
				   into text */
	char text[ROUTE_MAX + 1];	/* the canonical text form */
};

/*
 * Parse a route's text form (white space around it is ignored, the channel
 * name is case-insensitive).  0, or -1 with *err saying what is wrong.
 */
int route_parse(const char *s, struct route *r, const char **err);
/* A recipient's X-ROUTE decoded into r: 1, 0 when it has none, -1 invalid. */
int route_get(const struct rcpt *rc, struct route *r, const char **err);
/*
 * Set X-ROUTE to the text form s, xtext-encoded: 0, or -1 with errno
 * EOVERFLOW when it does not fit the stream's limit on a value, E2BIG when
 * the recipient carries all the private parameters it may (xparam_set),
 * ENOMEM.
 */
int route_set(struct rcpt *rc, const char *s);

/*
 * The address without its +detail: the local part is cut at the first of
 * the delimiter characters (the recipient_delimiter setting; "" turns it
 * off) that is not its first octet.  Writes the base address into out and
 * returns 1, or returns 0 when the address has no detail.
 */
int route_base_addr(const char *addr, const char *delims, char *out,
    size_t size);

#endif
