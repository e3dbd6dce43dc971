/*
 * Unit tests (TAP) for lib/cidr.c; run by t/14-cidr.t.
 */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "tap.h"

/* Does the range text r hold the address text a? -1 if either is malformed. */
static int
holds(const char *r, const char *a)
{
	struct cidr_range cr;
	struct cidr_addr ca;

	if (cidr_parse(r, &cr) < 0 || cidr_addr_parse(a, &ca) < 0)
		return -1;
	return cidr_match(&cr, &ca);
}

static int
same(const char *x, const char *y)
{
	struct cidr_addr a, b;

	return cidr_addr_parse(x, &a) == 0 && cidr_addr_parse(y, &b) == 0 &&
	    cidr_cmp(&a, &b) == 0;
}

static int
ntop_is(const char *in, const char *want)
{
	struct cidr_addr a;
	char buf[CIDR_ADDR_STRLEN];

	return cidr_addr_parse(in, &a) == 0 &&
	    strcmp(cidr_ntop(&a, buf, sizeof buf), want) == 0;
}

static int
rev_is(const char *in, int as_v6, const char *zone, const char *want)
{
	struct cidr_addr a;
	char buf[300];

	return cidr_addr_parse(in, &a) == 0 &&
	    cidr_reverse(&a, as_v6, zone, buf, sizeof buf) == 0 &&
	    strcmp(buf, want) == 0;
}

static void
test_forms(void)
{
	struct cidr_addr a;
	const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/",
		"1..2.3", "1.2.3.4x", "0x7f.0.0.1", "1234.1.1.1", "2001:db8::1::2",
		"2001:db8::g", "12345::", "[1.2.3.4", "fe80::1%eth0", "-1.2.3.4", NULL };
	int i, all = 1;

	ok(same("192.0.2.7", " 192.000.002.007\t"), "IPv4 with leading zeros is decimal, blanks trimmed");
	ok(same("2001:db8::7", "2001:0DB8:0000:0000:0000:0000:0000:0007"), "IPv6 compressed and full, any case");
	ok(same("2001:db8::7", "[IPv6:2001:db8::7]") && same("192.0.2.7", "[192.0.2.7]"),
	    "address literal forms");
	ok(same("192.0.2.7", "::ffff:192.0.2.7") && same("192.0.2.7", "::FFFF:C000:0207"),
	    "an IPv4-mapped address is the IPv4 address, in either notation");
	ok(!same("192.0.2.7", "::192.0.2.7"), "an IPv4-compatible address is not");
	for (i = 0; bad[i] != NULL; i++)
		all &= cidr_addr_parse(bad[i], &a) < 0;
	ok(all, "malformed addresses are refused (no octal, hex, zone ids, junk)");
	ok(ntop_is("::FFFF:7F00:2", "127.0.0.2") && ntop_is("2001:0db8::0001", "2001:db8::1"),
	    "addresses print in their usual form");
	cidr_addr_parse("::ffff:7f00:2", &a);
	ok(cidr_is_v4(&a) && cidr_addr_parse("::1", &a) == 0 && !cidr_is_v4(&a),
	    "cidr_is_v4 tells the families apart");
}

