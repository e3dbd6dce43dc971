#ifndef RULES_H
#define RULES_H

/*
 * What sluice-attach looks for: the setting attach_block, a list of
 * patterns separated by white space or commas, each
 *   *.vbs                     a file name glob
 *   application/x-msdownload  a content type glob ("video/" and a star allowed)
 *   application/zip:*.exe     both: the type and the name
 * Globs are fnmatch(3) patterns matched ignoring case, on the type as
 * lower-cased by the walker and on the file name decoded from RFC 2231
 * and RFC 2047; a name also matches without its trailing dots and spaces
 * ("x.vbs." and "x.vbs " open as x.vbs on Windows).  A part with no name
 * matches no name glob.
 */

#include <stddef.h>

#include "mime.h"

#define RULES_MAX 256

struct rules {
	char *buf;		/* the setting, cut into the globs below */
	struct { const char *type, *name; } r[RULES_MAX];	/* NULL: any */
	size_t n;
};

/* Parse a pattern list: 0, or -1 with err set. */
int rules_parse(struct rules *, const char *list, char *err, size_t errsz);
/* Whether part p matches one pattern. */
int rules_match(const struct rules *, const struct mime_part *p);

#endif
