/*
 * Unit tests (TAP) for lib/dest.c, the smtp_dest option parser, and the
 * lookups of lib/dns.c that need no server (dns_pton, dns_ntop); run by
 * t/50-smtp-dest-options.t.
 */
#include <stdio.h>
#include <string.h>

#include "dest.h"
#include "dns.h"
#include "tap.h"

static void
defaults(struct dest_opts *o)
{
	o->reuse = 100;
	o->concurrency = 4;
	o->lifetime = -1;
	o->queue_first = -1;
}

int
main(void)
{
	struct dest_opts o;
	struct dns_addr a;
	char err[200], buf[64];

	defaults(&o);
	ok(dest_parse("reuse=7 concurrency=2 lifetime=5d queue_first=yes", &o,
	    err, sizeof err) == 0, "all four words parse");
	ok(o.reuse == 7 && o.concurrency == 2 && o.lifetime == 5 * 86400 &&
	    o.queue_first == 1, "and give their values (5d = 432000 s)");

	defaults(&o);
	ok(dest_parse("concurrency=1", &o, err, sizeof err) == 0 &&
	    o.reuse == 100 && o.concurrency == 1 && o.lifetime == -1 &&
	    o.queue_first == -1, "a missing word keeps the default");
	ok(dest_parse("", &o, err, sizeof err) == 0, "an empty value is fine");
	ok(dest_parse("REUSE=3,queue_first=no", &o, err, sizeof err) == 0 &&
	    o.reuse == 3 && o.queue_first == 0, "case-insensitive, commas separate");

	ok(dest_parse("reuse=0", &o, err, sizeof err) < 0, "reuse=0 is refused");
	ok(dest_parse("reuse=x", &o, err, sizeof err) < 0 &&
	    strstr(err, "reuse=x") != NULL, "a malformed number is named in the error");
	ok(dest_parse("concurrency=1001", &o, err, sizeof err) < 0,
	    "concurrency above 1000 is refused");
	ok(dest_parse("lifetime=5x", &o, err, sizeof err) < 0, "a bad time unit is refused");
	ok(dest_parse("queue_first=maybe", &o, err, sizeof err) < 0,
	    "queue_first takes yes or no only");
	ok(dest_parse("speed=9", &o, err, sizeof err) < 0 &&
	    strstr(err, "unknown") != NULL, "an unknown word is refused");
	ok(dest_parse("reuse", &o, err, sizeof err) < 0, "a word without = is refused");

	ok(dns_pton("192.0.2.7", &a) == 0 && a.family != 0 &&
	    strcmp(dns_ntop(&a, buf, sizeof buf), "192.0.2.7") == 0,
	    "dns_pton/dns_ntop round-trip IPv4");
	ok(dns_pton("2001:db8::1", &a) == 0 &&
	    strcmp(dns_ntop(&a, buf, sizeof buf), "2001:db8::1") == 0,
	    "dns_pton/dns_ntop round-trip IPv6");
	ok(dns_pton("mx.example.org", &a) < 0, "a name is not an address");

	return tap_done();
}
