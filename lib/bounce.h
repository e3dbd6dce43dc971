#ifndef BOUNCE_H
#define BOUNCE_H

/*
 * The bounce of a content stage: every recipient of a transaction failed
 * with one status and reason, in an RFC 3464 notice (lib/dsn.h) that
 * carries the original's header only, whatever its RET says: the content
 * was refused, and must not travel back to a sender who may be forged.
 */

#include "bodyfile.h"
#include "stream.h"

/*
 * Write the bounce for t (its body in sp) to w.  DSN_WRITTEN, DSN_NONE,
 * DSN_DEAD, or -1 on a write or read error.  Logs one line.
 */
int bounce_write(struct stream_writer *w, struct txn *t, struct bodyfile *sp,
    const char *status, const char *diag);

#endif
