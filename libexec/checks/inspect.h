#ifndef INSPECT_H
#define INSPECT_H

/*
 * The first pass of sluice-checks over a spooled message: the MIME walker
 * (lib/mime.h) hands over each header block and the decoded content of
 * each text part; every unfolded header field goes through the header
 * table, every decoded body line through the body table, and the first
 * rule that matches a line decides for that line (as in Postfix).
 *
 * What the message as a whole comes to: REJECT and DISCARD end the
 * inspection (the first one found wins); HOLD holds unless a later line
 * rejects or discards; WARN logs; TAG adds a header field (once per
 * rule); REPLACE and IGNORE edit a header field, kept as edits for the
 * second pass (rewrite.h).
 */

#include <stddef.h>

#include "mime.h"
#include "rules.h"

#define INSPECT_FIELD_MAX 16384	/* octets of an unfolded field that are matched */
#define INSPECT_LINE_MAX 998	/* a decoded body line longer than this is cut into pieces */
#define INSPECT_EDITS_MAX 1000	/* REPLACE and IGNORE per message */
#define INSPECT_TAGS_MAX 100	/* TAG fields per message */

enum verdict { V_PASS, V_HOLD, V_DISCARD, V_REJECT };

/* A header field to replace or drop: lines [line, line + nlines) of an entity. */
struct edit {
	size_t entity;		/* which header block: 0 the message, in walk order */
	size_t line, nlines;
	const struct rule *rule;	/* REPLACE: its text; IGNORE */
};

struct inspect {
	/* set by the caller */
	const struct rules *hdr, *body;	/* NULL: no such table */
	int mime_headers;	/* the header blocks of MIME parts too */
	const char *qid;	/* for the log */
	/* the result */
	enum verdict verdict;
	const struct rule *why;		/* the rule that decided it */
	const struct rules *table;	/* its table */
	const struct rule *tags[INSPECT_TAGS_MAX];
	size_t ntags;
	struct edit edits[INSPECT_EDITS_MAX];
	size_t nedits;
	/* the walk */
	struct mime *walker;
	size_t entities;
	int in_text;		/* decoding a text part */
	char charset[64];
	char line[INSPECT_LINE_MAX + 1];
	size_t len;
	char field[INSPECT_FIELD_MAX + 1];
	char utf8[4 * INSPECT_LINE_MAX + 1];
};

/* The walker, with the limits of the settings; exits when out of memory. */
void inspect_init(struct inspect *);
/* Start a message. */
void inspect_reset(struct inspect *, const char *qid);
/* One line of the message; 1 when the verdict is final (stop feeding). */
int inspect_line(struct inspect *, const char *s, size_t n);
void inspect_end(struct inspect *);

#endif
