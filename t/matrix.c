/*
 * Unit tests (TAP) for lib/cidr.c and lib/matrix.c; run by
 * t/14-matrix.t, which compiles the tables content and access into
 * SLUICE_CONF first.
 */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "matrix.h"
#include "tap.h"

static int
in(const char *net, const char *addr)
{
	struct cidr_range n;
	struct cidr_addr a;

	return cidr_parse(net, &n) == 0 && cidr_addr_parse(addr, &a) == 0 &&
	    cidr_match(&n, &a);
}

static void
cidr_tests(void)
{
	struct cidr_range c;

	ok(in("192.0.2.0/24", "192.0.2.255") && !in("192.0.2.0/24", "192.0.3.0"),
	    "an IPv4 /24 holds its addresses only");
	ok(in("10.0.0.0/9", "10.127.1.1") && !in("10.0.0.0/9", "10.128.0.0"),
	    "a prefix that is not a whole octet");
	ok(in("2001:db8::/32", "2001:db8:ffff::1") && !in("2001:db8::/32", "2001:db9::1"),
	    "an IPv6 /32");
	ok(in("192.0.2.7", "192.0.2.7") && !in("192.0.2.7", "192.0.2.8"), "one address");
	ok(in("192.0.2.0/24", "::ffff:192.0.2.9"), "an IPv4 client on an IPv6 socket");
	ok(!in("0.0.0.0/0", "::1") && in("0.0.0.0/0", "203.0.113.1") && in("::/0", "::1"),
	    "/0 holds its own family only");
	ok(cidr_parse("192.0.2.0/33", &c) < 0 && cidr_parse("nonsense", &c) < 0 &&
	    cidr_parse("10.0.0.0/", &c) < 0 && cidr_parse("10.0.0.0/-1", &c) < 0,
	    "bad ranges are refused");
}

/* A transaction: xf "ADDR" or "LOCAL" or "" (imported), auth, routes. */
static void
mk(struct txn *t, const char *addr, const char *auth, const char *r1, const char *r2)
{
	struct rcpt *r;

	txn_free(t);
	txn_init(t);
	t->line++;
	if (strcmp(addr, "LOCAL") == 0)
		txn_set_xf(t, XF_PROTO, "LOCAL");
	else if (*addr)
		txn_set_xf(t, XF_ADDR, addr);
	if (auth != NULL)
		t->auth = strdup(auth);
	txn_set_from(t, "a@example.test");
	r = txn_add_rcpt(t, "b@example.test");
	if (r1)
		xparam_set(r->x, &r->nx, "X-ROUTE", r1);
	r = txn_add_rcpt(t, "c@example.org");
	if (r2)
		xparam_set(r->x, &r->nx, "X-ROUTE", r2);
}

int
main(void)
{
	struct matrix m;
	struct txn t;
	char err[300];
	static unsigned long line;

	cidr_tests();
	ok(matrix_load(&m, err, sizeof err) == 0, "the table loads");
	txn_init(&t);
	t.line = ++line;
	/* content: attach from=internet to=local; from=imported
	 *          disclaimer from=relay,auth,local to=smtp
	 *          scan off; default from=192.0.2.0/24 */
	mk(&t, "203.0.113.5", NULL, "local", "smtp:[relay.example]");
	ok(matrix_applies(&m, "attach", &t) == MATRIX_SOME &&
	    matrix_applies_rcpt(&m, "attach", &t, 0) && !matrix_applies_rcpt(&m, "attach", &t, 1),
	    "internet client: attach acts on the local recipient only");
	ok(matrix_applies(&m, "disclaimer", &t) == MATRIX_NONE, "internet client: no disclaimer");
	mk(&t, "10.1.2.3", NULL, "local", "smtp");
	ok(matrix_applies(&m, "attach", &t) == MATRIX_NONE &&
	    matrix_applies(&m, "disclaimer", &t) == MATRIX_SOME &&
	    matrix_applies_rcpt(&m, "disclaimer", &t, 1), "relay client (access 10.1): disclaimer to smtp");
	mk(&t, "203.0.113.5", "a@example.test", "smtp", "smtp");
	ok(matrix_applies(&m, "disclaimer", &t) == MATRIX_ALL && matrix_applies(&m, "attach", &t) ==
	    MATRIX_NONE, "an authenticated client is not internet, and gets the disclaimer");
	mk(&t, "203.0.113.5", "<>", "local", "local");
	ok(matrix_applies(&m, "attach", &t) == MATRIX_ALL, "AUTH=<> is not authenticated");
	mk(&t, "LOCAL", NULL, "smtp", "pipe:/bin/cat");
	ok(matrix_applies(&m, "disclaimer", &t) == MATRIX_SOME, "local submission: smtp yes, pipe no");
	mk(&t, "", NULL, NULL, "bsmtp:x@y");
	ok(matrix_applies(&m, "attach", &t) == MATRIX_ALL, "imported, no channel or bsmtp: any matches");
	ok(matrix_applies(&m, "scan", &t) == MATRIX_NONE, "off acts on nothing");
	ok(matrix_applies(&m, "spam", &t) == MATRIX_NONE, "an unlisted stage gets the default row");
	mk(&t, "192.0.2.77", NULL, NULL, NULL);
	ok(matrix_applies(&m, "spam", &t) == MATRIX_ALL, "a network as a source");
	mk(&t, "10.1.2.3", NULL, NULL, NULL);
	ok(matrix_applies(&m, "disclaimer", &t) == MATRIX_NONE,
	    "a recipient with no route matches only \"any\"");
	matrix_free(&m);
	txn_free(&t);
	return tap_done();
}
