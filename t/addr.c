/*
 * Unit tests (TAP) for lib/addr.c, lib/param.c and lib/xtext.c; run by
 * t/10-addr-parse-format-xtext.t.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "stream.h"
#include "param.h"
#include "xtext.h"
#include "tap.h"

/* addr_parse(s) must give want (addr_format), or fail at pos with msg. */
static void
good(const char *s, unsigned fl, const char *want)
{
	struct addr a;
	struct addr_err e = { 0, "" };
	char buf[600], name[800];
	int rc = addr_parse(s, strlen(s), fl, &a, &e);

	if (rc == 0)
		addr_format(&a, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "error at %zu: %s", e.pos, e.msg);
	snprintf(name, sizeof name, "<%.300s> -> <%s>", s, want);
	ok(rc == 0 && strcmp(buf, want) == 0, name);
	if (rc != 0 || strcmp(buf, want) != 0)
		printf("# got <%s>\n", buf);
}

static void
bad(const char *s, unsigned fl, size_t pos, const char *msg)
{
	struct addr a;
	struct addr_err e = { 0, "" };
	char name[800];
	int rc = addr_parse(s, strlen(s), fl, &a, &e);

	snprintf(name, sizeof name, "<%.300s> refused at %zu: %s", s, pos, msg);
	ok(rc == -1 && e.pos == pos && strcmp(e.msg, msg) == 0, name);
	if (!(rc == -1 && e.pos == pos && strcmp(e.msg, msg) == 0))
		printf("# got rc %d at %zu: %s\n", rc, e.pos, rc ? e.msg : "");
}

/* Like bad(), for input with a NUL inside: its length is given. */
static void
badn(const char *s, size_t n, size_t pos, const char *msg, const char *name)
{
	struct addr a;
	struct addr_err e = { 0, "" };
	int rc = addr_parse(s, n, 0, &a, &e);

	ok(rc == -1 && e.pos == pos && strcmp(e.msg, msg) == 0, name);
	if (!(rc == -1 && e.pos == pos && strcmp(e.msg, msg) == 0))
		printf("# got rc %d at %zu: %s\n", rc, e.pos, rc ? e.msg : "");
}

/*
 * NUL, CR and LF belong nowhere in a path: put each at every position of
 * addresses of every shape, and count the inputs addr_parse takes.
 */
static void
test_ctl_everywhere(void)
{
	static const char *const shapes[] = { "john.doe@example.org",
		"\"a b\\\"c\"@example.org", "x@[192.0.2.1]",
		"x@[IPv6:2001:db8::1]", "x@[tag:foo]", "@a.example,@b.example:x@c.example",
		"postmaster" };
	static const char ctl[] = { '\0', '\r', '\n' };
	char s[300], name[100];
	size_t i, j, k, n, taken;
	struct addr a;
	struct addr_err e;

	for (k = 0; k < sizeof ctl; k++) {
		taken = 0;
		for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
			n = strlen(shapes[i]);
			for (j = 0; j <= n; j++) {
				memcpy(s, shapes[i], j);
				s[j] = ctl[k];
				memcpy(s + j + 1, shapes[i] + j, n - j);
				if (addr_parse(s, n + 1, ADDR_UNQUAL_OK | ADDR_UTF8,
				    &a, &e) == 0) {
					taken++;
					printf("# taken: %s with 0x%02x at %zu\n",
					    shapes[i], ctl[k], j);
				}
			}
		}
		snprintf(name, sizeof name, "0x%02x at any position of an "
		    "address is refused", ctl[k]);
		ok(taken == 0, name);
	}
}

static char *
rep(char c, size_t k, const char *tail)
{
	static char b[2][1100];
	static int w;
	char *p = b[w ^= 1];

	memset(p, c, k);
	strcpy(p + k, tail);
	return p;
}

/* "a@" and three labels of 63 and one of last. */
static void
labels(char *s, size_t last)
{
	size_t i, o = 0;

	s[o++] = 'a', s[o++] = '@';
	for (i = 0; i < 3; i++) {
		memset(s + o, 'd' + (int)i, 63);
		o += 63;
		s[o++] = '.';
	}
	memset(s + o, 'g', last);
	s[o + last] = '\0';
}

