#include "dns.h"
#include "conf.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_A_ 1
#define T_MX_ 15
#define T_PTR_ 12
#define T_AAAA_ 28
#define C_IN_ 1

struct dns {
	ares_channel ch;
};

/* One query in flight: its answer is parsed in the callback. */
struct q {
	int type;
	int status;	/* dns_status */
	int ares;	/* ares status, for words */
	struct dns_mx *mx;
	struct dns_addr *a;
	char (*names)[DNS_NAME_MAX + 1];
	size_t max, n;
};

static int library_ready;

struct dns *
dns_open(const char *servers, char *err, size_t errsz)
{
	struct ares_options o;
	struct dns *d;
	int rc, mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	long long t;

	if (!library_ready) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
			snprintf(err, errsz, "c-ares: %s", ares_strerror(rc));
			return NULL;
		}
		library_ready = 1;
	}
	if ((d = calloc(1, sizeof *d)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	memset(&o, 0, sizeof o);
	t = conf_time("dns_timeout", 5);
	o.timeout = (int)(t > 0 && t < 3600 ? t * 1000 : 5000);
	t = conf_num("dns_tries", 2);
	o.tries = (int)(t > 0 && t < 10 ? t : 2);
	if ((rc = ares_init_options(&d->ch, &o, mask)) != ARES_SUCCESS) {
		snprintf(err, errsz, "c-ares init: %s", ares_strerror(rc));
		free(d);
		return NULL;
	}
	if (servers == NULL)
		servers = conf_get("dns_servers", "");
	if (*servers != '\0' &&
	    (rc = ares_set_servers_ports_csv(d->ch, servers)) != ARES_SUCCESS) {
		snprintf(err, errsz, "dns_servers \"%s\": %s", servers,
		    ares_strerror(rc));
		ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	return d;
}

void
dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	ares_destroy(d->ch);
	free(d);
}

static int
classify(int rc)
{
	switch (rc) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_EBADNAME:
	case ARES_EFORMERR:
		return DNS_PERM;
	default:	/* SERVFAIL, timeouts, refused, unreachable servers */
		return DNS_TEMP;
	}
}

static void
add_addr(struct q *q, int family, const void *p)
{
	struct dns_addr *a;

	if (q->n >= q->max)
		return;
	a = &q->a[q->n++];
	memset(a, 0, sizeof *a);
	a->family = family;
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->sa;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, p, sizeof s->sin_addr);
		a->len = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->sa;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, p, sizeof s->sin6_addr);
		a->len = sizeof *s;
	}
}

static void
parse_mx(struct q *q, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *r = NULL, *m;
	int rc;

	if ((rc = ares_parse_mx_reply(abuf, alen, &r)) != ARES_SUCCESS) {
		q->ares = rc;
		q->status = classify(rc);
		return;
	}
	for (m = r; m != NULL && q->n < q->max; m = m->next) {
		const char *h = m->host;

		if (strcmp(h, ".") == 0)
			h = "";
		if (strlen(h) > DNS_NAME_MAX)
			continue;
		strcpy(q->mx[q->n].host, h);
		q->mx[q->n].pref = m->priority;
		q->n++;
	}
	ares_free_data(r);
	q->status = q->n > 0 ? DNS_OK : DNS_NODATA;
}

static void
parse_addrs(struct q *q, const unsigned char *abuf, int alen)
{
	int rc, i, na = DNS_ADDR_MAX;

	if (q->type == T_A_) {
		struct ares_addrttl at[DNS_ADDR_MAX];

		rc = ares_parse_a_reply(abuf, alen, NULL, at, &na);
		for (i = 0; rc == ARES_SUCCESS && i < na; i++)
			add_addr(q, AF_INET, &at[i].ipaddr);
	} else {
		struct ares_addr6ttl at[DNS_ADDR_MAX];

		rc = ares_parse_aaaa_reply(abuf, alen, NULL, at, &na);
		for (i = 0; rc == ARES_SUCCESS && i < na; i++)
			add_addr(q, AF_INET6, &at[i].ip6addr);
	}
	q->ares = rc;
	q->status = rc != ARES_SUCCESS ? classify(rc) :
	    q->n > 0 ? DNS_OK : DNS_NODATA;
}

/* Keep one PTR name, lowercased, without its trailing dot, once. */
static void
add_name(struct q *q, const char *h)
{
	size_t i, n = strlen(h);

	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX || q->n >= q->max)
		return;
	for (i = 0; i < n; i++)
		q->names[q->n][i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
	q->names[q->n][n] = '\0';
	for (i = 0; i < q->n; i++)
		if (strcmp(q->names[i], q->names[q->n]) == 0)
			return;
	q->n++;
}

