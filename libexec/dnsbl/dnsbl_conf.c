/*
 * The configuration: table dnsbl, a list per line
 *   zone  kind  action  [answers...]
 * (kind ip4, ip6, ip or domain; action reject, tempfail or tag; answers
 * the listing replies, as addresses, ranges and CIDR blocks, or &MASK),
 * and table dnsbl_whitelist, a client address, range or block per key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dnsbl.h"
#include "log.h"
#include "table.h"

static int
zone_valid(const char *z)
{
	size_t i, n = strlen(z);

	if (n == 0 || n > 200 || z[0] == '.' || strstr(z, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!((z[i] >= 'a' && z[i] <= 'z') || (z[i] >= '0' && z[i] <= '9') ||
		    z[i] == '.' || z[i] == '-' || z[i] == '_'))
			return 0;
	return 1;
}

static unsigned
word_kind(const char *w)
{
	if (strcmp(w, "ip4") == 0)
		return DNSBL_IP4;
	if (strcmp(w, "ip6") == 0)
		return DNSBL_IP6;
	if (strcmp(w, "ip") == 0)
		return DNSBL_IP4 | DNSBL_IP6;
	if (strcmp(w, "domain") == 0)
		return DNSBL_DOMAIN;
	return 0;
}

static unsigned
word_action(const char *w)
{
	if (strcmp(w, "reject") == 0)
		return DNSBL_REJECT;
	if (strcmp(w, "tempfail") == 0)
		return DNSBL_TEMPFAIL;
	if (strcmp(w, "tag") == 0)
		return DNSBL_TAG;
	return 0;
}

/* One answer pattern: "&MASK" or an address range; 0 or -1. */
static int
answer_add(struct dnsbl_list *l, const char *w)
{
	struct cidr_range r;
	char *end;

	if (w[0] == '&') {
		errno = 0;
		l->mask = strtoul(w + 1, &end, 0);
		return errno || *end || l->mask == 0 || l->mask > 0xffffffffUL ? -1 : 0;
	}
	if (cidr_parse(w, &r) < 0)
		return -1;
	if (cidr_list_add(&l->answers, &r) < 0)
		die_nomem();
	return 0;
}

static void
list_parse(struct dnsbl_list *l, const char *path, char *zone, char *val)
{
	char *w, *save = NULL;
	size_t n = strlen(zone);

	if (n > 0 && zone[n - 1] == '.')
		zone[n - 1] = '\0';	/* the same zone, fully qualified */
	if (!zone_valid(zone))
		die(EXIT_TEMP, "%s: %s: not a DNS zone", path, zone);
	memset(l, 0, sizeof *l);
	strcpy(l->zone, zone);
	if ((w = strtok_r(val, " \t", &save)) == NULL || !(l->kind = word_kind(w)))
		die(EXIT_TEMP, "%s: %s: the kind is ip4, ip6, ip or domain", path, zone);
	if ((w = strtok_r(NULL, " \t", &save)) == NULL || !(l->action = word_action(w)))
		die(EXIT_TEMP, "%s: %s: the action is reject, tempfail or tag", path, zone);
	while ((w = strtok_r(NULL, " \t,", &save)) != NULL)
		if (answer_add(l, w) < 0)
			die(EXIT_TEMP, "%s: %s: not an answer pattern: %s", path, zone, w);
}

static void
lists_load(struct dnsbl_conf *c, const char *name)
{
	struct table t;
	char key[TABLE_KEY_MAX], val[1024];
	unsigned pos = 0;
	int rc;

	table_need(&t, name);
	while ((rc = table_next(&t, &pos, key, sizeof key, val, sizeof val)) == 1) {
		if (c->n == DNSBL_LISTS_MAX)
			die(EXIT_TEMP, "%s: more than %d lists", t.path, DNSBL_LISTS_MAX);
		list_parse(&c->list[c->n++], t.path, key, val);
	}
	if (rc < 0)
		die_sys("unable to read table %s", t.path);
	table_close(&t);
}

static void
white_load(struct dnsbl_conf *c, const char *name)
{
	struct table t;
	char key[TABLE_KEY_MAX], val[1024];
	struct cidr_range r;
	unsigned pos = 0;
	int rc;

	table_need(&t, name);
	while ((rc = table_next(&t, &pos, key, sizeof key, val, sizeof val)) == 1) {
		if (cidr_parse(key, &r) < 0)
			die(EXIT_TEMP, "%s: not an address, range or CIDR block: %s",
			    t.path, key);
		if (cidr_list_add(&c->white, &r) < 0)
			die_nomem();
	}
	if (rc < 0)
		die_sys("unable to read table %s", t.path);
	table_close(&t);
}

void
dnsbl_conf_load(struct dnsbl_conf *c, const char *lists, const char *white)
{
	const char *act = conf_get("dnsbl_timeout_action", "accept");
	long long t = conf_time("dnsbl_timeout", 10);

	memset(c, 0, sizeof *c);
	if (t <= 0 || t > 3600)
		die(EXIT_TEMP, "dnsbl_timeout: not a time from 1s to 1h");
	c->timeout_ms = (long)t * 1000;
	if (strcmp(act, "tempfail") == 0)
		c->timeout_tempfail = 1;
	else if (strcmp(act, "accept") != 0)
		die(EXIT_TEMP, "dnsbl_timeout_action: accept or tempfail, not %s", act);
	lists_load(c, lists);
	white_load(c, white);
}

int
dnsbl_whitelisted(const struct dnsbl_conf *c, const struct cidr_addr *a)
{
	return cidr_list_match(&c->white, a) >= 0;
}

int
dnsbl_conf_any(const struct dnsbl_conf *c, unsigned kind, unsigned actions)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if ((c->list[i].kind & kind) && (c->list[i].action & actions))
			return 1;
	return 0;
}
