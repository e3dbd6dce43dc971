#ifndef QUARANTINE_H
#define QUARANTINE_H

/*
 * Keep a message in the spool's quarantine/ folder: one stream
 * transaction (envelope and body, as sluice-stream(5) says) in a file
 * named by its queue id, written to tmp/, fsynced, renamed into
 * quarantine/ and the folder fsynced, so that it is there whole or not
 * at all.  Releasing it is feeding the file to sluice-enqueue.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "stream.h"

/*
 * header: lines put before the body's (a tag), or NULL.  path gets
 * "quarantine/QID".  0, or -1 with errno set.
 */
int quarantine_write(const char *spooldir, const char *qid, const struct txn *t,
    const char *header, struct bodyfile *sp, char *path, size_t psize);

#endif
