/*
 * Access: who may connect and what each client may do.  The access
 * table's entry for the client (by address, range or CIDR block, else by
 * its verified host name), the default for clients it does not name,
 * per-peer settings (mail or not, a size limit), the greeting, and the
 * checks made of a client at MAIL and RCPT: reverse DNS, the HELO name,
 * and a DNS-BL refusal passed on by sluice-dnsbl.
 *
 * The client checks wait until MAIL, as Postfix's smtpd_delay_reject
 * does: a client that authenticates first is spared them, and the log
 * line of a refusal names the sender.  Only what the administrator said
 * of an address (reject, tempfail, the default) refuses the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "conf.h"
#include "log.h"
#include "smtpd.h"
#include "table.h"

#define GREETING_MAX 200

/* "reject", "tempfail", or off ("no", "off", "", anything else logged). */
static enum action
setting_action(const char *name)
{
	const char *v = conf_get(name, "no");

	if (strcasecmp(v, "reject") == 0)
		return ACT_REJECT;
	if (strcasecmp(v, "tempfail") == 0)
		return ACT_TEMPFAIL;
	if (strcasecmp(v, "no") != 0 && strcasecmp(v, "off") != 0 && *v != '\0')
		log_warn("%s: reject, tempfail or no, not %.40s: taken as no", name, v);
	return ACT_NONE;
}

/*
 * A refusal passed on in SLUICE_DNSBL ("554 5.7.1 words"): a 4xx or 5xx
 * code and printable text, or it is ignored (and logged).
 */
static const char *
dnsbl_refusal(void)
{
	const char *v = getenv("SLUICE_DNSBL");
	size_t i;

	if (v == NULL || *v == '\0')
		return NULL;
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] < 32 || v[i] == 127)
			break;
	if ((v[0] == '4' || v[0] == '5') && v[1] >= '0' && v[1] <= '9' &&
	    v[2] >= '0' && v[2] <= '9' && v[3] == ' ' && v[4] != '\0' && v[i] == '\0')
		return v;
	log_warn("SLUICE_DNSBL is not a 4xx or 5xx reply: ignored");
	return NULL;
}

/* The settings of ACCESS and LIMITS in sluice-smtpd(8). */
void
smtpd_access_init(struct session *s)
{
	struct access_conf *c = &s->ac;
	const char *d = conf_get("smtpd_client_default", "allow");
	long long v;

	s->net_slot.fd = -1;
	c->deflt = strcasecmp(d, "reject") == 0 ? ACT_REJECT :
	    strcasecmp(d, "tempfail") == 0 ? ACT_TEMPFAIL : ACT_NONE;
	if (c->deflt == ACT_NONE && strcasecmp(d, "allow") != 0)
		log_warn("smtpd_client_default: allow, reject or tempfail, not %.40s: "
		    "taken as allow", d);
	c->rdns = setting_action("smtpd_require_rdns");
	c->fcrdns = setting_action("smtpd_require_fcrdns");
	c->helo = setting_action("smtpd_require_helo_match");
	c->sender_domain = setting_action("smtpd_require_sender_domain");
	v = conf_num("smtpd_client_net_connection_limit", 30);
	c->net_limit = v < 0 ? 0 : v > 100000 ? 100000 : (unsigned)v;
	v = conf_num("smtpd_client_message_rate_limit", 0);
	c->msg_rate = v < 0 ? 0 : (unsigned long)v;
	v = conf_num("smtpd_client_recipient_rate_limit", 0);
	c->rcpt_rate = v < 0 ? 0 : (unsigned long)v;
	v = conf_time("smtpd_client_rate_window", 60);
	c->rate_window = v < 1 || v > 7 * 86400 ? 60 : (long)v;
	v = conf_time("smtpd_error_delay", 1);
	c->error_delay = v < 0 || v > 600 ? 1000 : v * 1000;
	v = conf_time("smtpd_error_delay_max", 5);
	c->error_delay_max = v < 0 || v > 3600 ? 5000 : v * 1000;
	v = conf_num("smtpd_error_delay_after", 5);
	c->error_delay_after = v < 0 || v > ERRORS_MAX ? 5 : (unsigned)v;
	c->dnsbl = dnsbl_refusal();
	table_need(&s->senders, "sender_access");
}

