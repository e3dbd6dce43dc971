#ifndef FSUTIL_H
#define FSUTIL_H

/*
 * Folders and paths: make a folder and its parents, join a path.  (The
 * crash-safe hand-off of a file, with its folder's fsync, is handoff.h.)
 */

#include <stddef.h>

/* mkdir -p with mode, for spool and mailbox folders. */
int mkdir_p(const char *path, unsigned mode);
/* Join into buf; -1 with ENAMETOOLONG if it does not fit. */
int path_join(char *buf, size_t size, const char *a, const char *b);

#endif
