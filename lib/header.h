#ifndef HEADER_H
#define HEADER_H

/*
 * A message's header block, read from a stream once, within a limit, and
 * looked at field by field; then written on unchanged.  Every stage that
 * reads a header field reads it through this module, so that they agree
 * on what a field is: folded lines (RFC 5322 2.2.3) are part of the field
 * they continue, and only the first HEADER_MAX octets of a header are
 * examined.
 *
 * header_read() keeps the header's lines, each ended by LF, through the
 * blank line that ends it.  A line that would take the kept text past the
 * limit is kept apart (extra) and reading stops there: the rest of the
 * body, header or not, is the caller's to copy or skip with the stream
 * reader.  body_done says the whole body was read (a body with no blank
 * line, or ending within the limit).
 */

#include <stddef.h>

#include "stream.h"
#include "strset.h"

#define HEADER_MAX (1024 * 1024)	/* header octets examined */

struct header {
	char *buf;		/* the lines, each ended by LF */
	size_t len;
	char extra[STREAM_TEXT_MAX + 1];	/* the line that did not fit */
	size_t extralen;
	int has_extra;
	int body_done;		/* the final "." was read */
};

struct header_field {
	const char *name;	/* not NUL-terminated */
	size_t namelen;
	const char *value;	/* after the colon, folded lines and all */
	size_t valuelen;
};

/* 0, or -1 out of memory. */
int header_init(struct header *);
void header_free(struct header *);
/* Read the next header from rd: 0, or -1 with rd->err and rd->exit_code. */
int header_read(struct header *, struct stream_reader *rd);
/* Next line of the header (extra included) from *pos, 0 from the start: 1 or 0. */
int header_line(const struct header *, size_t *pos, const char **line,
    size_t *len);
/* Next field from *pos (0 from the start), its line ends still in: 1 or 0. */
int header_field(const struct header *, size_t *pos, struct header_field *);
/* Whether f is named name (without regard to case). */
int header_is(const struct header_field *, const char *name);
/*
 * The value unfolded (line ends removed, RFC 5322 2.2.3), white space
 * trimmed at both ends, into out: its length, or -1 when it does not fit.
 */
long header_unfold(const struct header_field *, char *out, size_t size);
/*
 * An address field's value (Delivered-To:, Return-Path:) as an address:
 * unfolded, trimmed, without enclosing angle brackets.  Its length (0 for
 * none), or -1 when it does not fit.
 */
long header_addr(const struct header_field *, char *out, size_t size);
/*
 * Add the address of every field named name (header_addr()) to set; an
 * empty one, or one longer than an address path, is left out.  0, or -1
 * out of memory.  What sluice-alias and sluice-local find loops with
 * ("Delivered-To").
 */
int header_addrs(const struct header *, const char *name, struct strset *set);
/*
 * How many Received: fields name host as the receiving host: "by HOST"
 * as a word, in any case (a mail loop through this host, RFC 5321 6.3).
 */
long header_received_by(const struct header *, const char *host);

#endif
