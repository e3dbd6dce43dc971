#ifndef DNS_H
#define DNS_H

/*
 * Blocking DNS lookups through c-ares, with the answer classified the way
 * a mail program must act on it.  The servers come from the setting
 * dns_servers ("127.0.0.1:5353,[::1]:53", as for
 * ares_set_servers_ports_csv), else from /etc/resolv.conf; the time
 * allowed per try from dns_timeout (default 5s) and the tries from
 * dns_tries (default 2).  Several queries of one call run at once.
 */

#include <stddef.h>
#include <sys/socket.h>

enum dns_status {
	DNS_OK = 0,	/* records found */
	DNS_NODATA,	/* the name exists but has no record of that type */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_TEMP,	/* SERVFAIL, timeout, refused: try again later */
	DNS_PERM	/* a malformed name or answer */
};

#define DNS_NAME_MAX 255
#define DNS_MX_MAX 32
#define DNS_ADDR_MAX 16

struct dns_mx {
	char host[DNS_NAME_MAX + 1];	/* "" for the null MX "." (RFC 7505) */
	unsigned pref;
};

struct dns_addr {
	struct sockaddr_storage sa;	/* port 0 */
	socklen_t len;
	int family;
};

struct dns;

/* servers NULL: the dns_servers setting.  NULL with err filled on failure. */
struct dns *dns_open(const char *servers, char *err, size_t errsz);
void dns_close(struct dns *);
/*
 * MX records of domain, sorted by preference, equal preferences shuffled.
 * Returns a dns_status; err gets words for a log line or a DSN.
 */
int dns_mx(struct dns *, const char *domain, struct dns_mx *mx, size_t max,
    size_t *n, char *err, size_t errsz);
/*
 * A and AAAA records of host (both asked at once; IPv4 first).  DNS_OK if
 * either has records; NXDOMAIN only if both say so.
 */
int dns_addrs(struct dns *, const char *host, struct dns_addr *a, size_t max,
    size_t *n, char *err, size_t errsz);
/*
 * PTR records of name ("7.2.0.192.in-addr.arpa", cidr_reverse()): the
 * host names, lowercased, without a trailing dot, into names[0..max).
 * DNS_OK when there is at least one; same return values as above.
 */
int dns_ptr(struct dns *, const char *name, char (*names)[DNS_NAME_MAX + 1],
    size_t max, size_t *n, char *err, size_t errsz);
/* A records only (DNS-BL style lookups); same return values. */
int dns_a(struct dns *, const char *name, struct dns_addr *a, size_t max,
    size_t *n, char *err, size_t errsz);
/*
 * Many lookups at once (DNS-BL style): every query of q[0..n) is asked
 * before any answer is awaited, so the whole takes as long as the slowest.
 * A query still unanswered after deadline_ms (0: only c-ares's own
 * dns_timeout and dns_tries) is cancelled: DNS_TEMP with timed_out set.
 * Fill name and type; the rest is the answer.
 */
#define DNS_T_A 1
#define DNS_T_TXT 16
#define DNS_TXT_MAX 255
struct dns_query {
	char name[DNS_NAME_MAX + 1];
	int type;			/* DNS_T_A or DNS_T_TXT */
	int status;			/* dns_status */
	int timed_out;
	struct dns_addr a[DNS_ADDR_MAX];	/* A: the addresses */
	size_t n;
	char txt[DNS_TXT_MAX + 1];	/* TXT: the first record's strings, joined */
	char err[128];			/* words for a log line when not DNS_OK */
};
void dns_query_all(struct dns *, struct dns_query *q, size_t n,
    long deadline_ms);
/* "192.0.2.1" or "2001:db8::1" */
const char *dns_ntop(const struct dns_addr *, char *buf, size_t size);
/* Parse a numeric address into a; 0 or -1. */
int dns_pton(const char *s, struct dns_addr *a);

#endif
