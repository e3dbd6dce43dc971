#ifndef HANDOFF_H
#define HANDOFF_H

/*
 * The crash-safe hand-off of a file (qmail's, Maildir's): write it under a
 * temporary name, fsync it, rename it to its final name, fsync the folder
 * that holds that name.  Before the rename a crash leaves at most the
 * temporary file; after the folder's fsync the file is there, whole.
 *
 *	fd = handoff_open(dirfd, "tmp/x", O_EXCL, 0600);
 *	... write fd ...
 *	handoff_commit(fd, dirfd, "tmp/x", "new/x", HANDOFF_DURABLE);
 *
 * Names are relative to dirfd (AT_FDCWD for paths).  A program that hands
 * off many files renames each now and syncs the folder once, later
 * (sluice-enqueue, the runner, sluice-local's Maildirs): it leaves
 * HANDOFF_SYNC_DIR out and calls handoff_sync_folder() before it reports
 * success.
 */

#include <fcntl.h>	/* AT_FDCWD, O_EXCL, O_TRUNC */
#include <sys/types.h>

#define HANDOFF_SYNC_FILE 0x01	/* fsync the file before the rename */
#define HANDOFF_SYNC_DIR 0x02	/* fsync the final name's folder after it */
#define HANDOFF_DURABLE (HANDOFF_SYNC_FILE | HANDOFF_SYNC_DIR)

/*
 * Create the temporary file tmp for writing, close-on-exec, not through a
 * symbolic link; oflags adds O_EXCL or O_TRUNC.  A descriptor, or -1.
 */
int handoff_open(int dirfd, const char *tmp, int oflags, mode_t mode);
/*
 * Hand tmp over to final.  fd, when not -1, is fsynced (HANDOFF_SYNC_FILE)
 * and closed, whatever happens; -1 says the caller has done that.  0, or
 * -1 with errno set: tmp is removed if the rename did not happen (if it
 * did, only the folder's fsync failed and final is in place).
 */
int handoff_commit(int fd, int dirfd, const char *tmp, const char *final,
    unsigned flags);
/* Give up: close fd (unless -1) and remove tmp; errno is kept. */
void handoff_abort(int fd, int dirfd, const char *tmp);
/* fsync the folder that holds name ("." when name has no "/"); 0 or -1. */
int handoff_sync_dir(int dirfd, const char *name);
/* fsync the folder itself; 0 or -1. */
int handoff_sync_folder(int dirfd, const char *folder);

#endif
