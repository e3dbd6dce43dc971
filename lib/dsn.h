#ifndef DSN_H
#define DSN_H

/*
 * Delivery status notifications (RFC 3464, requested per RFC 3461),
 * written as a new stream transaction:
 *
 *   MAIL FROM:<> X-NOTICE=bounce|delay|success
 *   RCPT TO:<the original sender>   (the postmaster for a failed bounce)
 *   DATA
 *   multipart/report; report-type=delivery-status:
 *     a text/plain part for people, a message/delivery-status part, and
 *     the original: message/rfc822 (whole) or text/rfc822-headers.
 *
 * Internationalized mail (RFC 6533): when the original came with SMTPUTF8
 * or an address the notice reports is UTF-8 (the sender, a recipient, or
 * an ORCPT of type utf-8), the report part is message/global-delivery-
 * status, UTF-8 addresses have the address type utf-8 (a utf-8 ORCPT is
 * decoded, "\x{HEX}" included), the text may hold UTF-8, the original is
 * message/global or message/global-headers when its header block is
 * UTF-8, and the notice goes with SMTPUTF8 and BODY=8BITMIME.  ASCII mail
 * gets the RFC 3464 notice above.
 *
 * What is returned: a failure returns the whole message unless RET=HDRS;
 * delay and success notices give the headers only, whatever RET says
 * (RFC 3461 4.3 allows it; a success notice with the body would reflect
 * any text to any sender address).
 * Who is told: NOTIFY=NEVER nobody; NOTIFY=list those events; no NOTIFY
 * means FAILURE,DELAY.  Nobody is told about a delay or a success of a
 * message with the null sender; its failure goes to the postmaster (a
 * double bounce), and the failure of a double bounce goes nowhere
 * (DSN_DEAD: the caller keeps the message for the postmaster, dead/).
 */

#include <stddef.h>
#include <time.h>

#include "bodyfile.h"
#include "stream.h"

/*
 * DSN_RELAYED: handed to a server that does not take DSN requests, so no
 * delivery notice will come from further on (RFC 3461 6.2, RFC 3464
 * 2.3.3); it is a success notice, asked for by NOTIFY=SUCCESS.
 */
enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED };

/* dsn_write's results besides -1 */
#define DSN_WRITTEN 0
#define DSN_NONE 1	/* nobody asked for it: nothing written */
#define DSN_DEAD 2	/* a failed double bounce: nothing written */

#define DSN_DIAG_MAX 900	/* Diagnostic-Code text, longer is cut */

struct dsn_rcpt {
	const struct rcpt *rcpt;	/* the envelope recipient, with NOTIFY/ORCPT */
	const char *status;	/* "5.1.1" */
	const char *diag;	/* what went wrong, in words; NULL for none */
	const char *remote_mta;	/* a host name, or NULL */
	time_t last_attempt;	/* 0: now */
	time_t retry_until;	/* for delays; 0: not given */
};

struct dsn {
	const struct txn *orig;	/* the message the notice is about */
	const char *qid;	/* its queue id, or NULL */
	time_t arrival;		/* 0: unknown (from qid when given) */
	enum dsn_action action;
	struct bodyfile *body;	/* the original body, spooled */
};

/* Whether a recipient with these NOTIFY flags wants this kind of notice. */
int dsn_wanted(unsigned notify, enum dsn_action action);
/* Whether a transaction is a double bounce: null sender, to the postmaster. */
int dsn_is_double(const struct txn *t);
/* The postmaster address: the "postmaster" setting or postmaster@qualify_domain. */
const char *dsn_postmaster(void);
/*
 * Write one notice about recipients r[0..n) (those that did not ask for it
 * are left out).  Returns DSN_WRITTEN, DSN_NONE, DSN_DEAD, or -1 on a write
 * or read error (errno).
 */
int dsn_write(struct stream_writer *w, const struct dsn *d,
    const struct dsn_rcpt *r, size_t n);
/* RFC 5322 date of t into buf (at least 40 octets). */
void dsn_date(time_t t, char *buf, size_t size);

#endif
