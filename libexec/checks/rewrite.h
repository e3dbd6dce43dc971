#ifndef REWRITE_H
#define REWRITE_H

/*
 * The second pass of sluice-checks: the spooled message written to the
 * stream as it passes, with the TAG fields of the inspection first in its
 * header, and the header fields that REPLACE or IGNORE rules matched
 * replaced or left out.  A message with no edits is copied line by line;
 * one with edits is walked again (lib/mime.h, nothing decoded) to find
 * each header block's lines.
 */

#include "inspect.h"
#include "bodyfile.h"
#include "stream.h"

struct rewrite {
	struct mime *walker;
	const struct inspect *in;
	struct stream_writer *w;
	size_t entity;		/* header block being copied, +1; 0 before any */
	size_t line;		/* lines of it so far */
	int tagged;		/* the TAG fields are written */
	int failed;
};

void rewrite_init(struct rewrite *);
/* Write sp's body, through the final ".", to w; 0 or -1. */
int rewrite_copy(struct rewrite *, const struct inspect *in, struct bodyfile *sp,
    struct stream_writer *w);

#endif
