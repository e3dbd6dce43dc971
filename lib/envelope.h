#ifndef ENVELOPE_H
#define ENVELOPE_H

/*
 * The envelope rules of sluice-envelope(8), shared with sluice-import(1),
 * which applies them to what it imports: every address parsed and written
 * in its normal form, an unqualified one given the qualify_domain, and
 * SIZE and BODY made to tell the truth about the body.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "stream.h"

/* Read the qualify_domain setting; exits 111 when it is not a domain. */
void envelope_init(void);
/*
 * Normalize the sender and every recipient of t in place.  0, or -1 with
 * "name:line: MAIL address: reason" (or RCPT) in err.
 */
int envelope_norm(struct txn *t, const char *name, char *err, size_t errsz);
/*
 * Write t's envelope, then the body held in body.  SIZE is an estimate
 * (RFC 1870): one below size is raised to it, and an 8-bit body (eight)
 * is marked BODY=8BITMIME; warn logs both.  A write error is fatal.
 */
void envelope_write(struct stream_writer *w, struct txn *t, struct bodyfile *body,
    unsigned long long size, int eight, int warn);
/* The same without the body, which the caller writes. */
void envelope_write_head(struct stream_writer *w, struct txn *t,
    unsigned long long size, int eight, int warn);

#endif
