#ifndef TABSRC_H
#define TABSRC_H

/*
 * One line of a table's text source (sluice-mkcdb(1)): "key value", a
 * continuation of the value (a line that starts with white space), or
 * nothing (blank, comment).  sluice-mkcdb joins continuations and builds
 * the table; the parsing is here so that it can be tested and fuzzed on
 * its own (t/fuzz/tabsrc.c).
 */

#include <stddef.h>

enum tabsrc_kind { TABSRC_NONE, TABSRC_ENTRY, TABSRC_CONT };

struct tabsrc_line {
	enum tabsrc_kind kind;
	const char *key;	/* ENTRY: the key as written, "*." made "." */
	size_t klen;		/* below TABLE_KEY_MAX */
	const char *val;	/* ENTRY, CONT: the value, white space trimmed */
	size_t vlen;		/* below TABLE_VAL_MAX */
};

/*
 * Parse line[0..len), its LF or CRLF included or not; the pointers of l
 * point into line.  aliases: the aliases table, whose key may also end
 * at a colon (the /etc/aliases form "name: value").  0, or -1 with *err
 * saying what is wrong.
 */
int tabsrc_parse(const char *line, size_t len, int aliases,
    struct tabsrc_line *l, const char **err);

#endif