static void
test_ranges(void)
{
	struct cidr_range r;
	const char *bad[] = { "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/-1",
		"192.0.2.9-192.0.2.1", "192.0.2.1-2001:db8::1", "192.0.2.0/2x",
		"1.2.3.4-", "/24", "1.2.3.4.", "2001:db8:", "", NULL };
	int i, all = 1;

	ok(holds("192.0.2.0/24", "192.0.2.255") == 1 && holds("192.0.2.0/24", "192.0.3.0") == 0,
	    "an IPv4 CIDR block holds its addresses and no others");
	ok(holds("192.0.2.77/24", "192.0.2.1") == 1, "host bits of a block are ignored");
	ok(holds("2001:db8::/32", "2001:db8:ffff::1") == 1 && holds("2001:db8::/32", "2001:db9::") == 0,
	    "an IPv6 CIDR block");
	ok(holds("192.0.2.10-192.0.2.20", "192.0.2.10") == 1 &&
	    holds("192.0.2.10 - 192.0.2.20", "192.0.2.20") == 1 &&
	    holds("192.0.2.10-192.0.2.20", "192.0.2.21") == 0 &&
	    holds("192.0.2.10-192.0.2.20", "192.0.2.9") == 0, "a range a-b includes both ends only");
	ok(holds("2001:db8::1-2001:db8::1:0", "2001:db8::ffff") == 1, "an IPv6 range");
	ok(holds("192.0.2.0/24", "::ffff:192.0.2.9") == 1, "an IPv4 block holds the mapped address");
	ok(holds("::ffff:192.0.2.0/120", "192.0.2.9") == 1 && holds("::ffff:192.0.2.0/120", "192.0.3.0") == 0,
	    "a block written in IPv6 counts 128 bits, for mapped addresses too");
	ok(holds("0.0.0.0/0", "2001:db8::1") == 0 && holds("::/0", "2001:db8::1") == 1 &&
	    holds("::/0", "192.0.2.1") == 1, "0.0.0.0/0 is every IPv4 address only; ::/0 is all");
	ok(holds("192.0.2", "192.0.2.200") == 1 && holds("10.", "10.9.9.9") == 1 &&
	    holds("10", "11.0.0.0") == 0, "whole leading components are prefixes");
	ok(holds("192.0.2.7", "192.0.2.7") == 1 && holds("192.0.2.7", "192.0.2.8") == 0,
	    "one address");
	for (i = 0; bad[i] != NULL; i++)
		all &= cidr_parse(bad[i], &r) < 0;
	ok(all, "malformed ranges are refused (length, order, mixed families, junk)");
}

static void
test_misc(void)
{
	struct cidr_list l = { 0 };
	struct cidr_range r;
	struct cidr_addr a;
	char buf[CIDR_ADDR_STRLEN], small[10];

	cidr_parse("10.0.0.0/8", &r);
	cidr_list_add(&l, &r);
	cidr_parse("2001:db8::/32", &r);
	cidr_list_add(&l, &r);
	cidr_addr_parse("2001:db8::5", &a);
	ok(cidr_list_match(&l, &a) == 1, "a list gives the index of the range that holds");
	cidr_addr_parse("192.0.2.1", &a);
	ok(cidr_list_match(&l, &a) == -1, "and -1 when none does");
	cidr_list_free(&l);
	ok(l.n == 0 && cidr_list_match(&l, &a) == -1, "a freed list is empty");

	cidr_addr_parse("192.0.2.77", &a);
	cidr_mask(&a, 24);
	ok(strcmp(cidr_ntop(&a, buf, sizeof buf), "192.0.2.0") == 0, "the /24 of an IPv4 address");
	cidr_addr_parse("2001:db8:1:2:3:4:5:6", &a);
	cidr_mask(&a, 64);
	ok(strcmp(cidr_ntop(&a, buf, sizeof buf), "2001:db8:1:2::") == 0, "the /64 of an IPv6 address");

	ok(rev_is("127.0.0.2", 0, "bl.example", "2.0.0.127.bl.example"), "IPv4 DNS-BL name");
	ok(rev_is("::FFFF:7F00:2", 1, "bl6.example",
	    "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl6.example"),
	    "IPv6 DNS-BL name (RFC 5782 test point)");
	ok(rev_is("2001:db8::1", 0, "",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"), "no zone");
	cidr_addr_parse("127.0.0.2", &a);
	ok(cidr_reverse(&a, 0, "example", small, sizeof small) == -1, "a name that does not fit is refused");
}

int
main(void)
{
	test_forms();
	test_ranges();
	test_misc();
	return tap_done();
}
