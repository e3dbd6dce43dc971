#ifndef ACTION_H
#define ACTION_H

/*
 * What sluice-spam does with spam, and with ham, per destination channel.
 * A setting holds a default action and optional overrides per channel:
 *
 *   spam_action  subject local=archive:/var/mail/spam/ smtp=bounce
 *
 * Actions: tag (the X-Spam-* fields), subject (the fields and the
 * subject prefix), discard, bounce (headers only), reject (before the
 * queue: refused during SMTP; in the chain: bounce), forward:ADDRESS (the
 * message goes to that address instead, its envelope kept in header
 * fields), archive:PATH (a Maildir when PATH ends with '/', else an mbox),
 * pass (untouched, no fields).  Channels are those of X-ROUTE (lib/route.h):
 * local (file: targets too), smtp, pipe, bsmtp; a recipient without a
 * route, or routed to error: or defer:, gets the default.
 */

#include <stddef.h>

#include "stream.h"

#define ACTION_ARG_MAX 900

enum action_kind { AK_TAG, AK_SUBJECT, AK_DISCARD, AK_BOUNCE, AK_REJECT,
	AK_FORWARD, AK_ARCHIVE, AK_PASS };
enum channel { CH_NONE, CH_LOCAL, CH_SMTP, CH_PIPE, CH_BSMTP, CH_COUNT };

extern const char *const action_names[];
extern const char *const channel_names[];

struct action {
	enum action_kind kind;
	char arg[ACTION_ARG_MAX + 1];	/* forward: address; archive: path */
};

struct policy {
	struct action by[CH_COUNT];	/* CH_NONE holds the default */
};

/* Parse a setting's value; 0, or -1 with err set. */
int policy_parse(struct policy *, const char *v, char *err, size_t esize);
/* The destination channel of a recipient, from its X-ROUTE. */
enum channel channel_of(const struct rcpt *);
/* Whether two actions are the same (one output transaction). */
int action_same(const struct action *, const struct action *);

#endif
