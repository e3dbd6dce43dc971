#ifndef BODYFILE_H
#define BODYFILE_H

/*
 * A message body spooled once to an unlinked temporary file, so that a
 * stage can read it as many times as it needs (one delivery per recipient,
 * the copy inside a bounce) while its memory stays bounded.
 *
 * The file holds the body lines as the stream reader returns them:
 * dot-stuffing removed, each line followed by a single LF.  A body line
 * never contains LF, so the form is lossless.
 */

#include <stddef.h>

#include "buf.h"
#include "stream.h"

struct bodyfile {
	int fd;			/* -1 when closed */
	struct wbuf w;
	struct rbuf r;
	unsigned long long bytes;	/* body octets, counting CRLF per line */
	unsigned long lines;
	int reading;
	int written_over;	/* reset since the last rewind: cut there */
	const char *dir;	/* deferred (bodyfile_defer): made here at first use */
};

/*
 * Create an unlinked file in folder dir (O_TMPFILE, else mkstemp and
 * unlink).  0, or -1 with errno set.
 */
int bodyfile_open(struct bodyfile *, const char *dir);
/*
 * A body file made in folder dir only when first written or read (reset,
 * a line, a rewind): a stage that passes every message through untouched
 * then creates no file at all.  On ext4 a file's inode is allocated and
 * released each time, and without a journal each allocation walks past
 * the inodes released in the last minute (doc/performance.md).  The first
 * use fails, with errno, when the file cannot be made.
 */
void bodyfile_defer(struct bodyfile *, const char *dir);
/*
 * A body file around fd, a body file another process wrote (sluice-local's
 * privileged part gets it over a socket): read from the start after
 * bodyfile_rewind().  0, or -1 with errno set; it owns fd then.
 */
int bodyfile_adopt(struct bodyfile *, int fd);
/* Just the file: its descriptor (close-on-exec), or -1 with errno set. */
int bodyfile_tmpfile(const char *dir);
/* The folder for temporary files: $TMPDIR when set and not empty, else /tmp. */
const char *bodyfile_tmpdir(void);
void bodyfile_close(struct bodyfile *);
/*
 * Start writing again from the start; 0 or -1.  The old body is written
 * over, not emptied (its blocks stay allocated: see cut_at_offset in
 * fsutil.h); bodyfile_rewind cuts what is left of it.
 */
int bodyfile_reset(struct bodyfile *);
int bodyfile_write_line(struct bodyfile *, const char *s, size_t n);
/*
 * Copy the rest of r's body (through its final ".") into the body file.
 * 0; -1 with *read_failed set when the stream was at fault (r->err), or
 * clear when writing the body file failed (errno).
 */
int bodyfile_from_stream(struct bodyfile *, struct stream_reader *r,
    int *read_failed);
/* Flush what was written and go back to the first line; 0 or -1. */
int bodyfile_rewind(struct bodyfile *);
/* Next line without its LF: 1, 0 at the end, -1 on a read error. */
int bodyfile_getline(struct bodyfile *, const char **line, size_t *len);
/* Copy the whole body to a stream writer, with its final "."; 0 or -1. */
int bodyfile_write_stream(struct bodyfile *, struct stream_writer *w);

#endif
