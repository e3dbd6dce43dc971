#ifndef RULES_H
#define RULES_H

/*
 * A table of header or body checks, in the form Postfix admins know from
 * header_checks and body_checks:
 *
 *   # comment
 *   /^Subject: .*viagra/i      REJECT no pills here
 *   !/^X-Mailer: known/        WARN unknown mailer
 *   /^Received: from evil\./   HOLD
 *
 * A rule is a POSIX extended regular expression between two delimiters
 * ('/' or any other punctuation octet; a backslash before the delimiter
 * makes it part of the pattern), optional flags (i: ignore case), an
 * action and its text.  '!' before the pattern inverts the match.  A line
 * that starts with white space continues the rule above.  Every pattern
 * is compiled when the table is read; one bad rule refuses the whole
 * table, with FILE:LINE and why.
 */

#include <regex.h>
#include <stddef.h>

#define RULES_MAX 10000		/* rules per table */
#define RULES_LINE_MAX 8192	/* a rule, its continuation lines joined */
#define RULES_PATTERN_MAX 4096	/* octets of one pattern */
#define RULES_TEXT_MAX 900	/* an action's text (a header field for TAG, REPLACE) */

enum rule_action { RA_REJECT, RA_DISCARD, RA_HOLD, RA_WARN, RA_REPLACE, RA_TAG,
	RA_IGNORE, RA_DUNNO };

struct rule {
	regex_t re;
	int negate;
	enum rule_action action;
	char *text;		/* "" when none */
	unsigned long line;	/* in the table file */
};

struct rules {
	const char *file;	/* as given */
	struct rule *r;
	size_t n;
	int body;		/* a body table: REPLACE and IGNORE make no sense there */
};

extern const char *const rule_action_names[];

/*
 * Read and compile the table file path.  0, or -1 with err set
 * ("conf/header_checks:12: ..."); a table that cannot be opened is -1 too.
 */
int rules_load(struct rules *, const char *path, int body, char *err,
    size_t esize);
void rules_free(struct rules *);
/* The first rule that matches s (NUL-terminated), or NULL. */
const struct rule *rules_match(const struct rules *, const char *s);

#endif
