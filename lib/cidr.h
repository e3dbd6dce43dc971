#ifndef CIDR_H
#define CIDR_H

/*
 * Address ranges: "192.0.2.0/24", "2001:db8::/32", or one address
 * ("192.0.2.7", "::1").  An IPv4 address written as IPv6 (::ffff:a.b.c.d)
 * is the IPv4 address, so a client on an IPv6 socket matches IPv4 ranges.
 * (main had no address-range module when this was written: sluice-smtpd's
 * access table matches prefixes of dotted components instead.)
 */

#include <stddef.h>

struct cidr {
	int v6;			/* 0: IPv4 (4 octets of a) */
	unsigned char a[16];
	unsigned bits;		/* prefix length; 32 or 128 for one address */
};

/* A range or one address: 0, or -1 when s is neither. */
int cidr_parse(const char *s, size_t n, struct cidr *c);
/* Whether address a (a cidr_parse of one address) is inside net. */
int cidr_match(const struct cidr *net, const struct cidr *a);

#endif
