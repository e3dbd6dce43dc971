#ifndef ARCHIVE_H
#define ARCHIVE_H

/*
 * Archive a message into a mailbox: a Maildir when path ends with '/'
 * (written in tmp/, fsynced, renamed into new/, new/ fsynced), else an
 * mbox file (mboxrd: a "From " line, every ">*From " line quoted with one
 * more '>', a blank line after; under an fcntl lock; fsynced; a failed
 * write cuts the file back to its old size).  The folders are made as
 * needed.  Either way the message is there whole or not at all.
 */

#include <stddef.h>

#include "bodyfile.h"

/* Writes the message (header lines first, then the body) to fd: 0 or -1. */
typedef int archive_body_fn(int fd, int mboxrd, void *ctx);

/* 0, or -1 with err set. */
int archive_write(const char *path, const char *from, archive_body_fn *body,
    void *ctx, char *err, size_t esize);

#endif