static void
parse_ptr(struct q *q, const unsigned char *abuf, int alen)
{
	/* c-ares copies an address into the hostent: any will do. */
	static const unsigned char any[4];
	struct hostent *h = NULL;
	char **al;
	int rc;

	rc = ares_parse_ptr_reply(abuf, alen, any, sizeof any, AF_INET, &h);
	q->ares = rc;
	if (rc != ARES_SUCCESS) {
		q->status = classify(rc);
		return;
	}
	add_name(q, h->h_name);
	for (al = h->h_aliases; al != NULL && *al != NULL; al++)
		add_name(q, *al);
	ares_free_hostent(h);
	q->status = q->n > 0 ? DNS_OK : DNS_NODATA;
}

static void
answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct q *q = arg;

	(void)timeouts;
	q->ares = status;
	if (status != ARES_SUCCESS) {
		q->status = classify(status);
		return;
	}
	if (q->type == T_MX_)
		parse_mx(q, abuf, alen);
	else if (q->type == T_PTR_)
		parse_ptr(q, abuf, alen);
	else
		parse_addrs(q, abuf, alen);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run the channel until every query has called back, or until the
 * monotonic time end (ms; 0: none), when those left are cancelled.
 */
static void
run_until(struct dns *d, long long end)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd p[ARES_GETSOCK_MAXNUM];
	struct timeval tv, *tvp;
	int bits, i, np, ms;

	for (;;) {
		bits = ares_getsock(d->ch, socks, ARES_GETSOCK_MAXNUM);
		for (i = np = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* c-ares's own macros shift a signed 1 into the sign bit. */
			unsigned rd = (unsigned)bits & (1u << i);
			unsigned wr = (unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM));

			if (!rd && !wr)
				continue;
			p[np].fd = socks[i];
			p[np].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			p[np].revents = 0;
			np++;
		}
		if (np == 0)
			return;
		tvp = ares_timeout(d->ch, NULL, &tv);
		ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
		if (end > 0) {
			long long left = end - now_ms();

			if (left <= 0) {
				ares_cancel(d->ch);	/* calls back ARES_ECANCELLED */
				return;
			}
			if (left < ms)
				ms = (int)left;
		}
		if (poll(p, (nfds_t)np, ms) < 0 && errno != EINTR)
			return;
		for (i = 0; i < np; i++)
			ares_process_fd(d->ch,
			    p[i].revents & (POLLIN | POLLERR | POLLHUP) ? p[i].fd : ARES_SOCKET_BAD,
			    p[i].revents & POLLOUT ? p[i].fd : ARES_SOCKET_BAD);
		/* Lets c-ares notice its timeouts when nothing was ready. */
		ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
}

static void
run(struct dns *d)
{
	run_until(d, 0);
}

