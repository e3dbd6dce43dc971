#include "cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int
cidr_parse(const char *s, size_t n, struct cidr *c)
{
	char buf[64], *slash, *end;
	unsigned max;
	long bits;

	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(c, 0, sizeof *c);
	if (inet_pton(AF_INET, buf, c->a) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, buf, c->a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0xff, 0xff };

		max = 128;
		c->v6 = 1;
		if (memcmp(c->a, mapped, 12) == 0) {
			memmove(c->a, c->a + 12, 4);
			memset(c->a + 4, 0, 12);
			c->v6 = 0;
			max = 32;
		}
	} else
		return -1;
	c->bits = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtol(slash, &end, 10);
		if (*end != '\0' || bits > (long)(c->v6 ? 128 : 32))
			return -1;
		/* ::ffff:0:0/104 is an IPv4 /8. */
		if (max == 32 && strchr(buf, ':') != NULL)
			bits = bits >= 96 ? bits - 96 : 0;
		c->bits = (unsigned)bits;
	}
	return 0;
}

int
cidr_match(const struct cidr *net, const struct cidr *a)
{
	unsigned full = net->bits / 8, rest = net->bits % 8;

	if (net->v6 != a->v6)
		return 0;
	if (memcmp(net->a, a->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net->a[full] ^ a->a[full]) & (0xff00 >> rest) & 0xff) == 0;
}
