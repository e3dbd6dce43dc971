#ifndef STRSET_H
#define STRSET_H

/*
 * A set of strings compared without regard to ASCII case, insert only:
 * addresses already seen, queue ids in flight.  The strings are copied
 * into one block, so clearing a set for reuse frees nothing.  A zeroed
 * struct strset is an empty set.
 */

#include <stddef.h>

struct strset {
	size_t *slot;	/* offset + 1 into text, 0 for a free slot */
	size_t cap, n;	/* cap is 0 or a power of two */
	char *text;	/* the strings, NUL-terminated, one after another */
	size_t len, size;
};

/* Add a copy of s: 1 when it was new, 0 when already there, -1 out of memory. */
int strset_add(struct strset *, const char *s);
int strset_has(const struct strset *, const char *s);
/* Empty the set, keeping its memory for the next strings. */
void strset_clear(struct strset *);
/* Empty the set and free its memory. */
void strset_free(struct strset *);

#endif
