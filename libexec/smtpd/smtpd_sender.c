/*
 * Senders refused: table sender_access, keyed by address in the lookup
 * order of every table (address, user@, @domain, @.parent), with the
 * value reject (553 5.7.1 at MAIL), tempfail (450 4.7.1) or ok (an
 * exception to an entry for the domain); checked on MAIL FROM and, while
 * DATA is read, on every address of the From, Reply-To, Sender,
 * Resent-From and Return-Path header fields.  And the sender's domain,
 * which must have an MX or an A record, and no null MX.  A client exempt
 * from the client checks (relay, allow, authenticated) is spared these.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "smtpd.h"
#include "table.h"

enum verdict { V_OK, V_REJECT, V_TEMPFAIL, V_FAIL };

/* The sender_access word for addr. */
static enum verdict
lookup(struct session *s, const char *addr)
{
	char matched[TABLE_KEY_MAX + 1];
	int rc;

	if (s->senders.fd < 0 || strchr(addr, '@') == NULL)
		return V_OK;
	rc = table_lookup_addr(&s->senders, addr, s->lookup_val, sizeof s->lookup_val,
	    matched, sizeof matched);
	if (rc < 0) {
		log_warn("unable to read table sender_access: %s", strerror(errno));
		return V_FAIL;
	}
	if (rc == 0 || strncasecmp(s->lookup_val, "ok", 2) == 0)
		return V_OK;
	if (strncasecmp(s->lookup_val, "reject", 6) == 0)
		return V_REJECT;
	if (strncasecmp(s->lookup_val, "tempfail", 8) == 0)
		return V_TEMPFAIL;
	log_warn("table sender_access: unknown value for %s: %.40s", matched,
	    s->lookup_val);
	return V_OK;
}

static int
refuse(struct session *s, enum reply_id id, const char *why, const char *addr)
{
	smtpd_reply(s, id);
	log_info("client=%s event=reject reason=%s from=<%s> reply=\"%d %.6s\"",
	    s->addr, why, addr, smtpd_reply_code(id), smtpd_reply_text(id));
	if (smtpd_reply_code(id) >= 500)
		smtpd_session_error(s);
	return -1;
}

/* The sender's domain, when it must take mail: 0, or -1 when answered. */
static int
check_domain(struct session *s, const struct addr *a, const char *fmt)
{
	enum action act = s->ac.sender_domain;

	if (act == ACT_NONE || a->domain[0] == '\0')
		return 0;
	switch (smtpd_dns_sender_domain(s, a->domain)) {
	case 0:
		return 0;
	case 1:
		return refuse(s, act == ACT_REJECT ? RP_SENDER_DOMAIN :
		    RP_SENDER_DOMAIN_TEMP, "sender_domain", fmt);
	case 2:
		return refuse(s, act == ACT_REJECT ? RP_SENDER_NULL_MX :
		    RP_SENDER_NULL_MX_TEMP, "sender_null_mx", fmt);
	default:
		return refuse(s, RP_SENDER_DNS_TEMP, "sender_domain_dns", fmt);
	}
}

/* MAIL FROM:<fmt>: 0, or -1 when answered. */
int
smtpd_sender_mail(struct session *s, const struct addr *a, const char *fmt)
{
	if (smtpd_access_exempt(s))
		return 0;
	switch (lookup(s, fmt)) {
	case V_REJECT:
		return refuse(s, RP_SENDER_DENIED, "sender_access", fmt);
	case V_TEMPFAIL:
		return refuse(s, RP_SENDER_DENIED_TEMP, "sender_access", fmt);
	case V_FAIL:
		return refuse(s, RP_LOOKUP_FAIL, "sender_access", fmt);
	default:
		break;
	}
	return check_domain(s, a, fmt);
}

void
smtpd_sender_hdr_start(struct session *s, struct sender_hdr *h)
{
	h->on = s->senders.fd >= 0 && !smtpd_access_exempt(s);
	h->keep = 0;
	h->len = 0;
	h->verdict = RP_OK;
}

/* Is the line the start of one of the fields to check?  Its value's offset. */
static size_t
field_start(const char *l, size_t n)
{
	static const char *names[] = { "From", "Reply-To", "Sender", "Resent-From",
		"Return-Path", NULL };
	size_t i, k;

	for (i = 0; names[i] != NULL; i++) {
		k = strlen(names[i]);
		if (n <= k || strncasecmp(l, names[i], k) != 0)
			continue;
		while (k < n && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if (k < n && l[k] == ':')
			return k + 1;
	}
	return 0;
}

/* One mailbox's address (from word or angle brackets) against the table. */
static void
check_one(struct session *s, struct sender_hdr *h, char *addr, size_t n)
{
	enum verdict v;

	while (n > 0 && (addr[n - 1] == ' ' || addr[n - 1] == '\t'))
		n--;
	addr[n] = '\0';
	if (n == 0)
		return;
	v = lookup(s, addr);
	if (v == V_REJECT || (v != V_OK && h->verdict == RP_OK)) {
		h->verdict = v == V_REJECT ? RP_HEADER_SENDER : RP_HEADER_SENDER_TEMP;
		log_info("client=%s event=reject reason=header_sender address=<%s>",
		    s->addr, addr);
	}
}

/*
 * The addresses of a mailbox list (RFC 5322 3.4), read with no more than
 * a scanner: quoted strings and comments are skipped, <...> is the
 * address when there is one, else the words of the mailbox are; a group's
 * name (up to ':') is not an address.  Addresses are written over the
 * field as they are found.
 */
static void
check_field(struct session *s, struct sender_hdr *h)
{
	char *f = h->field, addr[TEXT_MAX * 2];
	size_t i, n = 0;
	int depth = 0, quoted = 0, angle = 0, got_angle = 0;

	for (i = 0; i <= h->len; i++) {
		char c = i < h->len ? f[i] : ',';

		if (quoted) {
			quoted = !(c == '"' && f[i - 1] != '\\');
		} else if (depth > 0) {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		} else if (c == '"' && !angle) {
			quoted = 1;
		} else if (c == '(' && !angle) {
			depth = 1;
		} else if (c == '<') {
			angle = got_angle = 1;
			n = 0;
		} else if (c == '>' && angle) {
			angle = 0;
		} else if ((c == ',' || c == ';') && !angle) {
			check_one(s, h, addr, n);
			n = got_angle = 0;
		} else if (c == ':' && !angle && !got_angle) {
			n = 0;	/* a group's name */
		} else if ((angle || !got_angle) && c != ' ' && c != '\t' &&
		    n < sizeof addr - 1) {
			addr[n++] = c;
		}
	}
}

/*
 * One header line of the message, without its line end (n 0: the blank
 * line that ends the header).  A field to check is gathered with its
 * folded lines, then checked.
 */
void
smtpd_sender_hdr_line(struct session *s, struct sender_hdr *h, const char *l,
    size_t n)
{
	size_t k;

	if (!h->on)
		return;
	if (n > 0 && (l[0] == ' ' || l[0] == '\t')) {
		k = n < sizeof h->field - h->len ? n : sizeof h->field - h->len;
		if (h->keep && k > 0) {
			memcpy(h->field + h->len, l, k);
			h->len += k;
		}
		return;
	}
	if (h->keep)
		check_field(s, h);
	h->keep = 0;
	if (n == 0) {
		h->on = 0;
		return;
	}
	if ((k = field_start(l, n)) > 0) {
		h->keep = 1;
		h->len = n - k < sizeof h->field ? n - k : sizeof h->field;
		memcpy(h->field, l + k, h->len);
	}
}
