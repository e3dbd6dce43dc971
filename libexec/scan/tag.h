#ifndef TAG_H
#define TAG_H

/*
 * The scan verdict as a header field (pass-through tagging, DESIGN.md):
 *   X-Sluice-Scan: infected (Eicar-Test-Signature in part 2 "eicar.com")
 *    by mx.example.org
 * A message passes with the field first in its header (after any
 * white-space lines a broken header begins with, which would otherwise
 * continue it); fields of that name already in the message's own header
 * are removed, so that nobody can send mail that claims a verdict.
 */

#include <stddef.h>

#include "bodyfile.h"
#include "stream.h"

#define TAG_FIELD "X-Sluice-Scan"
#define TAG_MAX 998	/* one line (RFC 5322 2.1.1) */

/* The field line for a verdict word, what was found and where. */
void tag_make(char *buf, size_t size, const char *verdict, const char *name,
    const char *where, const char *host);
/*
 * Write the spooled body to w, tag (a field line, or NULL) first, our
 * fields of the message's header left out, and the final ".".  0 or -1.
 */
int tag_copy(struct stream_writer *w, struct bodyfile *sp, const char *tag);

#endif