static void
test_addr(void)
{
	char s[700];

	good("john.doe@Example.ORG", 0, "john.doe@example.org");
	good("\"john.doe\"@example.org", 0, "john.doe@example.org");
	good("\"a b\"@example.org", 0, "\"a b\"@example.org");
	good("\"\\a\\b\"@example.org", 0, "ab@example.org");
	good("\"a\\\"b\"@example.org", 0, "\"a\\\"b\"@example.org");
	good("\"a\\\\b\"@example.org", 0, "\"a\\\\b\"@example.org");
	good("\"a..b\"@example.org", 0, "\"a..b\"@example.org");
	good("Mixed.Case@EXAMPLE.org", 0, "Mixed.Case@example.org");
	good("a@[192.0.2.1]", 0, "a@[192.0.2.1]");
	good("a@[IPv6:2001:DB8:0:0:0:0:0:1]", 0, "a@[IPv6:2001:db8::1]");
	good("a@[ipv6:::ffff:192.0.2.1]", 0, "a@[IPv6:::ffff:192.0.2.1]");
	good("@a.example,@b.example:x@c.example", 0, "x@c.example");
	good("@a.example:x@c.example", 0, "x@c.example");
	good("", ADDR_NULL_OK, "");
	good("postmaster", ADDR_UNQUAL_OK, "postmaster");
	good("jöran@bücher.example", ADDR_UTF8, "jöran@bücher.example");
	good("a@BÜCHER.Example", ADDR_UTF8, "a@bÜcher.example");
	good(rep('l', 64, "@example.org"), 0, rep('l', 64, "@example.org"));
	/* A mailbox of 254: "a@" and a domain of 63+1+63+1+63+1+60 = 252. */
	labels(s, 60);
	ok(strlen(s) == 254, "the longest mailbox is 254 octets");
	good(s, 0, s);

	bad("", 0, 0, "empty address");
	bad("a", 0, 1, "address has no domain");
	bad(rep('l', 65, "@example.org"), 0, 64, "local part longer than 64 octets");
	bad(rep('d', 65, ""), ADDR_UNQUAL_OK, 64, "local part longer than 64 octets");
	snprintf(s, sizeof s, "a@%s.example", rep('d', 64, ""));
	bad(s, 0, 65, "domain label longer than 63 octets");
	labels(s, 61);
	bad(s, 0, 254, "address longer than 254 octets");
	bad("a..b@example.org", 0, 2, "misplaced dot in local part");
	bad(".a@example.org", 0, 0, "misplaced dot in local part");
	bad("a b@example.org", 0, 1, "invalid character in local part");
	bad("a@ex_ample.org", 0, 4, "invalid character in domain");
	bad("a@-example.org", 0, 2, "domain label starts with a hyphen");
	bad("a@example-.org", 0, 9, "domain label ends with a hyphen");
	bad("a@example..org", 0, 10, "empty label in domain");
	bad("a@example.org.", 0, 13, "domain ends with a dot");
	bad("a@", 0, 2, "empty domain");
	bad("a@[300.1.2.3]", 0, 3, "invalid IPv4 address literal");
	bad("a@[IPv6:1::2::3]", 0, 8, "invalid IPv6 address literal");
	bad("a@[192.0.2.1", 0, 11, "address literal not closed by ]");
	good("x@[tag:foo]", 0, "x@[tag:foo]");
	badn("x@[tag:f\0oo]", 12, 8, "NUL octet in address literal",
	    "a NUL in a general address literal is refused, not cut at");
	badn("x@[192.0.2.1\0x]", 15, 12, "NUL octet in address literal",
	    "a NUL after an IPv4 literal is refused, not cut at");
	badn("x@[IPv6:::1\0x]", 14, 11, "NUL octet in address literal",
	    "a NUL after an IPv6 literal is refused, not cut at");
	bad("x@[tag:f o]", 0, 8, "invalid character in address literal");
	test_ctl_everywhere();
	bad("jöran@example.org", 0, 1, "8-bit octet in local part without SMTPUTF8");
	bad("a@bücher.example", 0, 3, "8-bit octet in domain without SMTPUTF8");
	bad("a\xc3(@example.org", ADDR_UTF8, 1, "invalid UTF-8 in local part");
	bad("a@b\xed\xa0\x80.example", ADDR_UTF8, 3, "invalid UTF-8 in domain");
	bad("\"ab@example.org", 0, 15, "unterminated quoted local part");
	bad("@a.example", 0, 0, "source route without a colon");
	bad("@a_b.example:x@c.example", 0, 2, "invalid character in domain");

	ok(addr_path_end("<\"a>b\"@c>", 9) == 8, "addr_path_end skips > inside quotes");
	ok(addr_path_end("<a@b", 4) == -1, "addr_path_end: unclosed path");
	ok(utf8_valid("\xc3\xa9", 2) && !utf8_valid("\xc0\xaf", 2) &&
	    !utf8_valid("\xed\xa0\x80", 3), "utf8_valid refuses overlongs and surrogates");
	{
		struct addr a;
		struct addr_err e;

		addr_parse("PostMaster", 10, ADDR_UNQUAL_OK, &a, &e);
		ok(addr_is_postmaster(&a), "addr_is_postmaster in any case");
	}
}

