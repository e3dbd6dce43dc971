#ifndef TEXTS_H
#define TEXTS_H

/*
 * Which disclaimer a message gets (sluice-disclaimer(8)): the table
 * disclaimers, keyed by the sender's address when it is known (address
 * lookup order; the sender of a transaction with AUTH=, other than <>,
 * or of a local submission)
 * or by a client network (192.0.2.0/24, the most specific one wins),
 * with the value "text=FILE html=FILE" (either may be left out) or
 * "none"; else the settings disclaimer_text and disclaimer_html.  Files
 * are UTF-8, at most TEXTS_FILE_MAX octets, lines at most TEXTS_LINE_MAX;
 * a relative name is in the configuration folder.  Each file is read once.
 */

#include <stddef.h>

#include "cidr.h"
#include "stream.h"
#include "table.h"

#define TEXTS_FILE_MAX 16384
#define TEXTS_LINE_MAX 900

struct dtext {
	const char *text, *html;	/* UTF-8, lines ended by LF; NULL: none */
};

struct texts_file {
	char *path, *data;
};

struct texts_net {
	struct cidr_range c;
	struct dtext d;
};

struct texts {
	struct table tab;
	struct texts_net *nets;
	size_t nnets;
	struct texts_file *files;
	size_t nfiles;
	size_t entries;		/* rows in the table */
	struct dtext dflt;
	struct dtext chosen;
};

/* Load the settings and the table: 0, or -1 with err set. */
int texts_load(struct texts *, char *err, size_t errsz);
/* The disclaimer for t (both members NULL: none); -1 with err set. */
int texts_for(struct texts *, const struct txn *t, const struct dtext **d,
    char *err, size_t errsz);
/* Whether any disclaimer is configured at all. */
int texts_any(const struct texts *);

#endif
