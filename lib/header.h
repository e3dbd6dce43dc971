#ifndef HEADER_H
#define HEADER_H

/*
 * A message's header block, read once, within a limit, and looked at
 * field by field.  Every program that reads a header field reads it
 * through this module, so that they agree on what a field is: folded
 * lines (RFC 5322 2.2.3) are part of the field they continue, and only
 * the first HEADER_MAX octets of a header are examined.
 *
 * The lines come from the stream (header_read), from any line source
 * (header_read_from: a callback over a file, a socket, an rbuf), or one
 * at a time from a caller with rules of its own (header_add: sendmail's
 * bare CRs and its header that ends at the first line that is no field,
 * an importer's mbox quoting).  The header keeps them, each ended by LF,
 * through the blank line that ends it.  A line that would take the kept
 * text past the limit is kept apart (extra) and the header ends there:
 * the rest, header or not, is the caller's to copy or skip.  body_done
 * says the source ended within the header.
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
/* Empty it, for the next header. */
void header_reset(struct header *);
/*
 * One more line of the header, without its line end, at most
 * STREAM_TEXT_MAX octets: 1 while the header goes on; 0 when this blank
 * line ended it; -1 when the line did not fit under HEADER_MAX, and is
 * kept apart (extra), ending the header; -2 (nothing kept) when it is
 * longer than a line may be.
 */
int header_add(struct header *, const char *line, size_t len);
/* Read the next header from rd: 0, or -1 with rd->err and rd->exit_code. */
int header_read(struct header *, struct stream_reader *rd);
/*
 * A line source: the next line without its line end in *line and *len,
 * returning 1; 0 at the end of the input; -1 when it failed (why is the
 * source's to say).
 */
typedef int (*header_source_fn)(void *ctx, const char **line, size_t *len);
/*
 * Read the next header from a line source: 0, or -1 when the source
 * failed or gave a line longer than STREAM_TEXT_MAX (errno EMSGSIZE).
 */
int header_read_from(struct header *, header_source_fn, void *ctx);
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
