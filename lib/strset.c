#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strset.h"

/* FNV-1a of the lowercased string. */
static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s)) *
		    16777619u;
	return h;
}

/* The slot that holds s, or the free slot where it would go. */
static size_t
find(const struct strset *st, const char *s)
{
	size_t i;

	for (i = hash(s) & (st->cap - 1); st->slot[i] != 0;
	    i = (i + 1) & (st->cap - 1))
		if (strcasecmp(st->text + st->slot[i] - 1, s) == 0)
			break;
	return i;
}

/* Twice the slots (64 at first), the strings placed again. */
static int
grow(struct strset *st)
{
	size_t cap = st->cap ? 2 * st->cap : 64, *old = st->slot, i, j;

	if ((st->slot = calloc(cap, sizeof *st->slot)) == NULL) {
		st->slot = old;
		return -1;
	}
	for (i = 0; i < st->cap; i++)
		if (old[i] != 0) {
			for (j = hash(st->text + old[i] - 1) & (cap - 1);
			    st->slot[j] != 0; j = (j + 1) & (cap - 1))
				;
			st->slot[j] = old[i];
		}
	free(old);
	st->cap = cap;
	return 0;
}

int
strset_add(struct strset *st, const char *s)
{
	size_t i, n = strlen(s) + 1;

	if (strset_has(st, s))
		return 0;
	if (2 * (st->n + 1) > st->cap && grow(st) < 0)
		return -1;
	if (st->len + n > st->size) {
		size_t size = st->size ? st->size : 1024;
		char *p;

		while (size < st->len + n)
			size *= 2;
		if ((p = realloc(st->text, size)) == NULL)
			return -1;
		st->text = p;
		st->size = size;
	}
	memcpy(st->text + st->len, s, n);
	i = find(st, s);
	st->slot[i] = st->len + 1;
	st->len += n;
	st->n++;
	return 1;
}

int
strset_has(const struct strset *st, const char *s)
{
	return st->cap != 0 && st->slot[find(st, s)] != 0;
}

void
strset_clear(struct strset *st)
{
	if (st->cap != 0)
		memset(st->slot, 0, st->cap * sizeof *st->slot);
	st->n = st->len = 0;
}

void
strset_free(struct strset *st)
{
	free(st->slot);
	free(st->text);
	memset(st, 0, sizeof *st);
}