/* param_parse on MAIL (is_rcpt 0) or RCPT; expect rc and reply code. */
static int
pp(const char *s, int is_rcpt, struct txn *t, int *code, const char **err)
{
	struct rcpt *r = NULL;

	txn_free(t);
	if (is_rcpt)
		r = txn_add_rcpt(t, "b@example.org");
	*code = 0;
	return param_parse(t, r, s, strlen(s), is_rcpt, err, code);
}

static void
test_param(void)
{
	struct txn t;
	const char *err = "";
	int code;

	txn_init(&t);
	ok(pp(" SIZE=1834 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<>", 0,
	    &t, &code, &err) == 0 && t.has_size && t.size == 1834 &&
	    t.body == BODY_8BITMIME && t.smtputf8 && t.ret == RET_HDRS &&
	    strcmp(t.envid, "QQ314159") == 0 && strcmp(t.auth, "<>") == 0,
	    "MAIL parameters are parsed");
	ok(pp(" size=0 body=7bit ret=full", 0, &t, &code, &err) == 0 &&
	    t.size == 0 && t.has_size && t.body == BODY_7BIT && t.ret == RET_FULL,
	    "keywords and values in any case");
	ok(pp(" NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+2Bx@example.org", 1, &t, &code,
	    &err) == 0 && t.rcpt[0].notify == (NOTIFY_SUCCESS | NOTIFY_DELAY) &&
	    strcmp(t.rcpt[0].orcpt, "rfc822;b+2Bx@example.org") == 0,
	    "RCPT parameters are parsed");
	ok(pp(" NOTIFY=NEVER", 1, &t, &code, &err) == 0 &&
	    t.rcpt[0].notify == NOTIFY_NEVER, "NOTIFY=NEVER");
	ok(pp(" X-ROUTE=smtp:[192.0.2.1] x-flag", 1, &t, &code, &err) == 0 &&
	    t.rcpt[0].nx == 2 && strcmp(t.rcpt[0].x[0].key, "X-ROUTE") == 0 &&
	    strcmp(xparam_get(t.rcpt[0].x, 2, "x-route"), "smtp:[192.0.2.1]") == 0 &&
	    t.rcpt[0].x[1].val == NULL, "private X- parameters, with and without a value");
	ok(pp(" X-NOTICE=bounce", 0, &t, &code, &err) == 0 && t.nx == 1,
	    "a private parameter on MAIL");

#define REFUSE(s, r, c, what) do { \
	ok(pp(s, r, &t, &code, &err) == -1 && code == (c), what); \
	printf("# %s\n", err); \
} while (0)
	REFUSE(" FOO=bar", 0, 555, "unknown MAIL parameter is 555");
	REFUSE(" SIZE=10", 1, 555, "SIZE on RCPT is 555");
	REFUSE(" NOTIFY=NEVER", 0, 555, "NOTIFY on MAIL is 555");
	REFUSE(" BODY=BINARYMIME", 0, 555, "BODY=BINARYMIME is 555");
	REFUSE(" SIZE=1 SIZE=2", 0, 501, "duplicate SIZE is 501");
	REFUSE(" BODY=7BIT BODY=8BITMIME", 0, 501, "duplicate BODY");
	REFUSE(" SMTPUTF8 SMTPUTF8", 0, 501, "duplicate SMTPUTF8");
	REFUSE(" RET=FULL RET=HDRS", 0, 501, "duplicate RET");
	REFUSE(" ENVID=a ENVID=b", 0, 501, "duplicate ENVID");
	REFUSE(" AUTH=<> AUTH=<>", 0, 501, "duplicate AUTH");
	REFUSE(" NOTIFY=DELAY NOTIFY=DELAY", 1, 501, "duplicate NOTIFY");
	REFUSE(" ORCPT=rfc822;a ORCPT=rfc822;a", 1, 501, "duplicate ORCPT");
	REFUSE(" X-A=1 x-a=2", 1, 501, "duplicate private parameter");
	REFUSE(" X-ROUTE=pipe:/bin/true+00x", 1, 501,
	    "a private parameter value that encodes a NUL");
	REFUSE(" SIZE=abc", 0, 501, "SIZE must be digits");
	REFUSE(" SIZE=99999999999999999999", 0, 501, "SIZE out of range");
	REFUSE(" SIZE", 0, 501, "SIZE needs a value");
	REFUSE(" BODY=9BIT", 0, 501, "unknown BODY value");
	REFUSE(" SMTPUTF8=yes", 0, 501, "SMTPUTF8 takes no value");
	REFUSE(" RET=ALL", 0, 501, "unknown RET value");
	REFUSE(" ENVID=a+zz", 0, 501, "ENVID must be xtext");
	{
		char s[300];

		snprintf(s, sizeof s, " ENVID=%s", rep('e', 101, ""));
		REFUSE(s, 0, 501, "ENVID over 100 octets");
		snprintf(s, sizeof s, " ENVID=%s", rep('e', 100, ""));
		ok(pp(s, 0, &t, &code, &err) == 0, "ENVID of 100 octets");
	}
	REFUSE(" NOTIFY=NEVER,DELAY", 1, 501, "NEVER cannot be combined");
	REFUSE(" NOTIFY=SUCCESS,", 1, 501, "NOTIFY with a trailing comma");
	REFUSE(" NOTIFY=SOMETIMES", 1, 501, "unknown NOTIFY value");
	REFUSE(" ORCPT=rfc822", 1, 501, "ORCPT needs a type and an address");
	REFUSE(" ORCPT=rfc822;a b", 1, 555, "ORCPT value ends at a space");
	REFUSE(" AUTH=a=b", 0, 501, "AUTH must be xtext");
	REFUSE(" =x", 0, 501, "empty keyword");
	REFUSE(" SIZE=", 0, 501, "empty value");
	REFUSE(" X-1 X-2 X-3 X-4 X-5 X-6 X-7 X-8 X-9", 1, 501,
	    "more than 8 private parameters");
	txn_free(&t);
}

static void
test_xtext(void)
{
	char out[64];

	ok(xtext_valid("a+2Bb", 5) && !xtext_valid("a+2bb", 5) &&
	    !xtext_valid("a=b", 3) && !xtext_valid("a b", 3) &&
	    !xtext_valid("a+2", 3), "xtext_valid: upper-case hex, no = or space");
	ok(xtext_decode("a+2Bb+3Dc", 9, out, sizeof out) == 5 &&
	    strcmp(out, "a+b=c") == 0, "xtext_decode");
	ok(xtext_encode("a+b=c d\xe9", 8, out, sizeof out) > 0 &&
	    strcmp(out, "a+2Bb+3Dc+20d+E9") == 0, "xtext_encode");
	ok(xtext_decode("abcdef", 6, out, 4) == -1, "xtext_decode: too long");
	ok(xtext_decode("a+00b", 5, out, sizeof out) == -1,
	    "xtext_decode refuses +00, which would cut its C string");
	ok(xtext_encode("++++", 4, out, 8) == -1, "xtext_encode: does not fit");
}

int
main(void)
{
	test_addr();
	test_param();
	test_xtext();
	return tap_done();
}
