/*
 * Destinations: the recipients with one nexthop, found through a hash
 * table on their key, and what defers a whole destination before any
 * worker starts (an unreachable one, an unreadable smtp_auth).
 */
#include "smtp.h"

#include "addr.h"
#include "log.h"
#include "prog.h"
#include "xtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static size_t
hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void
dhash_grow(struct smtp *s)
{
	size_t i, j;

	free(s->dhash);
	s->dhsize = s->dhsize ? s->dhsize * 2 : 256;
	s->dhash = calloc(s->dhsize, sizeof *s->dhash);
	if (s->dhash == NULL)
		die_nomem();
	for (i = 0; i < s->ndests; i++) {
		for (j = hash(s->dests[i].key) & (s->dhsize - 1); s->dhash[j];
		    j = (j + 1) & (s->dhsize - 1))
			;
		s->dhash[j] = i + 1;
	}
}

/*
 * Parse a nexthop in the route's form: "" (the recipient's MX), "host"
 * or "host:port" (MX of host), "[host]" or "[host]:port" (no MX lookup).
 */
int
dest_nexthop_parse(const char *s, const char *domain, struct dest *d)
{
	const char *e, *colon;
	size_t n;

	memset(d, 0, sizeof *d);
	if (*s == '\0') {
		if (*domain == '[') {	/* an address literal: no MX */
			s = domain;
		} else {
			d->mx = 1;
			if (strlen(domain) >= sizeof d->host)
				return -1;
			strcpy(d->host, domain);
			snprintf(d->key, sizeof d->key, "%s", domain);
			return 0;
		}
	}
	if (*s == '[') {
		if ((e = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(e - s - 1);
		colon = e[1] == ':' ? e + 1 : NULL;
		if (e[1] != '\0' && colon == NULL)
			return -1;
		s++;
		if (strncasecmp(s, "ipv6:", 5) == 0) {
			s += 5;
			n -= 5;
		}
	} else {
		d->mx = 1;
		colon = strrchr(s, ':');
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= sizeof d->host)
		return -1;
	memcpy(d->host, s, n);
	d->host[n] = '\0';
	addr_lower(d->host);
	if (colon != NULL) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (*end != '\0' || p <= 0 || p > 65535)
			return -1;
		d->port = (unsigned)p;
	}
	snprintf(d->key, sizeof d->key, "%s%s%s:%u", d->mx ? "" : "[", d->host,
	    d->mx ? "" : "]", d->port);
	return 0;
}

/* The index of the destination with proto's key, added when new. */
static int
find(struct smtp *s, const struct dest *proto)
{
	struct dest *d;
	size_t j;
	char err[256];

	if (s->ndests * 2 >= s->dhsize)
		dhash_grow(s);
	for (j = hash(proto->key) & (s->dhsize - 1); s->dhash[j];
	    j = (j + 1) & (s->dhsize - 1))
		if (strcmp(s->dests[s->dhash[j] - 1].key, proto->key) == 0)
			return (int)(s->dhash[j] - 1);
	if (s->ndests == s->adests) {
		s->adests = s->adests ? s->adests * 2 : 16;
		s->dests = xrealloc(s->dests, s->adests * sizeof *s->dests);
	}
	d = &s->dests[s->ndests];
	*d = *proto;
	d->o.reuse = s->cf.reuse;
	d->o.concurrency = s->cf.dest_concurrency;
	d->o.lifetime = -1;
	d->o.queue_first = -1;
	if (dest_lookup(d->host, &d->o, err, sizeof err) < 0)
		log_warn("smtp_dest: %s: %s", d->host, err);
	s->dhash[j] = s->ndests + 1;
	return (int)s->ndests++;
}

/* A recipient decided without a worker: -2. */
static int
decided(struct rstate *rs, enum rstat st, const char *status, const char *text)
{
	rs->st = st;
	fmt(rs->status, sizeof rs->status, "%s", status);
	rs->text = xstrdup(text);
	return -2;
}

/*
 * Which destination takes this recipient: its index, -1 when it is not
 * ours, -2 when it is decided already (rs says how).  An explicit nexthop
 * in the route wins; relayhost is the nexthop of routes without one, as
 * a nexthop in Postfix's transport_maps wins over its relayhost.
 */
int
dest_of_rcpt(struct smtp *s, const struct rcpt *r, struct rstate *rs)
{
	const char *v = xparam_get(r->x, r->nx, "X-ROUTE"), *at, *hop;
	char route[1024], t[1100];
	struct dest d;
	int relay = 0;
	long n;

	if (v == NULL)
		return -1;
	n = xtext_decode(v, strlen(v), route, sizeof route);
	if (n < 0 || strncasecmp(route, "smtp", 4) != 0 ||
	    (route[4] != '\0' && route[4] != ':'))
		return -1;
	at = strrchr(r->addr, '@');
	hop = route[4] == ':' ? route + 5 : "";
	if (*hop == '\0' && *s->cf.relay != '\0') {
		hop = s->cf.relay;
		relay = 1;
	} else if (*hop == '\0' && (at == NULL || at[1] == '\0')) {
		return decided(rs, R_BOUNCED, "5.1.3",
		    "recipient address has no domain");
	}
	if (dest_nexthop_parse(hop, at ? at + 1 : "", &d) < 0) {
		fmt(t, sizeof t, "malformed nexthop \"%s\"", hop);
		return decided(rs, R_DEFERRED, "4.3.5", t);
	}
	d.relay = relay;
	return find(s, &d);
}

void
dest_add_msg(struct dest *d, size_t mi)
{
	if (d->nm > 0 && d->m[d->nm - 1] == mi)
		return;
	if (d->nm == d->am) {
		d->am = d->am ? d->am * 2 : 16;
		d->m = xrealloc(d->m, d->am * sizeof *d->m);
	}
	d->m[d->nm++] = mi;
}

/*
 * Before any worker starts: defer every pending recipient of destination
 * di with status and text, and give it no worker.
 */
void
dest_defer_all(struct smtp *s, size_t di, const char *status, const char *text)
{
	struct dest *d = &s->dests[di];
	size_t i, k;

	for (i = 0; i < d->nm; i++) {
		struct msg *m = &s->msgs[d->m[i]];

		for (k = 0; k < m->t.nrcpt; k++) {
			struct rstate *rs = &m->rs[k];

			if (rs->dest != (int)di || rs->st != R_PENDING)
				continue;
			rs->st = R_DEFERRED;
			fmt(rs->status, sizeof rs->status, "%s", status);
			rcpt_set_text(rs, text);
			rcpt_log(s, m, k, "none", status, rs->st, text);
		}
	}
	d->nm = 0;
}

/*
 * The recipients of a destination remembered as unreachable (lib/unreach)
 * are deferred at once, and it gets no worker.
 */
void
dest_skip_unreachable(struct smtp *s)
{
	char why[TEXT_MAX], text[TEXT_MAX + 400], until[64];
	time_t now = time(NULL), t;
	long long age, ttl = s->unreach.ttl;
	struct tm tm;
	size_t di;

	for (di = 0; di < s->ndests; di++) {
		struct dest *d = &s->dests[di];

		if (d->nm == 0 || (age = unreach_age(&s->unreach, d->key, now,
		    why, sizeof why)) < 0)
			continue;
		t = now - (time_t)age + (time_t)ttl;
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(until, sizeof until, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
			snprintf(until, sizeof until, "%lld s", ttl - age);
		fmt(text, sizeof text, "destination %s was unreachable %llds ago "
		    "(not tried again until %s)%s%s", d->key, age, until,
		    why[0] ? ": " : "", why);
		dest_defer_all(s, di, "4.4.1", text);
	}
}

/*
 * A table exists but cannot be read.  smtp_auth: which server needs a
 * login cannot be known, and sending without one would have the relay
 * refuse the mail.  smtp_hosts, smtp_tls: read as empty, mail would go to
 * other servers, or in clear where TLS is required.  So every destination
 * waits for the table to be readable again.
 */
void
dest_skip_unreadable_table(struct smtp *s)
{
	char text[TEXT_MAX];
	size_t di;

	fmt(text, sizeof text, "unable to read %stable %s: %s",
	    s->table_bad == &s->auth ? "the relay passwords " : "",
	    s->table_bad->path, strerror(s->table_errno));
	for (di = 0; di < s->ndests; di++)
		if (s->dests[di].nm > 0)
			dest_defer_all(s, di, "4.7.0", text);
}
