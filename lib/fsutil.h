#ifndef FSUTIL_H
#define FSUTIL_H

/*
 * Folders, paths and files: make a folder and its parents, join a path,
 * cut a file written over.  (The crash-safe hand-off of a file, with its
 * folder's fsync, is handoff.h.)
 */

#include <stddef.h>

/* mkdir -p with mode, for spool and mailbox folders. */
int mkdir_p(const char *path, unsigned mode);
/* Join into buf; -1 with ENAMETOOLONG if it does not fit. */
int path_join(char *buf, size_t size, const char *a, const char *b);
/*
 * Cut the file open on fd at fd's offset if it is longer: what is left of
 * an old content past the end of what was just written over it from the
 * start.  Writing over a file instead of emptying it first keeps its
 * blocks: on a file system mounted with discard, each block freed is a
 * discard request the process waits for.  0, or -1 with errno set.
 */
int cut_at_offset(int fd);
/* cut_at_offset, then fsync: a file written over, made durable.  0 or -1. */
int cut_and_sync(int fd);

struct stat;
/*
 * Remove dfd/name if no live writer has it: its writer holds an flock on
 * it until it is done, so a file that can be locked here (not waiting)
 * was left by a killed one.  It is removed while locked, and only if the
 * name still is that file.  spare(st, arg), when given, sees the file's
 * fstat first and keeps it by returning 1.  1 removed, 0 kept (locked,
 * spared, or gone meanwhile), -1 when it cannot be opened (errno set).
 */
int unlink_unlocked(int dfd, const char *name,
    int (*spare)(const struct stat *, void *), void *arg);

#endif
