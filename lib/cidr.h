#ifndef CIDR_H
#define CIDR_H

/*
 * IP addresses and address ranges, for whitelists, access rules and
 * DNS-BL queries.  Every address is held as 16 octets: an IPv4 address as
 * the IPv4-mapped IPv6 address ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so that
 * one comparison serves both families and an IPv4 client seen on an IPv6
 * socket matches IPv4 rules.
 *
 * Addresses are read in any usual textual form: dotted decimal IPv4
 * (leading zeros are decimal, never octal), every RFC 4291 IPv6 form
 * (compressed "::", upper or lower case, leading zeros, a trailing dotted
 * IPv4 part), optionally in brackets or with the "IPv6:" tag of an SMTP
 * address literal, surrounded by blanks.  A range is written as
 *   192.0.2.7               one address
 *   192.0.2.0/24, 2001:db8::/32   a CIDR block (host bits are ignored)
 *   192.0.2.10-192.0.2.20   from one address to another, both included
 *   192.0.2, 10.            whole leading IPv4 components (the /24, /8)
 */

#include <stddef.h>

struct cidr_addr {
	unsigned char b[16];
};

struct cidr_range {
	struct cidr_addr lo, hi;	/* inclusive */
};

struct cidr_list {
	struct cidr_range *r;
	size_t n, cap;
};

/* Room for any address cidr_ntop writes, with its NUL. */
#define CIDR_ADDR_STRLEN 46

/* 0, or -1 when s is not an address. */
int cidr_addr_parse(const char *s, struct cidr_addr *a);
/* An IPv4 address (an IPv4-mapped one included)? */
int cidr_is_v4(const struct cidr_addr *a);
/* "192.0.2.7" for IPv4, "2001:db8::7" for IPv6 (RFC 5952 form). */
const char *cidr_ntop(const struct cidr_addr *a, char *buf, size_t size);
int cidr_cmp(const struct cidr_addr *a, const struct cidr_addr *b);
/*
 * Keep the first bits of the address and clear the rest; for an IPv4
 * address bits counts within its 32 (cidr_mask(a, 24) gives its /24).
 */
void cidr_mask(struct cidr_addr *a, unsigned bits);

/* 0, or -1 when s is not one of the forms above. */
int cidr_parse(const char *s, struct cidr_range *r);
int cidr_match(const struct cidr_range *r, const struct cidr_addr *a);

/* A set of ranges, matched in the order they were added. */
int cidr_list_add(struct cidr_list *l, const struct cidr_range *r);	/* -1: no memory */
/* The index of the first range that holds a, or -1. */
long cidr_list_match(const struct cidr_list *l, const struct cidr_addr *a);
void cidr_list_free(struct cidr_list *l);

/*
 * The name a DNS-BL (RFC 5782) or a reverse lookup asks for a: the
 * address's octets reversed ("7.2.0.192." + zone) for IPv4, its 32 nibbles
 * reversed for IPv6 (as_v6 asks for the nibbles of an IPv4 address too, in
 * its mapped form).  Returns 0, or -1 when the name does not fit.
 */
int cidr_reverse(const struct cidr_addr *a, int as_v6, const char *zone,
    char *buf, size_t size);

#endif
