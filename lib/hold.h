#ifndef HOLD_H
#define HOLD_H

/*
 * Output held back until the whole input has been read: in memory up to
 * 1 MiB, then in an unlinked temporary file.  A program that fails
 * half-way has then written nothing, as DESIGN.md asks of exit 100 and
 * 111.  Errors are fatal (111).
 */

#include <sys/types.h>

#include "stream.h"

struct hold {
	struct stream_writer w;	/* write the stream here */
	int fd;			/* the temporary file */
};

void hold_init(struct hold *);
/* Copy all of it to fd, and sync fd when it is a regular file. */
void hold_commit(struct hold *, int fd);
/*
 * Append len octets of file fd from offset off to what is held, copied in
 * the kernel (a body spooled elsewhere, or in the input, not read back).
 */
void hold_append(struct hold *, int fd, off_t off, unsigned long long len);
/*
 * hold_commit, then len octets of file tail from offset off: the last
 * part of the output goes out from where it already is, copied once.
 */
void hold_commit_tail(struct hold *, int fd, int tail, off_t off,
    unsigned long long len);
/*
 * Move all of it into the temporary file and go back to its start; the
 * file's descriptor, to be read by another program.
 */
int hold_rewind(struct hold *);

#endif