/* A host name key: "mx.example.org", or ".example.org" for subdomains. */
static int
name_key(const char *k)
{
	size_t i;
	int letter = 0;

	for (i = 0; k[i]; i++) {
		if ((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_')
			letter = 1;
		else if (!((k[i] >= '0' && k[i] <= '9') || k[i] == '.' || k[i] == '-'))
			return 0;
	}
	return letter && i < 256;
}

/*
 * The old IPv6 prefix form: whole colon-separated groups ("2001:db8" or
 * "2001:db8:"), each 16 bits, without "::".  0, or -1.
 */
static int
v6_groups(const char *k, struct cidr_range *r)
{
	char buf[64];
	size_t n = strlen(k), i, groups = 1;

	if (n == 0 || n >= sizeof buf - 4 || strstr(k, "::") != NULL || k[0] == ':')
		return -1;
	if (k[n - 1] == ':')
		n--;
	for (i = 0; i < n; i++)
		if (k[i] == ':')
			groups++;
	if (groups < 1 || groups > 7 || memchr(k, '.', n) != NULL)
		return -1;
	snprintf(buf, sizeof buf, "%.*s::/%zu", (int)n, k, groups * 16);
	return cidr_parse(buf, r);
}

/* hi - lo of r, 16 octets big-endian: the smaller, the more specific. */
static void
range_span(const struct cidr_range *r, unsigned char d[16])
{
	int i, borrow = 0, v;

	for (i = 15; i >= 0; i--) {
		v = (int)r->hi.b[i] - (int)r->lo.b[i] - borrow;
		borrow = v < 0;
		d[i] = (unsigned char)(v + (borrow ? 256 : 0));
	}
}

/*
 * The most specific address entry that holds the client: its value into
 * val, its key into s->acc.key.  Notes whether there are entries by name.
 * 1 found, 0 none, -1 on a read error.
 */
static int
match_addr(struct session *s, struct table *t, const struct cidr_addr *a,
    char *val, size_t vsz)
{
	char key[TABLE_KEY_MAX + 1], v[512];
	unsigned char best[16], span[16];
	struct cidr_range r;
	unsigned pos = 0;
	int rc, found = 0;

	for (;;) {
		rc = table_next(t, &pos, key, sizeof key, v, sizeof v);
		if (rc < 0 && errno == EOVERFLOW) {
			log_warn("table access: an entry too long to use");
			continue;	/* table_next has moved past it */
		}
		if (rc != 1)
			break;
		if (cidr_parse(key, &r) < 0 && v6_groups(key, &r) < 0) {
			if (name_key(key))
				s->ac.name_keys = 1;
			else
				log_warn("table access: not an address, range or host name: %.60s", key);
			continue;
		}
		if (!cidr_match(&r, a))
			continue;
		range_span(&r, span);
		if (found && memcmp(span, best, sizeof best) >= 0)
			continue;
		memcpy(best, span, sizeof best);
		snprintf(s->acc.key, sizeof s->acc.key, "%.255s", key);
		snprintf(val, vsz, "%s", v);
		found = 1;
	}
	return rc < 0 ? -1 : found;
}

/* One word of an entry's value; 0, or -1 when it means nothing. */
static int
access_word(struct access *a, const char *w)
{
	long long n;

	if (strcasecmp(w, "relay") == 0)
		a->relay = a->allow = 1;
	else if (strcasecmp(w, "allow") == 0 || strcasecmp(w, "ok") == 0)
		a->allow = 1;
	else if (strcasecmp(w, "reject") == 0)
		a->connect = ACT_REJECT;
	else if (strcasecmp(w, "tempfail") == 0)
		a->connect = ACT_TEMPFAIL;
	else if (strcasecmp(w, "mail=reject") == 0 || strcasecmp(w, "mail=no") == 0)
		a->mail = ACT_REJECT;
	else if (strcasecmp(w, "mail=tempfail") == 0)
		a->mail = ACT_TEMPFAIL;
	else if (strcasecmp(w, "mail=yes") == 0)
		a->mail = ACT_NONE;
	else if (strncasecmp(w, "size=", 5) == 0 && (n = conf_parse_size(w + 5)) >= 0)
		a->size = n;
	else
		return -1;
	return 0;
}

/* An entry's value: words separated by blanks or commas. */
static void
access_value(struct access *a, char *val)
{
	char *w, *save = NULL;

	for (w = strtok_r(val, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save))
		if (access_word(a, w) < 0)
			log_warn("table access: unknown word for %s: %.40s", a->key, w);
	/* A refusal is the stronger word. */
	if (a->connect != ACT_NONE)
		a->allow = a->relay = 0;
}

/*
 * The entry for the client: by address first; else, when the table has
 * entries by name, by its host name, which must be verified (its reverse
 * name resolves back to it), since whoever owns an address chooses its
 * reverse name.  The name is looked up as a domain (name, then .parent).
 */
static void
access_lookup(struct session *s)
{
	struct table t;
	struct cidr_addr a;
	char *val = s->lookup_val;
	int rc;

	/* Rules that cannot be read keep the client out for now (421). */
	table_need(&t, "access");
	rc = cidr_addr_parse(s->addr, &a) < 0 ? 0 :
	    match_addr(s, &t, &a, val, sizeof s->lookup_val);
	if (rc == 0 && s->ac.name_keys) {
		smtpd_dns_client(s);
		if (s->rdns == RDNS_OK && (rc = table_lookup_domain(&t, s->name, val,
		    sizeof s->lookup_val)) == 1)
			snprintf(s->acc.key, sizeof s->acc.key, "%.255s", s->name);
	}
	if (rc < 0)
		die(EXIT_TEMP, "unable to read table access: %s", strerror(errno));
	if (rc == 1)
		access_value(&s->acc, val);
	table_close(&t);
}

/*
 * Decide what the client may do.  RELAYCLIENT (tcpserver's rules) makes
 * a relay client whatever the table says; the table's other words (size,
 * mail) still count.
 */
void
smtpd_access_connect(struct session *s)
{
	s->acc.size = -1;
	access_lookup(s);
	if (getenv("RELAYCLIENT") != NULL) {
		s->acc.relay = s->acc.allow = 1;
		s->acc.connect = ACT_NONE;
	}
	if (!s->acc.allow && s->acc.connect == ACT_NONE)
		s->acc.connect = s->ac.deflt;
	s->relay = s->acc.relay;
	if (s->acc.size >= 0)
		s->size_limit = (unsigned long long)s->acc.size;
}

/* smtpd_greeting, when it is printable ASCII, else the default. */
static const char *
greeting_text(void)
{
	const char *g = conf_get("smtpd_greeting", "ESMTP sluice");
	size_t i;

	for (i = 0; g[i]; i++)
		if ((unsigned char)g[i] < 32 || g[i] == 127)
			break;
	if (g[i] != '\0' || i > GREETING_MAX) {
		log_warn("smtpd_greeting: printable ASCII, at most %d octets: "
		    "the default is used", GREETING_MAX);
		return "ESMTP sluice";
	}
	return g;
}

/* The greeting, or the refusal of a client the access rules keep out. */
void
smtpd_access_greet(struct session *s)
{
	const char *g;

	if (s->acc.connect == ACT_REJECT) {
		log_info("client=%s event=reject reason=access entry=%s", s->addr,
		    s->acc.key[0] ? s->acc.key : "default");
		smtpd_session_refuse(s);
	}
	if (s->acc.connect == ACT_TEMPFAIL) {
		smtpd_reply(s, RP_ACCESS_TEMP);
		log_info("client=%s event=tempfail reason=access entry=%s", s->addr,
		    s->acc.key[0] ? s->acc.key : "default");
		smtpd_session_exit(s, EXIT_TEMP);
	}
	g = greeting_text();
	wbuf_printf(&s->out, "220 %s%s%s\r\n", s->hostname, *g ? " " : "", g);
}

/* Spared the client checks: a relay client, one allowed, or authenticated. */
int
smtpd_access_exempt(const struct session *s)
{
	return s->relay || s->acc.allow || s->authenticated;
}

/* Answer a refusal at MAIL and log it; returns -1 for the caller. */
static int
refuse(struct session *s, enum reply_id id, const char *why)
{
	smtpd_reply(s, id);
	log_info("client=%s event=reject reason=%s reply=\"%d %.6s\"", s->addr, why,
	    smtpd_reply_code(id), smtpd_reply_text(id));
	if (smtpd_reply_code(id) >= 500)
		smtpd_session_error(s);
	return -1;
}

static enum reply_id
pick(enum action a, enum reply_id perm, enum reply_id temp)
{
	return a == ACT_REJECT ? perm : temp;
}

/* Reverse DNS, when required: 0, or -1 when refused. */
static int
check_rdns(struct session *s)
{
	struct access_conf *c = &s->ac;

	if (c->rdns == ACT_NONE && c->fcrdns == ACT_NONE)
		return 0;
	smtpd_dns_client(s);
	if (s->rdns == RDNS_TEMP)
		return refuse(s, RP_RDNS_DNS_TEMP, "rdns_lookup");
	if (s->rdns == RDNS_NONE && (c->rdns != ACT_NONE || c->fcrdns != ACT_NONE))
		return refuse(s, pick(c->rdns != ACT_NONE ? c->rdns : c->fcrdns,
		    RP_NO_RDNS, RP_NO_RDNS_TEMP), "no_rdns");
	if (s->rdns == RDNS_MISMATCH && c->fcrdns != ACT_NONE)
		return refuse(s, pick(c->fcrdns, RP_FCRDNS, RP_FCRDNS_TEMP), "fcrdns");
	return 0;
}

/*
 * The HELO name, when it must match the client: 0, or -1 when refused.
 * Checked once per name: a new HELO or EHLO with another name is checked
 * again.
 */
static int
check_helo(struct session *s)
{
	int rc;

	if (s->ac.helo == ACT_NONE)
		return 0;
	if (s->helo_checked[0] == '\0' || strcmp(s->helo_checked, s->helo_name) != 0) {
		rc = smtpd_dns_helo(s);
		s->helo_verdict = rc == 0 ? RP_OK : rc < 0 ? RP_HELO_DNS_TEMP :
		    pick(s->ac.helo, RP_HELO_MISMATCH, RP_HELO_MISMATCH_TEMP);
		/* Both are HELO_MAX + 1 long. */
		strcpy(s->helo_checked, s->helo_name);
	}
	if (s->helo_verdict != RP_OK)
		return refuse(s, s->helo_verdict, "helo");
	return 0;
}

/*
 * At MAIL: the per-peer word on mail, then the client checks (unless the
 * client is exempt).  0, or -1 when answered.
 */
int
smtpd_access_mail(struct session *s)
{
	if (s->acc.mail != ACT_NONE && !s->authenticated)
		return refuse(s, pick(s->acc.mail, RP_MAIL_DENIED, RP_MAIL_DENIED_TEMP),
		    "access_mail");
	if (smtpd_access_exempt(s))
		return 0;
	if (check_rdns(s) < 0 || check_helo(s) < 0)
		return -1;
	return 0;
}

/*
 * At RCPT: a DNS-BL listing that sluice-dnsbl left for us to refuse
 * (dnsbl_refuse_at rcpt), as qmail-smtpd refuses with rblsmtpd's
 * RBLSMTPD, unless the client is exempt.  0, or -1 when answered.
 */
int
smtpd_access_rcpt(struct session *s)
{
	const char *v = s->ac.dnsbl;

	if (v == NULL || smtpd_access_exempt(s))
		return 0;
	smtpd_reply_passed(s, (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0'),
	    v + 4);
	log_info("client=%s event=reject reason=dnsbl reply=\"%.9s\"", s->addr, v);
	if (v[0] == '5')
		smtpd_session_error(s);
	return -1;
}
