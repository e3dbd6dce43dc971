/*
 * The DNS lookups of the access rules: the client's reverse name and
 * whether it resolves back to the client (forward-confirmed reverse DNS),
 * whether the HELO name resolves to the client, and whether the sender's
 * domain can receive mail.  Each is made only when a rule asks for it,
 * through lib/dns (c-ares, linked in statically: it costs a session
 * nothing until the first lookup), with the servers, timeout and tries
 * of the dns_servers, dns_timeout and dns_tries settings.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "dns.h"
#include "log.h"
#include "smtpd.h"

#define PTR_NAMES_MAX 4		/* reverse names tried, as Postfix does */

static struct dns *
session_dns(struct session *s)
{
	char err[256];

	if (s->dns == NULL && (s->dns = dns_open(NULL, err, sizeof err)) == NULL)
		log_warn("client=%s unable to use the DNS: %s", s->addr, err);
	return s->dns;
}

/* Does one of a[0..n) equal the client's address? */
static int
holds_client(const struct session *s, const struct dns_addr *a, size_t n)
{
	struct cidr_addr c, x;
	char buf[CIDR_ADDR_STRLEN];
	size_t i;

	if (cidr_addr_parse(s->addr, &c) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (cidr_addr_parse(dns_ntop(&a[i], buf, sizeof buf), &x) == 0 &&
		    cidr_cmp(&c, &x) == 0)
			return 1;
	return 0;
}

/*
 * Whether name resolves to the client: 1, 0, or -1 when the DNS did not
 * answer.
 */
static int
resolves_to_client(struct session *s, const char *name)
{
	struct dns_addr a[DNS_ADDR_MAX];
	char err[256];
	size_t n;
	int rc;

	rc = dns_addrs(s->dns, name, a, DNS_ADDR_MAX, &n, err, sizeof err);
	if (rc == DNS_TEMP) {
		log_info("client=%s dns=%s", s->addr, err);
		return -1;
	}
	return rc == DNS_OK && holds_client(s, a, n);
}

/* The reverse names of the client: the count, or -1 (RDNS_* set). */
static long
reverse_names(struct session *s, char (*names)[DNS_NAME_MAX + 1], size_t max)
{
	struct cidr_addr a;
	char q[DNS_NAME_MAX + 1], err[256];
	size_t n;
	int rc;

	s->rdns = RDNS_NONE;
	if (cidr_addr_parse(s->addr, &a) < 0 || cidr_reverse(&a, 0,
	    cidr_is_v4(&a) ? "in-addr.arpa" : "ip6.arpa", q, sizeof q) < 0)
		return -1;
	s->rdns = RDNS_TEMP;
	if (session_dns(s) == NULL)
		return -1;
	rc = dns_ptr(s->dns, q, names, max, &n, err, sizeof err);
	if (rc == DNS_TEMP) {
		log_info("client=%s rdns=tempfail dns=\"%s\"", s->addr, err);
		return -1;
	}
	if (rc != DNS_OK) {
		s->rdns = RDNS_NONE;
		return -1;
	}
	return (long)n;
}

/*
 * What the reverse DNS says of the client, once per session: RDNS_OK
 * when one of its reverse names resolves back to its address (that name
 * becomes the client's name, for the access table's name entries and the
 * Received: field); else RDNS_NONE, RDNS_MISMATCH or RDNS_TEMP, and the
 * client has no name (tcpserver's TCPREMOTEHOST, unverified, is dropped).
 */
void
smtpd_dns_client(struct session *s)
{
	char names[PTR_NAMES_MAX][DNS_NAME_MAX + 1];
	long n, i;
	int rc, temp = 0;

	if (s->rdns != RDNS_UNCHECKED)
		return;
	s->name[0] = '\0';
	if ((n = reverse_names(s, names, PTR_NAMES_MAX)) < 0) {
		if (s->rdns == RDNS_NONE)
			log_info("client=%s rdns=none", s->addr);
		return;
	}
	/* names[i] fits: DNS_NAME_MAX + 1 is the size of each. */
	strcpy(s->ptr_name, names[0]);
	for (i = 0; i < n; i++) {
		if ((rc = resolves_to_client(s, names[i])) == 1) {
			s->rdns = RDNS_OK;
			strcpy(s->name, names[i]);
			return;
		}
		temp |= rc < 0;
	}
	s->rdns = temp ? RDNS_TEMP : RDNS_MISMATCH;
	log_info("client=%s rdns=%s ptr=%s", s->addr, temp ? "tempfail" : "mismatch",
	    s->ptr_name);
}

/*
 * Whether the HELO name matches the client: an address literal of its
 * address ([192.0.2.7], [IPv6:2001:db8::7], or the bare address), its
 * verified reverse name, or a name whose A or AAAA records hold its
 * address.  0 matches, 1 does not, -1 when the DNS did not answer.
 */
int
smtpd_dns_helo(struct session *s)
{
	struct cidr_addr h, c;
	int rc;

	if (cidr_addr_parse(s->helo_name, &h) == 0)
		return cidr_addr_parse(s->addr, &c) == 0 && cidr_cmp(&h, &c) == 0 ? 0 : 1;
	if (s->rdns == RDNS_OK && strcasecmp(s->name, s->helo_name) == 0)
		return 0;
	/* A name without a dot is nobody's on the Internet. */
	if (strchr(s->helo_name, '.') == NULL)
		return 1;
	if (session_dns(s) == NULL)
		return -1;
	rc = resolves_to_client(s, s->helo_name);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

/*
 * Whether the sender's domain can receive mail (its bounces): an MX
 * record, else an A or AAAA record (RFC 5321 5.1).  0 yes, 1 no such
 * records (or the domain does not exist), 2 a null MX (RFC 7505: the
 * domain says it takes no mail), -1 when the DNS did not answer.  An
 * address literal is not looked up.
 */
int
smtpd_dns_sender_domain(struct session *s, const char *domain)
{
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_addr a[DNS_ADDR_MAX];
	char err[256];
	size_t n, i;
	int rc;

	if (domain[0] == '[')
		return 0;
	if (session_dns(s) == NULL)
		return -1;
	rc = dns_mx(s->dns, domain, mx, DNS_MX_MAX, &n, err, sizeof err);
	if (rc == DNS_OK) {
		for (i = 0; i < n; i++)
			if (mx[i].host[0] != '\0')
				return 0;
		return 2;
	}
	/*
	 * NXDOMAIN too: a server may say it of a name that has other types
	 * (dnslib's does), so the A and AAAA questions are asked anyway.
	 */
	if (rc == DNS_TEMP) {
		log_info("client=%s dns=\"%s\"", s->addr, err);
		return -1;
	}
	rc = dns_addrs(s->dns, domain, a, DNS_ADDR_MAX, &n, err, sizeof err);
	if (rc == DNS_TEMP) {
		log_info("client=%s dns=\"%s\"", s->addr, err);
		return -1;
	}
	return rc == DNS_OK ? 0 : 1;
}
