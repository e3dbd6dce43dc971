#ifndef NOTICE_H
#define NOTICE_H

/*
 * The notices of sluice-scan: a short plain-text message to the
 * postmaster, or to the sender, saying what was found in which message
 * and what was done with it.  Written as a new stream transaction from
 * the null sender, marked Auto-Submitted (RFC 3834).  The message itself
 * is never attached.
 */

#include "stream.h"

struct notice {
	const struct txn *t;	/* the message the notice is about */
	const char *qid;	/* its queue id, or "-" */
	const char *subject;	/* its Subject:, or "" */
	const char *verdict;	/* "infected", "suspicious" */
	const char *name;	/* what was found */
	const char *where;	/* in which part */
	const char *action;	/* "bounced", "discarded", "quarantined as quarantine/QID" */
};

/* to: the address; for_sender: the sender's wording.  0, or -1 on a write error. */
int notice_write(struct stream_writer *w, const char *to, int for_sender,
    const struct notice *n);

#endif
