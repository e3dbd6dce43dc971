/*
 * Unit tests (TAP) for lib/text.c's scans against plain loops: text_find
 * and text_drop over random buffers of every length up to 300 and of
 * every density of the octet sought, and a lone one at each place of a
 * line; run by t/14-text-scans.t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "text.h"

static size_t
drop_ref(const char *s, size_t n, char c, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (s[i] != c)
			out[o++] = s[i];
	return o;
}

static const char *
find_ref(const char *s, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

int
main(void)
{
	char buf[400], ref[400], work[400];
	size_t n, k, got, want;
	int round, density, bad_drop = 0, bad_find = 0, pos;

	srand(9);
	for (round = 0; round < 500; round++)
		for (n = 0; n <= 300; n++) {
			density = rand() % 6;	/* 0: none; 5: nearly all */
			for (k = 0; k < n; k++)
				buf[k] = rand() % 10 < density * 2 ? '\r' : (char)('a' + rand() % 26);
			memcpy(work, buf, n);
			want = drop_ref(buf, n, '\r', ref);
			got = text_drop(work, n, '\r');
			if (got != want || memcmp(work, ref, want) != 0)
				bad_drop++;
			if (text_find(buf, n, '\r') != find_ref(buf, n, '\r'))
				bad_find++;
		}
	ok(bad_drop == 0, "text_drop leaves out every CR and keeps the rest, in order");
	ok(bad_find == 0, "text_find finds the first CR, or none");
	/* CRLF lines of 77 octets, as sluice-smtp's spool holds them. */
	for (k = 0, n = 0; k < 5; k++) {
		memset(buf + n, 'a' + (int)k, 77);
		memcpy(buf + n + 77, "\r\n", 2);
		n += 79;
	}
	memcpy(work, buf, n);
	want = drop_ref(buf, n, '\r', ref);
	ok(text_drop(work, n, '\r') == want && memcmp(work, ref, want) == 0,
	    "CRLF lines become LF lines");
	bad_drop = 0;
	for (pos = 0; pos < 77; pos++) {
		memset(buf, 'x', 77);
		buf[pos] = '\r';
		memcpy(work, buf, 77);
		if (text_drop(work, 77, '\r') != 76 || memchr(work, '\r', 76) != NULL)
			bad_drop++;
	}
	ok(bad_drop == 0, "a lone CR anywhere in a 77-octet line goes");
	memset(work, '\r', 64);
	ok(text_drop(work, 64, '\r') == 0, "a buffer of CRs only becomes empty");
	return tap_done();
}
