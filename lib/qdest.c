#include "qdest.h"
#include "addr.h"
#include "conf.h"
#include "log.h"
#include "route.h"
#include "table.h"

#include <cdb.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void
lower_copy(char *out, size_t size, const char *s, size_t n)
{
	size_t i;

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	out[n] = '\0';
}

static const char *
domain_of(const struct rcpt *r)
{
	const char *at = strrchr(r->addr, '@');

	return at ? at + 1 : "";
}

/* The relayhost setting's host, "" when unset or unusable. */
static const char *
relay_host(void)
{
	static char host[QDEST_NAME_MAX + 1];
	static int done;
	const char *v, *err;
	char text[ROUTE_MAX + 1];
	struct route rt;

	if (!done) {
		done = 1;
		v = conf_get("relayhost", "");
		if (*v != '\0' && snprintf(text, sizeof text, "smtp:%s", v) <
		    (int)sizeof text && route_parse(text, &rt, &err) == 0)
			lower_copy(host, sizeof host, rt.host, strlen(rt.host));
	}
	return host;
}

/* The recipient's smtp nexthop into hop (""), and its route's text. */
static void
nexthop(const struct rcpt *r, char *hop, size_t size, char *via, size_t vsize)
{
	struct route rt;
	const char *err;

	hop[0] = '\0';
	if (via != NULL)
		via[0] = '\0';
	if (route_get(r, &rt, &err) != 1 || rt.ch != ROUTE_SMTP)
		return;
	/* An explicit nexthop wins; relayhost serves routes without one. */
	if (rt.host[0] == '\0' && *relay_host() != '\0') {
		lower_copy(hop, size, relay_host(), strlen(relay_host()));
		if (via != NULL)
			snprintf(via, vsize, "%s", conf_get("relayhost", ""));
		return;
	}
	if (rt.host[0] == '\0')
		return;
	lower_copy(hop, size, rt.host, strlen(rt.host));
	if (via != NULL)
		snprintf(via, vsize, "%s", rt.text + 5);	/* after "smtp:" */
}

void
qdest_name(const struct rcpt *r, char *out, size_t size)
{
	const char *d;

	nexthop(r, out, size, NULL, 0);
	if (out[0] == '\0') {
		d = domain_of(r);
		lower_copy(out, size, d, strlen(d));
	}
}

void
qdest_describe(const struct rcpt *r, char *out, size_t size)
{
	char hop[QDEST_NAME_MAX + 1], via[ROUTE_MAX + 1], dom[QDEST_NAME_MAX + 1];
	const char *d = domain_of(r);

	lower_copy(dom, sizeof dom, d, strlen(d));
	nexthop(r, hop, sizeof hop, via, sizeof via);
	if (hop[0] != '\0' && strcmp(hop, dom) != 0)
		snprintf(out, size, "%s via %s", dom[0] ? dom : "(no domain)", via);
	else
		snprintf(out, size, "%s", dom[0] ? dom : "(no domain)");
}

/* name is want, or with sub set a subdomain of it. */
static int
name_is(const char *name, const char *want, int sub)
{
	size_t n = strlen(name), w = strlen(want);

	if (strcasecmp(name, want) == 0)
		return 1;
	return sub && n > w && name[n - w - 1] == '.' &&
	    strcasecmp(name + n - w, want) == 0;
}

int
qdest_match(const struct rcpt *r, const char *want)
{
	char hop[QDEST_NAME_MAX + 1];
	int sub = want[0] == '@';

	if (sub)
		want++;
	if (name_is(domain_of(r), want, sub))
		return 1;
	nexthop(r, hop, sizeof hop, NULL, 0);
	return hop[0] != '\0' && name_is(hop, want, sub);
}

int
qdest_check(char *name)
{
	char *s = name[0] == '@' ? name + 1 : name;
	size_t n = strlen(s), i;

	if (n == 0 || n > QDEST_NAME_MAX)
		return -1;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		for (i = 1; i < n - 1; i++)
			if (!strchr("0123456789abcdefABCDEF.:", s[i]) &&
			    strncasecmp(s + i, "ipv6:", 5) != 0)
				return -1;
	} else {
		if (s[0] == '.' || s[0] == '-' || s[n - 1] == '.' ||
		    strstr(s, "..") != NULL)
			return -1;
		for (i = 0; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
			    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
			    s[i] == '.' || s[i] == '-' || s[i] == '_'))
				return -1;
	}
	lower_copy(name, strlen(name) + 1, name, strlen(name));
	return 0;
}

/*
 * Look name up over o; a fault is logged once.  0, or -1 with err when
 * the table cannot be read.
 */
static int
lookup(const char *name, struct dest_opts *o, char *err, size_t errsz)
{
	static int warned;

	if (name[0] == '\0' || dest_lookup(name, o, err, errsz) >= 0)
		return 0;
	if (!warned) {
		warned = 1;
		log_warn("smtp_dest: %s: %s%s", name, err, errno == EINVAL ? "" :
		    ": the messages of the queue wait until it can be read");
	}
	return errno == EINVAL ? 0 : -1;
}

int
qdest_opts(const struct rcpt *r, struct dest_opts *o, char *err, size_t errsz)
{
	struct dest_opts a = { 0, 0, -1, -1 }, b = { 0, 0, -1, -1 };
	char hop[QDEST_NAME_MAX + 1], dom[QDEST_NAME_MAX + 1];
	const char *d = domain_of(r);

	nexthop(r, hop, sizeof hop, NULL, 0);
	lower_copy(dom, sizeof dom, d, strlen(d));
	if (dom[0] == '[')
		dom[0] = '\0';	/* an address literal has no entry of its own */
	memset(o, 0, sizeof *o);
	o->lifetime = -1;
	if ((hop[0] != '\0' && strcmp(hop, dom) != 0 &&
	    lookup(hop, &a, err, errsz) < 0) || lookup(dom, &b, err, errsz) < 0)
		return -1;
	o->lifetime = a.lifetime >= 0 ? a.lifetime : b.lifetime;
	o->queue_first = a.queue_first >= 0 ? a.queue_first :
	    b.queue_first > 0 ? 1 : 0;
	return 0;
}

int
qdest_any_queue_first(void)
{
	static int any = -1;
	struct table t;
	struct dest_opts o;
	char val[1024], err[256];
	unsigned pos, len;

	if (any >= 0)
		return any;
	any = 0;
	if (table_open(&t, "smtp_dest") < 0)
		return any = 1;
	if (t.fd < 0)
		return any;
	cdb_seqinit(&pos, &t.cdb);
	while (!any && cdb_seqnext(&pos, &t.cdb) > 0) {
		len = cdb_datalen(&t.cdb);
		if (len >= sizeof val || cdb_read(&t.cdb, val, len,
		    cdb_datapos(&t.cdb)) < 0)
			continue;
		val[len] = '\0';
		o.queue_first = -1;
		if (dest_parse(val, &o, err, sizeof err) == 0 && o.queue_first == 1)
			any = 1;
	}
	table_close(&t);
	return any;
}
