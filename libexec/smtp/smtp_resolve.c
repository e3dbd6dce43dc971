/*
 * The servers of a destination, in the order to try them: its MX hosts'
 * addresses, else its own (RFC 5321 5.1), from DNS and the table
 * smtp_hosts in the configured order; for the relay host, then
 * relayhost_backup's.
 */
#include "smtp.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

static int
target_add(struct job *j, const char *name, const struct dns_addr *a,
    unsigned port)
{
	struct target *t;
	size_t i;

	for (i = 0; i < j->nt; i++)
		if (j->t[i].port == port && j->t[i].a.len == a->len &&
		    memcmp(&j->t[i].a.sa, &a->sa, a->len) == 0)
			return 0;	/* the same server twice: once is enough */
	if (j->nt >= TARGET_MAX)
		return 0;
	t = &j->t[j->nt++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->a = *a;
	t->port = port;
	return 1;
}

/* Addresses from the smtp_hosts table: 1 found, 0 not there. */
static int
hosts_table(struct job *j, const char *name, unsigned port)
{
	char val[HOSTS_VAL_MAX], *w, *save = NULL;
	struct dns_addr a;
	int found = 0;

	if (table_get(&j->s->hosts, name, val, sizeof val) != 1)
		return 0;
	for (w = strtok_r(val, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		if (dns_pton(w, &a) < 0) {
			log_warn("smtp_hosts: %s: not an address: %s", name, w);
			continue;
		}
		target_add(j, name, &a, port);
		found = 1;
	}
	return found;
}

/* The addresses of one host: table and DNS in the configured order. */
static int
host_addrs(struct job *j, struct dns *dns, const char *name, unsigned port,
    char *err, size_t errsz)
{
	struct dns_addr a[DNS_ADDR_MAX];
	int first = j->s->cf.hosts_first, rc;
	size_t n = 0, i;

	if (dns_pton(name, &a[0]) == 0) {
		target_add(j, name, &a[0], port);
		return DNS_OK;
	}
	if (first && hosts_table(j, name, port))
		return DNS_OK;
	if (dns == NULL) {
		fmt(err, errsz, "no DNS resolver");
		rc = DNS_TEMP;
	} else {
		rc = dns_addrs(dns, name, a, DNS_ADDR_MAX, &n, err, errsz);
	}
	for (i = 0; i < n; i++)
		target_add(j, name, &a[i], port);
	if (rc != DNS_OK && !first && hosts_table(j, name, port))
		return DNS_OK;
	return rc;
}

/* The addresses of the n MX hosts of d: 0, or -1 with status and err. */
static int
mx_addrs(struct job *j, struct dns *dns, const struct dest *d,
    const struct dns_mx *mx, size_t n, unsigned port, char *status,
    char *err, size_t errsz)
{
	char e2[TEXT_MAX];
	size_t i;
	int rc, temp = 0;

	/* RFC 7505: a null MX says the domain takes no mail at all. */
	for (i = 0; i < n; i++)
		if (mx[i].host[0] == '\0') {
			snprintf(status, STATUS_MAX, "5.1.10");
			fmt(err, errsz, "domain %s does not accept mail "
			    "(null MX)", d->host);
			return -1;
		}
	for (i = 0; i < n; i++) {
		rc = host_addrs(j, dns, mx[i].host, port, e2, sizeof e2);
		if (rc == DNS_TEMP)
			temp = 1;
		if (rc != DNS_OK)
			fmt(err, errsz, "MX host %s of %s: %s", mx[i].host,
			    d->host, e2);
	}
	if (j->nt > 0)
		return 0;
	snprintf(status, STATUS_MAX, temp ? "4.4.3" : "5.4.4");
	return -1;
}

/*
 * The servers of one destination.  0, or -1 with status and err: a
 * permanent status bounces every recipient.
 */
static int
resolve_one(struct job *j, struct dns *dns, const struct dest *d, char *status,
    char *err, size_t errsz)
{
	struct dns_mx mx[DNS_MX_MAX];
	unsigned port = d->port ? d->port : j->s->cf.port;
	int first = j->s->cf.hosts_first, rc;
	size_t n = 0;

	if (!d->mx) {
		rc = host_addrs(j, dns, d->host, port, err, errsz);
		if (rc == DNS_OK)
			return 0;
		snprintf(status, STATUS_MAX, rc == DNS_TEMP ? "4.4.3" : "5.4.4");
		return -1;
	}
	if (first && hosts_table(j, d->host, port))
		return 0;
	rc = dns ? dns_mx(dns, d->host, mx, DNS_MX_MAX, &n, err, errsz) : DNS_TEMP;
	if (rc == DNS_OK)
		return mx_addrs(j, dns, d, mx, n, port, status, err, errsz);
	if (rc == DNS_NODATA || rc == DNS_NXDOMAIN) {
		/* No MX: the domain's own addresses (RFC 5321 5.1). */
		rc = host_addrs(j, dns, d->host, port, err, errsz);
		if (rc == DNS_OK)
			return 0;
		if (rc == DNS_NXDOMAIN)
			fmt(err, errsz, "Host or domain name not found: %s "
			    "(NXDOMAIN)", d->host);
		snprintf(status, STATUS_MAX, rc == DNS_TEMP ? "4.4.3" :
		    rc == DNS_NXDOMAIN ? "5.1.2" : "5.4.4");
		return -1;
	}
	if (!first && hosts_table(j, d->host, port))
		return 0;
	snprintf(status, STATUS_MAX, rc == DNS_TEMP ? "4.4.3" : "5.1.2");
	return -1;
}

/* The servers of d into j->t: 0, or -1 with status and err. */
int
resolve_dest(struct job *j, const struct dest *d, char *status, char *err,
    size_t errsz)
{
	const char *backup = j->s->cf.relay_backup;
	struct dns *dns;
	char e2[TEXT_MAX], st2[STATUS_MAX];
	struct dest b;
	int rc;

	dns = dns_open(NULL, e2, sizeof e2);
	if (dns == NULL)
		log_warn("DNS: %s", e2);
	rc = resolve_one(j, dns, d, status, err, errsz);
	if (d->relay && *backup != '\0' && dest_nexthop_parse(backup, "", &b) == 0 &&
	    resolve_one(j, dns, &b, st2, e2, sizeof e2) == 0)
		rc = 0;
	dns_close(dns);
	if (rc < 0 && status[0] == '5' && d->relay)
		status[0] = '4';	/* a relay host we cannot find is our fault */
	return rc;
}
