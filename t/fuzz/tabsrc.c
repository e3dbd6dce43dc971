/*
 * Fuzz target: the table source parser of sluice-mkcdb (lib/tabsrc.h),
 * over a whole file read as sluice-mkcdb reads it (lines of at most 8192
 * octets).  Each line parses or is refused with a reason; a key is one
 * word within its limit, a value is trimmed, and both lie in the line.
 */
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "table.h"
#include "tabsrc.h"

#define LINE_MAX_MKCDB 8192

static int
inside(const char *p, size_t n, const char *line, size_t len)
{
	return p >= line && p + n <= line + len;
}

static void
check(const struct tabsrc_line *l, const char *line, size_t len)
{
	size_t i;

	if (l->kind == TABSRC_NONE)
		return;
	if (!inside(l->val, l->vlen, line, len) || l->vlen >= TABLE_VAL_MAX)
		fuzz_fail("value outside the line or too long");
	if (l->vlen > 0 && (l->val[0] == ' ' || l->val[0] == '\t' ||
	    l->val[l->vlen - 1] == ' ' || l->val[l->vlen - 1] == '\t' ||
	    l->val[l->vlen - 1] == '\n'))
		fuzz_fail("value not trimmed");
	if (l->kind == TABSRC_CONT)
		return;
	if (l->klen == 0 || l->klen >= TABLE_KEY_MAX ||
	    !inside(l->key, l->klen, line, len))
		fuzz_fail("key empty, too long or outside the line");
	for (i = 0; i < l->klen; i++)
		if (l->key[i] == ' ' || l->key[i] == '\t' || l->key[i] == '\n' ||
		    l->key[i] == '\0')
			fuzz_fail("white space or NUL in a key");
	if (l->klen == 1 && l->key[0] == '*')
		fuzz_fail("a lone * taken as a key");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rbuf rb;
	struct tabsrc_line tl;
	const char *line, *why;
	size_t len;
	/* The aliases form when the input's first octet is odd: both are fuzzed. */
	int aliases = size > 0 && (data[0] & 1), fd = fuzz_memfd(data, size), rc;

	if (rbuf_init(&rb, fd, LINE_MAX_MKCDB + 1) < 0)
		fuzz_fail("out of memory");
	while ((rc = rbuf_getline(&rb, &line, &len, LINE_MAX_MKCDB + 1)) > 0) {
		why = NULL;
		if (tabsrc_parse(line, len, aliases, &tl, &why) < 0) {
			if (why == NULL)
				fuzz_fail("refused without a reason");
			continue;
		}
		check(&tl, line, len);
	}
	rbuf_free(&rb);
	close(fd);
	return 0;
}
