#ifndef TXNCHECK_H
#define TXNCHECK_H

/*
 * The stream's round trip, for the fuzz targets that read envelopes:
 * what the writer emits for a transaction the reader accepted is read
 * again to the same envelope and body (every stage reads what the one
 * before it wrote).  Aborts when it is not.
 */

#include <stddef.h>

#include "stream.h"

struct lines {
	char *buf;		/* each line: its length (size_t), then its octets */
	size_t len, size;
};

void lines_add(struct lines *, const char *s, size_t n);
void lines_free(struct lines *);
void txncheck_roundtrip(const struct txn *t, const struct lines *body);

#endif