static const char *
words(const struct q *q)
{
	switch (q->status) {
	case DNS_NXDOMAIN:
		return "host not found (NXDOMAIN)";
	case DNS_NODATA:
		return "no records of that type";
	default:
		return ares_strerror(q->ares);
	}
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

int
dns_mx(struct dns *d, const char *domain, struct dns_mx *mx, size_t max,
    size_t *n, char *err, size_t errsz)
{
	struct q q;
	size_t i, j, k;

	memset(&q, 0, sizeof q);
	q.type = T_MX_;
	q.mx = mx;
	q.max = max;
	q.status = DNS_TEMP;
	q.ares = ARES_ETIMEOUT;
	ares_query(d->ch, domain, C_IN_, T_MX_, answer, &q);
	run(d);
	*n = q.n;
	if (q.status != DNS_OK) {
		snprintf(err, errsz, "MX lookup of %s: %s", domain, words(&q));
		return q.status;
	}
	qsort(mx, q.n, sizeof *mx, mx_cmp);
	/* Shuffle each run of equal preference (RFC 5321 5.1). */
	for (i = 0; i < q.n; i = j) {
		for (j = i + 1; j < q.n && mx[j].pref == mx[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t r = i + arc4random_uniform((uint32_t)(k - i + 1));
			struct dns_mx t = mx[k];

			mx[k] = mx[r];
			mx[r] = t;
		}
	}
	return DNS_OK;
}

int
dns_ptr(struct dns *d, const char *name, char (*names)[DNS_NAME_MAX + 1],
    size_t max, size_t *n, char *err, size_t errsz)
{
	struct q q;

	memset(&q, 0, sizeof q);
	q.type = T_PTR_;
	q.names = names;
	q.max = max;
	q.status = DNS_TEMP;
	q.ares = ARES_ETIMEOUT;
	ares_query(d->ch, name, C_IN_, T_PTR_, answer, &q);
	run(d);
	*n = q.n;
	if (q.status != DNS_OK)
		snprintf(err, errsz, "PTR lookup of %s: %s", name, words(&q));
	return q.status;
}

static int
lookup_addrs(struct dns *d, const char *host, int both, struct dns_addr *a,
    size_t max, size_t *n, char *err, size_t errsz)
{
	struct q q4, q6;
	size_t i;

	memset(&q4, 0, sizeof q4);
	memset(&q6, 0, sizeof q6);
	q4.type = T_A_;
	q6.type = T_AAAA_;
	q4.a = a;
	q4.max = max;
	q6.a = a + max / 2;	/* IPv6 answers go to the upper half */
	q6.max = max - max / 2;
	q4.status = q6.status = DNS_TEMP;
	q4.ares = q6.ares = ARES_ETIMEOUT;
	if (both)
		q4.max = max / 2;
	ares_query(d->ch, host, C_IN_, T_A_, answer, &q4);
	if (both)
		ares_query(d->ch, host, C_IN_, T_AAAA_, answer, &q6);
	run(d);
	if (both) {
		for (i = 0; i < q6.n; i++)
			a[q4.n + i] = q6.a[i];
		*n = q4.n + q6.n;
	} else {
		*n = q4.n;
	}
	if (*n > 0)
		return DNS_OK;
	/*
	 * Some servers answer NXDOMAIN for a type the name lacks; the name
	 * only fails to exist if every question says so.
	 */
	if (!both || q4.status == DNS_TEMP || q4.status == DNS_PERM ||
	    (q4.status == q6.status)) {
		snprintf(err, errsz, "address lookup of %s: %s", host, words(&q4));
		return q4.status;
	}
	if (q6.status == DNS_TEMP) {
		snprintf(err, errsz, "address lookup of %s: %s", host, words(&q6));
		return DNS_TEMP;
	}
	snprintf(err, errsz, "address lookup of %s: no A or AAAA records", host);
	return DNS_NODATA;
}

int
dns_addrs(struct dns *d, const char *host, struct dns_addr *a, size_t max,
    size_t *n, char *err, size_t errsz)
{
	return lookup_addrs(d, host, 1, a, max, n, err, errsz);
}

int
dns_a(struct dns *d, const char *name, struct dns_addr *a, size_t max,
    size_t *n, char *err, size_t errsz)
{
	return lookup_addrs(d, name, 0, a, max, n, err, errsz);
}

const char *
dns_ntop(const struct dns_addr *a, char *buf, size_t size)
{
	const void *p;

	if (a->family == AF_INET)
		p = &((const struct sockaddr_in *)&a->sa)->sin_addr;
	else
		p = &((const struct sockaddr_in6 *)&a->sa)->sin6_addr;
	if (inet_ntop(a->family, p, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}

int
dns_pton(const char *s, struct dns_addr *a)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, s, b) == 1) {
		struct q q = { .a = a, .max = 1 };

		add_addr(&q, AF_INET, b);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		struct q q = { .a = a, .max = 1 };

		add_addr(&q, AF_INET6, b);
		return 0;
	}
	return -1;
}

/* The first TXT record's strings, joined, into q->txt (cut to fit). */
static int
parse_txt(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *r = NULL, *t;
	size_t len = 0, k;
	int rc, records = 0;

	if ((rc = ares_parse_txt_reply_ext(abuf, alen, &r)) != ARES_SUCCESS)
		return rc;
	for (t = r; t != NULL; t = t->next) {
		if (t->record_start && ++records > 1)
			break;
		k = t->length;
		if (k > DNS_TXT_MAX - len)
			k = DNS_TXT_MAX - len;
		memcpy(q->txt + len, t->txt, k);
		len += k;
	}
	q->txt[len] = '\0';
	ares_free_data(r);
	return records > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

static void
query_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct q aq;

	(void)timeouts;
	if (status == ARES_SUCCESS && q->type == DNS_T_TXT)
		status = parse_txt(q, abuf, alen);
	else if (status == ARES_SUCCESS) {
		memset(&aq, 0, sizeof aq);
		aq.type = T_A_;
		aq.a = q->a;
		aq.max = DNS_ADDR_MAX;
		parse_addrs(&aq, abuf, alen);
		q->n = aq.n;
		status = aq.status == DNS_OK ? ARES_SUCCESS :
		    aq.status == DNS_NODATA ? ARES_ENODATA : aq.ares;
	}
	q->status = classify(status);
	q->timed_out = status == ARES_ETIMEOUT || status == ARES_ECANCELLED;
	if (q->status != DNS_OK)
		snprintf(q->err, sizeof q->err, "%s",
		    status == ARES_ECANCELLED ? "timed out" :
		    status == ARES_ENOTFOUND ? "host not found (NXDOMAIN)" :
		    ares_strerror(status));
}

void
dns_query_all(struct dns *d, struct dns_query *q, size_t n, long deadline_ms)
{
	size_t i;

	for (i = 0; i < n; i++) {
		q[i].status = DNS_TEMP;
		q[i].timed_out = 1;
		q[i].n = 0;
		q[i].txt[0] = '\0';
		snprintf(q[i].err, sizeof q[i].err, "timed out");
		ares_query(d->ch, q[i].name, C_IN_,
		    q[i].type == DNS_T_TXT ? DNS_T_TXT : T_A_, query_answer, &q[i]);
	}
	run_until(d, deadline_ms > 0 ? now_ms() + deadline_ms : 0);
}
