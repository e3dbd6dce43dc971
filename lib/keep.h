#ifndef KEEP_H
#define KEEP_H

/*
 * Keep a message in a folder of the spool (quarantine/ for sluice-scan,
 * hold/ for sluice-checks): one stream transaction (envelope and body, as
 * sluice-stream(5) says) in a file named by its queue id, written to
 * tmp/, fsynced, renamed into the folder and the folder fsynced, so that
 * it is there whole or not at all.  Releasing it is feeding the file to
 * sluice-enqueue.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "stream.h"

/* Writes the body (and its final ".") of the kept transaction to w: 0 or -1. */
typedef int keep_body_fn(struct stream_writer *w, struct bodyfile *sp, void *ctx);

/*
 * Keep t (body from sp, written by body) as SPOOL/folder/QID; qid is t's
 * IDENT when it is valid, else a new one.  path gets "folder/QID".  0, or
 * -1 with errno set.
 */
int keep_write(const char *spooldir, const char *folder, const struct txn *t,
    struct bodyfile *sp, keep_body_fn *body, void *ctx, char *path, size_t psize);

#endif
