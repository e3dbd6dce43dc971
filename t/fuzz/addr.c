/*
 * Fuzz target: the address parser (lib/addr.h).  The first octet picks
 * the flags, the rest is the path's text.  Beyond not crashing: a failure
 * points inside the input, and an address that parses comes out in a
 * normal form that parses again to itself (stages re-read what others
 * wrote), within the RFC 5321 limits the header promises.
 */
#include <string.h>

#include "addr.h"
#include "fuzz.h"

static void
check_normal(const struct addr *a, unsigned flags)
{
	char buf[ADDR_PATH_MAX + 8], again[ADDR_PATH_MAX + 8];
	struct addr b;
	struct addr_err e;
	size_t n = addr_format(a, buf, sizeof buf);

	if (n >= sizeof buf)
		fuzz_fail("normal form does not fit a path");
	if (addr_parse(buf, n, flags, &b, &e) < 0)
		fuzz_fail("normal form does not parse");
	if (addr_format(&b, again, sizeof again) != n || memcmp(buf, again, n) != 0)
		fuzz_fail("normal form is not stable");
	if (b.null != a->null || b.literal != a->literal)
		fuzz_fail("normal form changes the kind of address");
	if (strlen(a->domain) > ADDR_DOMAIN_MAX)
		fuzz_fail("domain longer than its limit");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	unsigned flags;
	struct addr a;
	struct addr_err e;
	long end;
	size_t n;

	if (size == 0)
		return 0;
	flags = data[0] & (ADDR_NULL_OK | ADDR_UNQUAL_OK | ADDR_UTF8);
	n = size - 1;
	if (addr_parse(s, n, flags, &a, &e) == 0)
		check_normal(&a, flags);
	else if (e.msg == NULL || e.pos > n)
		fuzz_fail("error without a message or past the input");
	(void)utf8_valid(s, n);
	(void)domain_valid(s, n, flags);
	if (n > 0 && s[0] == '<') {
		end = addr_path_end(s, n);
		if (end != -1 && (end < 1 || (size_t)end >= n || s[end] != '>'))
			fuzz_fail("addr_path_end outside the input or not at '>'");
	}
	return 0;
}
