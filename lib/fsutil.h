#ifndef FSUTIL_H
#define FSUTIL_H

/* Crash-safe file hand-off helpers: fsync a folder, write-then-rename. */

#include <stddef.h>

/* fsync the folder that holds path (or the folder itself if dir is 1). */
int fsync_dir(const char *path, int dir);
/* mkdir -p with mode, for spool and mailbox folders. */
int mkdir_p(const char *path, unsigned mode);
/* Join into buf; -1 with ENAMETOOLONG if it does not fit. */
int path_join(char *buf, size_t size, const char *a, const char *b);

#endif
