/*
 * The checks: each subject (a client address, a sender domain) against
 * each list, asked all at once so that the time is that of the slowest
 * list, and judged by RFC 5782: an answer in 127.255.255.0/24 means the
 * list refused the query, not a listing; a list that lists the negative
 * test point (127.0.0.1, ::FFFF:7F00:1, INVALID) is broken and not
 * believed; by default only answers in 127.0.0.0/8 are listings, so a
 * resolver that turns NXDOMAIN into an advertising server's address lists
 * nobody.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsbl.h"
#include "log.h"

/* Queries asked at once: a batch of many subjects goes in slices. */
#define SLICE 1000

static struct dnsbl_check *
check_new(struct dnsbl_batch *b, const struct dnsbl_list *l,
    const char *subject, int is_domain)
{
	struct dnsbl_check *c;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		if ((c = reallocarray(b->c, cap, sizeof *c)) == NULL)
			die_nomem();
		b->c = c;
		b->cap = cap;
	}
	c = &b->c[b->n++];
	memset(c, 0, sizeof *c);
	c->list = l;
	c->is_domain = is_domain;
	snprintf(c->subject, sizeof c->subject, "%s", subject);
	return c;
}

/* An IPv4 address in 127.0.0.0/8? */
static int
in_loopback(const struct cidr_addr *a)
{
	return cidr_is_v4(a) && a->b[12] == 127;
}

size_t
dnsbl_add_addr(struct dnsbl_batch *b, const struct dnsbl_conf *conf,
    const struct cidr_addr *a, unsigned actions, size_t *count)
{
	char text[CIDR_ADDR_STRLEN];
	size_t i, first = b->n;
	int v4 = cidr_is_v4(a);

	cidr_ntop(a, text, sizeof text);
	for (i = 0; i < conf->n; i++) {
		const struct dnsbl_list *l = &conf->list[i];
		struct dnsbl_check *c;
		int as_v6;

		if (!(l->action & actions))
			continue;
		/*
		 * An IPv6 list gets IPv6 clients, and the RFC 5782 test points
		 * ::FFFF:7F00:2 and ::FFFF:7F00:1: the mapped loopback clients.
		 */
		if (v4 && (l->kind & DNSBL_IP4))
			as_v6 = 0;
		else if ((l->kind & DNSBL_IP6) && (!v4 || in_loopback(a)))
			as_v6 = 1;
		else
			continue;
		c = check_new(b, l, text, 0);
		if (cidr_reverse(a, as_v6, l->zone, c->qname, sizeof c->qname) < 0)
			b->n--;		/* too long for DNS: a zone of 200 fits */
	}
	*count = b->n - first;
	return first;
}

size_t
dnsbl_add_domain(struct dnsbl_batch *b, const struct dnsbl_conf *conf,
    const char *domain, unsigned actions, size_t *count)
{
	size_t i, first = b->n;
	int n;

	for (i = 0; i < conf->n; i++) {
		const struct dnsbl_list *l = &conf->list[i];
		struct dnsbl_check *c;

		if (!(l->kind & DNSBL_DOMAIN) || !(l->action & actions))
			continue;
		c = check_new(b, l, domain, 1);
		n = snprintf(c->qname, sizeof c->qname, "%s.%s", domain, l->zone);
		if (n < 0 || (size_t)n >= sizeof c->qname)
			b->n--;
	}
	*count = b->n - first;
	return first;
}

static int
answer_lists(const struct dnsbl_list *l, const struct cidr_addr *a)
{
	if (l->mask) {
		unsigned long v = (unsigned long)a->b[12] << 24 |
		    (unsigned long)a->b[13] << 16 | (unsigned long)a->b[14] << 8 |
		    a->b[15];

		return in_loopback(a) && (v & l->mask) != 0;
	}
	if (l->answers.n > 0)
		return cidr_list_match(&l->answers, a) >= 0;
	return in_loopback(a);
}

/* The negative test point of RFC 5782: no list may list it. */
static int
negative_point(const struct dnsbl_check *c)
{
	struct cidr_addr a;

	if (c->is_domain)
		return strcmp(c->subject, "invalid") == 0;
	return cidr_addr_parse(c->subject, &a) == 0 && in_loopback(&a) &&
	    a.b[13] == 0 && a.b[14] == 0 && a.b[15] == 1;
}

/* Judge c by its answer q; returns 1 when the list showed itself broken. */
static int
judge(struct dnsbl_check *c, const struct dns_query *q, const char *logid)
{
	char text[CIDR_ADDR_STRLEN];
	size_t i;

	c->result = DNSBL_CLEAN;
	if (q->status == DNS_TEMP) {
		c->result = DNSBL_UNANSWERED;
		log_warn("%s event=unanswered list=%s subject=%s error=\"%s\"",
		    logid, c->list->zone, c->subject, q->err);
		return 0;
	}
	for (i = 0; q->status == DNS_OK && i < q->n; i++) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&q->a[i].sa;
		struct cidr_addr a;

		if (q->a[i].family != AF_INET)
			continue;
		cidr_addr_parse("::ffff:0.0.0.0", &a);
		memcpy(a.b + 12, &s->sin_addr, 4);
		cidr_ntop(&a, text, sizeof text);
		if (in_loopback(&a) && a.b[13] == 255 && a.b[14] == 255) {
			log_warn("%s event=refused list=%s subject=%s answer=%s",
			    logid, c->list->zone, c->subject, text);
		} else if (answer_lists(c->list, &a) && c->result == DNSBL_CLEAN) {
			c->result = DNSBL_LISTED;
			snprintf(c->answer, sizeof c->answer, "%s", text);
		}
	}
	if (c->result == DNSBL_LISTED && negative_point(c)) {
		log_warn("%s event=broken list=%s subject=%s answer=%s "
		    "reason=\"lists the RFC 5782 negative test point\"",
		    logid, c->list->zone, c->subject, c->answer);
		c->result = DNSBL_CLEAN;
		return 1;
	}
	return 0;
}

