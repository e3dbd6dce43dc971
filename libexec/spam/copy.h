#ifndef COPY_H
#define COPY_H

/*
 * The message as sluice-spam passes, forwards or archives it: its verdict
 * fields first in the header (X-Spam-Flag, X-Spam-Score, X-Spam-Level,
 * X-Spam-Status), then, for a forwarded or archived copy, the envelope
 * (X-Spam-Envelope-From, X-Spam-Envelope-To), then the message's own
 * header without any X-Spam-* field (nobody can send mail that claims a
 * verdict), its Subject prefixed when asked, and the body.
 */

#include <stddef.h>

#include "spamc.h"
#include "bodyfile.h"
#include "stream.h"

#define COPY_TAGS_MAX 4096

struct copy {
	const char *tags;	/* header lines separated by '\n', or "" */
	const char *prefix;	/* put before the Subject, or NULL */
	const struct txn *env;	/* envelope fields of this transaction, or NULL */
	int (*put)(void *ctx, const char *l, size_t n);	/* one line: 0 or -1 */
	void *ctx;
};

/*
 * The verdict fields into buf: spam or ham with r; r NULL and why set
 * for a message not scanned.
 */
void copy_tags(char *buf, size_t size, const struct spamc_result *r,
    const char *why);
/* All lines of the message through c->put; 0 or -1. */
int copy_message(const struct copy *c, struct bodyfile *sp);

#endif
