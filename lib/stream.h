#ifndef STREAM_H
#define STREAM_H

/*
 * The stream: Batch SMTP (RFC 2442 command sequence), the one contract
 * between stages.  See sluice-stream(5) for the format and its limits.
 *
 * Reading is in two steps per transaction: stream_read_txn() parses the
 * envelope up to and including DATA, then stream_read_line() returns the
 * body one line at a time, without its line end and with dot-stuffing
 * removed, until the lone "." that ends it.  A body is never held whole.
 */

#include <stddef.h>

#include "buf.h"
#include "txn.h"

/* reader */
struct stream_reader {
	struct rbuf in;
	const char *name;	/* for messages: file name or "stdin" */
	unsigned long line;	/* lines read so far */
	int in_body;
	int exit_code;		/* 100 or 111 after an error */
	char err[512];		/* "stdin:12: what was wrong" */
	unsigned long long body_bytes;	/* body octets of the current txn */
};

int stream_reader_init(struct stream_reader *, int fd, const char *name);
void stream_reader_free(struct stream_reader *);
/*
 * Next transaction's envelope, through its DATA line.  Returns 1, 0 at a
 * clean end of stream, or -1 with r->err and r->exit_code set.  Skips
 * HELO, EHLO, RSET (which forget a half-read envelope) and QUIT.
 */
int stream_read_txn(struct stream_reader *, struct txn *);
/*
 * Next body line, dot-stuffing removed, without its line end; the pointer
 * is valid until the next read.  Returns 1, 0 after the final ".", or -1
 * (truncated input is exit code 111, an over-long line 100).
 */
int stream_read_line(struct stream_reader *, const char **line, size_t *len);
/*
 * Pass-through is most of what stages do, so whole lines go in blocks:
 * stream_plain_run gives the length of the run of whole lines at p (n
 * octets) that a copy leaves as they are (LF-ended, no CR before the LF,
 * no leading dot, within the line limit), their number in *lines;
 * stream_read_plain takes such a run from the reader's buffer, in place,
 * counting as stream_read_line would (1), or 0 when the next line is not
 * plain or not whole yet: stream_read_line takes it then.
 * stream_write_plain writes such a run (CRLF line ends if the writer has
 * them).
 */
size_t stream_plain_run(const char *p, size_t n, size_t *lines);
int stream_read_plain(struct stream_reader *, const char **p, size_t *n,
    size_t *lines);
/*
 * Where the reader is in its input: the octets taken so far.  On a
 * regular file, stream_rewind goes back to such a point, the body being
 * read again from there as after DATA (its line number line): for a stage
 * that hoped to send a body from its input as it is and finds it cannot.
 * 0, or -1 (r->err set, exit code 111).
 */
unsigned long long stream_taken(const struct stream_reader *);
int stream_rewind(struct stream_reader *, unsigned long long at,
    unsigned long line);
/* Read and discard the rest of the body: 0, or -1 as above. */
int stream_skip_body(struct stream_reader *);

/* writer */
#define STREAM_W_CRLF 0x01	/* CRLF line ends instead of LF */
#define STREAM_W_EXPORT 0x02	/* omit XFORWARD and private X- parameters */
/*
 * Plain RFC 2442 batch: no XFORWARD and no ESMTP parameters at all, for
 * readers that know no ESMTP (exim -bS refuses every parameter).
 */
#define STREAM_W_PLAIN 0x04

struct stream_writer {
	struct wbuf out;
	unsigned flags;
};

int stream_writer_init(struct stream_writer *, int fd, unsigned flags);
void stream_writer_free(struct stream_writer *);
int stream_write_head(struct stream_writer *, const struct txn *);
int stream_write_line(struct stream_writer *, const char *s, size_t n);
/* The octets stream_write_line writes for s[0..n). */
size_t stream_line_size(const struct stream_writer *, const char *s, size_t n);
int stream_write_end(struct stream_writer *);
int stream_flush(struct stream_writer *);
int stream_write_plain(struct stream_writer *, const char *p, size_t n);
/*
 * Whole LF-ended lines p[0..n) into o with CRLF line ends: a plain run
 * for a wire-form spool (sluice-smtp).  0, or -1 (EINVAL when the last
 * line has no LF).
 */
int stream_put_crlf(struct wbuf *o, const char *p, size_t n);
/* Copy the rest of r's body to w, through the final ".". 0 or -1. */
int stream_copy_body(struct stream_reader *r, struct stream_writer *w,
    int *read_failed);

#endif