/*
 * A list that lists the negative test point lists anything: none of its
 * listings in this run is believed.
 */
static void
judge_all(struct dnsbl_batch *b, const struct dns_query *q,
    const struct dnsbl_conf *conf, const char *logid)
{
	char broken[DNSBL_LISTS_MAX] = { 0 };
	size_t i;

	for (i = 0; i < b->n; i++)
		if (judge(&b->c[i], &q[i], logid))
			broken[b->c[i].list - conf->list] = 1;
	for (i = 0; i < b->n; i++)
		if (broken[b->c[i].list - conf->list])
			b->c[i].result = DNSBL_CLEAN;
}

/* A TXT reason as it may go into a reply or a quoted header field. */
static void
reason_set(struct dnsbl_check *c, const char *txt)
{
	size_t i;

	for (i = 0; txt[i] != '\0' && i < DNSBL_REASON_MAX; i++) {
		char ch = txt[i];

		c->reason[i] = ch == '"' ? '\'' : ch == '\\' ? '/' :
		    (ch < 0x20 || ch > 0x7e) ? '?' : ch;
	}
	c->reason[i] = '\0';
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ask q[0..n) in slices before end; what is left when time is up times out. */
static void
ask(struct dns *d, struct dns_query *q, size_t n, long long end)
{
	size_t i, k;

	for (i = 0; i < n; i += k) {
		long long left = end - now_ms();

		k = n - i < SLICE ? n - i : SLICE;
		if (left <= 0) {
			for (; i < n; i++) {
				q[i].status = DNS_TEMP;
				q[i].timed_out = 1;
				snprintf(q[i].err, sizeof q[i].err, "timed out");
			}
			return;
		}
		dns_query_all(d, q + i, k, (long)left);
	}
}

static struct dns_query *
queries(const struct dnsbl_batch *b, int listed_only, int type, size_t *n)
{
	struct dns_query *q;
	size_t i;

	if ((q = calloc(b->n ? b->n : 1, sizeof *q)) == NULL)
		die_nomem();
	for (i = *n = 0; i < b->n; i++) {
		if (listed_only && b->c[i].result != DNSBL_LISTED)
			continue;
		snprintf(q[*n].name, sizeof q[*n].name, "%s", b->c[i].qname);
		q[(*n)++].type = type;
	}
	return q;
}

void
dnsbl_run(struct dnsbl_batch *b, const struct dnsbl_conf *conf,
    const char *logid)
{
	long long end = now_ms() + conf->timeout_ms;
	struct dns_query *q;
	struct dns *d;
	char err[256];
	size_t i, j, n;

	if (b->n == 0)
		return;
	if ((d = dns_open(NULL, err, sizeof err)) == NULL) {
		log_warn("%s event=unanswered error=\"%s\"", logid, err);
		for (i = 0; i < b->n; i++)
			b->c[i].result = DNSBL_UNANSWERED;
		return;
	}
	q = queries(b, 0, DNS_T_A, &n);
	ask(d, q, n, end);
	judge_all(b, q, conf, logid);
	free(q);
	/* The reasons of the listings only, at once; a second or what is left. */
	q = queries(b, 1, DNS_T_TXT, &n);
	if (end - now_ms() < 1000)
		end = now_ms() + 1000;
	ask(d, q, n, end);
	for (i = j = 0; i < b->n && j < n; i++)
		if (b->c[i].result == DNSBL_LISTED) {
			if (q[j].status == DNS_OK)
				reason_set(&b->c[i], q[j].txt);
			j++;
		}
	free(q);
	dns_close(d);
}

void
dnsbl_batch_free(struct dnsbl_batch *b)
{
	free(b->c);
	b->c = NULL;
	b->n = b->cap = 0;
}

void
dnsbl_words(const struct dnsbl_check *c, char *buf, size_t size)
{
	snprintf(buf, size, "Service unavailable; %s%s%s blocked using %s%s%s",
	    c->is_domain ? "sender domain " : "client [", c->subject,
	    c->is_domain ? "" : "]", c->list->zone, c->reason[0] ? "; " : "",
	    c->reason);
}

const struct dnsbl_check *
dnsbl_verdict(const struct dnsbl_check *c, size_t n, int *unanswered)
{
	const struct dnsbl_check *temp = NULL;
	size_t i;

	*unanswered = 0;
	for (i = 0; i < n; i++) {
		if (c[i].result == DNSBL_UNANSWERED)
			*unanswered = 1;
		if (c[i].result != DNSBL_LISTED)
			continue;
		if (c[i].list->action == DNSBL_REJECT)
			return &c[i];
		if (c[i].list->action == DNSBL_TEMPFAIL && temp == NULL)
			temp = &c[i];
	}
	return temp;
}
