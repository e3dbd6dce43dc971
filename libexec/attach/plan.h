#ifndef PLAN_H
#define PLAN_H

/*
 * Which lines of a spooled message sluice-attach removes, and the copy
 * without them.  Pass 1 walks the message (lib/mime.h) and notes, for
 * each part the rules match, the range of its raw lines (a line of the
 * spool is one raw line: stream lines are far shorter than
 * MIME_LINE_MAX):
 *   a part inside a multipart or a message/rfc822 part: its header and
 *     body, replaced by a short text/plain part of its own, so the
 *     boundaries around it and the rest of the structure stay as they are;
 *   a uuencoded or BinHex file inside a text part: from its "begin" line
 *     (BinHex: the line whose data held its name) to its end, replaced by
 *     one line of text;
 *   the message itself, when it is one part that matches: its body, and
 *     its Content-Type, -Transfer-Encoding and -Disposition fields.
 * Pass 2 copies the spool with those ranges replaced.  Parts inside a
 * removed part are not looked at, and a multipart message is never
 * removed whole.
 */

#include <stddef.h>

#include "mime.h"
#include "rules.h"
#include "bodyfile.h"
#include "stream.h"

#define PLAN_NAME_MAX 200

struct cut {
	unsigned long first, end;	/* raw line indexes [first, end) */
	int kind;			/* CUT_PART, CUT_FILE, CUT_MESSAGE */
	char what[PLAN_NAME_MAX + 80];	/* "'x.vbs' (application/x-vbscript)" */
};

enum { CUT_PART, CUT_FILE, CUT_MESSAGE };

struct plan {
	const struct rules *rules;
	struct mime *walker;
	struct cut *cut;
	size_t n, alloc;
	unsigned long line;		/* raw lines seen */
	unsigned long body;		/* index of the message's first body line */
	int have_body, blank;		/* ... and whether an empty line came before */
	size_t removing;		/* depth + 1 of the part being removed; 0 */
	int file_open;			/* the last cut is a file still being read */
	unsigned flags;			/* mime_flags() of the message */
};

void plan_init(struct plan *, const struct rules *);
/* Pass 1 over the spooled message: 0, or -1 on a read error. */
int plan_walk(struct plan *, struct bodyfile *sp);
/*
 * Pass 2: write the message with the parts removed, tag (a header field
 * line, or NULL) first and old fields of its name dropped, text in place
 * of each part (%s: what the part was), and the final ".".  0 or -1.
 */
int plan_copy(const struct plan *, struct bodyfile *sp, struct stream_writer *w,
    const char *tag, const char *text);

#endif
