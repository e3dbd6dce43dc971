#ifndef QUARANTINE_H
#define QUARANTINE_H

/*
 * Keep a message in the spool's quarantine/ folder (lib/keep.h): one
 * stream transaction in a file named by its queue id, there whole or not
 * at all.  Releasing it is feeding the file to sluice-enqueue.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "stream.h"

/*
 * header: lines put before the body's (a tag), or NULL.  path gets
 * "quarantine/QID" (t's IDENT when valid, else a new id).  0, or -1 with
 * errno set.
 */
int quarantine_write(const char *spooldir, const struct txn *t,
    const char *header, struct bodyfile *sp, char *path, size_t psize);

#endif
