#include "dsn.h"
#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "qid.h"
#include "text.h"
#include "xtext.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int
dsn_wanted(unsigned notify, enum dsn_action action)
{
	if (notify & NOTIFY_NEVER)
		return 0;
	if (notify == 0)
		return action != DSN_DELIVERED && action != DSN_RELAYED;
	switch (action) {
	case DSN_FAILED:
		return (notify & NOTIFY_FAILURE) != 0;
	case DSN_DELAYED:
		return (notify & NOTIFY_DELAY) != 0;
	default:
		return (notify & NOTIFY_SUCCESS) != 0;
	}
}

const char *
dsn_postmaster(void)
{
	static char pm[300];
	const char *v = conf_get("postmaster", NULL);

	if (v != NULL)
		return v;
	if (pm[0] == '\0')
		snprintf(pm, sizeof pm, "postmaster@%s",
		    conf_get("qualify_domain", conf_hostname()));
	return pm;
}

/*
 * The postmaster, or what an alias made of the postmaster: its ORCPT
 * (set by sluice-alias) still names the postmaster.  Without this, a
 * double bounce to a postmaster alias that fails would bounce again to
 * the postmaster, for ever.
 */
static int
for_postmaster(const struct rcpt *r)
{
	char dec[STREAM_ORCPT_MAX + 1];
	const char *o = r->orcpt;

	if (strcasecmp(r->addr, dsn_postmaster()) == 0)
		return 1;
	return o != NULL && strncasecmp(o, "rfc822;", 7) == 0 &&
	    xtext_decode(o + 7, strlen(o + 7), dec, sizeof dec) >= 0 &&
	    strcasecmp(dec, dsn_postmaster()) == 0;
}

int
dsn_is_double(const struct txn *t)
{
	return t->from != NULL && t->from[0] == '\0' && t->nrcpt > 0 &&
	    xparam_get(t->x, t->nx, "X-NOTICE") != NULL &&
	    for_postmaster(&t->rcpt[0]);
}

void
dsn_date(time_t t, char *buf, size_t size)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}

/* Printable ASCII only, no line breaks, at most max octets. */
static void
clean(const char *s, char *out, size_t size)
{
	size_t i, k = 0;

	for (i = 0; s != NULL && s[i] != '\0' && k + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	out[k] = '\0';
}

/* Octets in the UTF-8 sequence that lead byte c starts. */
static size_t
seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/*
 * clean(), except that in a report for internationalized mail (utf8)
 * well-formed UTF-8 is kept (RFC 6533 6.2); a cut falls between
 * characters.
 */
static void
clean_text(const char *s, char *out, size_t size, int utf8)
{
	size_t i, k = 0, len;

	if (!utf8 || s == NULL || !utf8_valid(s, strlen(s))) {
		clean(s, out, size);
		return;
	}
	for (i = 0; s[i] != '\0'; i += len) {
		unsigned char c = (unsigned char)s[i];

		len = seq_len(c);
		if (k + len >= size)
			break;
		if (c < 0x20 || c == 0x7f)
			out[k++] = ' ';
		else {
			memcpy(out + k, s + i, len);
			k += len;
		}
	}
	out[k] = '\0';
}

/* Whether s, NULL or a string, has an 8-bit octet. */
static int
has8(const char *s)
{
	return s != NULL && text_has8bit(s, strlen(s));
}

/* UTF-8 encoding of code point cp into out (4 octets); its length, or 0. */
static size_t
utf8_put(unsigned long cp, char *out)
{
	if (cp < 0x80)
		return out[0] = (char)cp, 1;
	if (cp < 0x800)
		return out[0] = (char)(0xc0 | cp >> 6),
		    out[1] = (char)(0x80 | (cp & 0x3f)), 2;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	if (cp < 0x10000)
		return out[0] = (char)(0xe0 | cp >> 12),
		    out[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
		    out[2] = (char)(0x80 | (cp & 0x3f)), 3;
	if (cp > 0x10ffff)
		return 0;
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * An ORCPT of the utf-8 type (RFC 6533 3): its value is UTF-8 with
 * "\x{HEX}" for any character, the form a 7-bit client must use.  Decoded
 * into out: 0, or -1 when o is of another type, malformed or too long.
 */
static int
orcpt_utf8(const char *o, char *out, size_t size)
{
	size_t i, k = 0, len, step;

	if (o == NULL || strncasecmp(o, "utf-8;", 6) != 0)
		return -1;
	for (i = 6; o[i] != '\0'; i += step) {
		char enc[4];
		const char *src = o + i;

		len = step = 1;
		if (o[i] == '\\' && o[i + 1] == 'x' && o[i + 2] == '{') {
			unsigned long cp = 0;
			size_t h;

			for (h = i + 3; isxdigit((unsigned char)o[h]) && h < i + 9; h++)
				cp = cp * 16 + (unsigned long)(isdigit((unsigned char)o[h]) ?
				    o[h] - '0' : (o[h] | 0x20) - 'a' + 10);
			if (h == i + 3 || o[h] != '}' || (len = utf8_put(cp, enc)) == 0)
				return -1;
			src = enc;
			step = h + 1 - i;
		}
		if (k + len >= size)
			return -1;
		memcpy(out + k, src, len);
		k += len;
	}
	out[k] = '\0';
	return utf8_valid(out, k) ? 0 : -1;
}

static int
line(struct stream_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * One line of the notice's body, dot-stuffed by the writer, cut to the
 * 998 octets a stream text line may have.
 */
static int
line(struct stream_writer *w, const char *fmt, ...)
{
	char buf[STREAM_TEXT_MAX - 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	return stream_write_line(w, buf, (size_t)n);
}

static const char *const kind_name[] = { "bounce", "delay", "success",
	"success" };
static const char *const action_name[] = { "failed", "delayed", "delivered",
	"relayed" };

static int
human_part(struct stream_writer *w, const struct dsn *d,
    const struct dsn_rcpt *r, size_t n, const char *host, int intl)
{
	char diag[DSN_DIAG_MAX + 1], date[64];
	size_t i;

	if (line(w, "Content-Description: Notification") < 0 ||
	    line(w, "Content-Type: text/plain; charset=%s",
	    intl ? "utf-8" : "us-ascii") < 0 ||
	    (intl && line(w, "Content-Transfer-Encoding: 8bit") < 0) ||
	    line(w, "%s", "") < 0 ||
	    line(w, "This is the mail system at host %s.", host) < 0 ||
	    line(w, "%s", "") < 0)
		return -1;
	switch (d->action) {
	case DSN_FAILED:
		if (line(w, "Your message could not be delivered to the recipients "
		    "below.") < 0 || line(w, "This is a permanent error; it will "
		    "not be retried.") < 0)
			return -1;
		break;
	case DSN_DELAYED:
		if (line(w, "Your message has not yet been delivered to the "
		    "recipients below.") < 0 ||
		    line(w, "The mail system will keep trying; you need not send "
		    "it again.") < 0)
			return -1;
		if (n > 0 && r[0].retry_until != 0) {
			dsn_date(r[0].retry_until, date, sizeof date);
			if (line(w, "It gives up on %s.", date) < 0)
				return -1;
		}
		break;
	case DSN_RELAYED:
		if (line(w, "Your message was passed on to the recipients' mail "
		    "servers below,") < 0 || line(w, "which will not report its "
		    "delivery.") < 0)
			return -1;
		break;
	default:
		if (line(w, "Your message was delivered to the recipients below.") < 0)
			return -1;
		break;
	}
	if (line(w, "%s", "") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		clean_text(r[i].diag, diag, sizeof diag, intl);
		if (line(w, "<%s>: %s%s%s", r[i].rcpt->addr, r[i].status,
		    diag[0] ? " " : "", diag) < 0)
			return -1;
	}
	return line(w, "%s", "");
}

/* The per-message fields of message/delivery-status (RFC 3464 2.2). */
static int
message_fields(struct stream_writer *w, const struct dsn *d, const char *host,
    int intl)
{
	char envid[STREAM_ENVID_MAX + 1], shown[STREAM_ENVID_MAX + 1], date[64];
	time_t arrival = d->arrival;

	if (line(w, "Reporting-MTA: dns; %s", host) < 0)
		return -1;
	if (d->qid != NULL && line(w, "X-Sluice-Queue-ID: %s", d->qid) < 0)
		return -1;
	/* Decoded xtext may hold any octet; the report is US-ASCII. */
	if (d->orig->envid != NULL &&
	    xtext_decode(d->orig->envid, strlen(d->orig->envid), envid,
	    sizeof envid) >= 0) {
		clean(envid, shown, sizeof shown);
		if (line(w, "Original-Envelope-Id: %s", shown) < 0)
			return -1;
	}
	if (d->orig->from != NULL && d->orig->from[0] != '\0' &&
	    line(w, "X-Original-Sender: %s; %s", intl && has8(d->orig->from) ?
	    "utf-8" : "rfc822", d->orig->from) < 0)
		return -1;
	if (arrival == 0 && d->qid != NULL)
		arrival = qid_time(d->qid);
	if (arrival != 0) {
		dsn_date(arrival, date, sizeof date);
		if (line(w, "Arrival-Date: %s", date) < 0)
			return -1;
	}
	return 0;
}

/* The per-recipient fields (RFC 3464 2.3), one block per recipient. */
static int
recipient_fields(struct stream_writer *w, const struct dsn *d,
    const struct dsn_rcpt *r, int intl)
{
	char orcpt[STREAM_ORCPT_MAX + 1], shown[STREAM_ORCPT_MAX + 1];
	char diag[DSN_DIAG_MAX + 1], date[64];
	const char *semi, *o = r->rcpt->orcpt;

	if (line(w, "%s", "") < 0)
		return -1;
	/*
	 * ORCPT is "addr-type;xtext"; the report wants it decoded.  In a
	 * global report a utf-8 one is given as the UTF-8 address (RFC 6533 3).
	 */
	if (intl && orcpt_utf8(o, orcpt, sizeof orcpt) == 0) {
		clean_text(orcpt, shown, sizeof shown, 1);
		if (line(w, "Original-Recipient: utf-8;%s", shown) < 0)
			return -1;
	} else if (o != NULL && (semi = strchr(o, ';')) != NULL &&
	    xtext_decode(semi + 1, strlen(semi + 1), orcpt, sizeof orcpt) >= 0) {
		clean(orcpt, shown, sizeof shown);
		if (line(w, "Original-Recipient: %.*s;%s", (int)(semi - o), o,
		    shown) < 0)
			return -1;
	}
	if (line(w, "Final-Recipient: %s; %s", intl && has8(r->rcpt->addr) ?
	    "utf-8" : "rfc822", r->rcpt->addr) < 0 ||
	    line(w, "Action: %s", action_name[d->action]) < 0 ||
	    line(w, "Status: %s", r->status) < 0)
		return -1;
	if (r->remote_mta != NULL &&
	    line(w, "Remote-MTA: dns; %s", r->remote_mta) < 0)
		return -1;
	clean_text(r->diag, diag, sizeof diag, intl);
	if (diag[0] != '\0') {
		/* A reply from an SMTP server is "smtp"; our own words are ours. */
		int smtp = diag[0] >= '2' && diag[0] <= '5' && diag[1] >= '0' &&
		    diag[1] <= '9' && diag[2] >= '0' && diag[2] <= '9' &&
		    (diag[3] == ' ' || diag[3] == '-' || diag[3] == '\0');

		if (line(w, "Diagnostic-Code: %s; %s", smtp ? "smtp" : "X-Sluice",
		    diag) < 0)
			return -1;
	}
	dsn_date(r->last_attempt ? r->last_attempt : clock_wall(), date, sizeof date);
	if (line(w, "Last-Attempt-Date: %s", date) < 0)
		return -1;
	if (d->action == DSN_DELAYED && r->retry_until != 0) {
		dsn_date(r->retry_until, date, sizeof date);
		if (line(w, "Will-Retry-Until: %s", date) < 0)
			return -1;
	}
	return 0;
}

/*
 * The original: whole, or its header block only; eight: it is 8-bit;
 * global: its header block is UTF-8, message/global or
 * message/global-headers (RFC 6532 3.7, RFC 6533 6.3).
 */
static int
original_part(struct stream_writer *w, const struct dsn *d, int full,
    int eight, int global)
{
	static const char *const type[2][2] = {
		{ "text/rfc822-headers", "message/rfc822" },
		{ "message/global-headers", "message/global" } };
	const char *l;
	size_t len;
	int rc;

	if (line(w, "Content-Description: %s", full ? "Undelivered Message" :
	    "Message Headers") < 0 ||
	    line(w, "Content-Type: %s", type[global != 0][full != 0]) < 0 ||
	    (eight && line(w, "Content-Transfer-Encoding: 8bit") < 0) ||
	    line(w, "%s", "") < 0)
		return -1;
	if (d->body == NULL)
		return 0;
	if (bodyfile_rewind(d->body) < 0)
		return -1;
	while ((rc = bodyfile_getline(d->body, &l, &len)) == 1) {
		if (!full && len == 0)
			break;
		if (stream_write_line(w, l, len) < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	return 0;
}

/* Whether the original's header block has an 8-bit octet; -1 on error. */
static int
header_8bit(const struct dsn *d)
{
	const char *l;
	size_t len;
	int rc;

	if (d->body == NULL || bodyfile_rewind(d->body) < 0)
		return d->body == NULL ? 0 : -1;
	while ((rc = bodyfile_getline(d->body, &l, &len)) == 1 && len > 0)
		if (text_has8bit(l, len))
			return 1;
	return rc < 0 ? -1 : 0;
}

/*
 * Only a failure returns the whole message, unless RET=HDRS.  A delay or
 * success notice gives the headers whatever RET says (RFC 3461 4.3 allows
 * it): a success notice goes to a sender address nobody has checked, and
 * with the body it would make this server a reflector, sending any text
 * to any address by way of a local user who exists.
 */
static int
want_full(const struct dsn *d)
{
	return d->action == DSN_FAILED && d->orig->ret != RET_HDRS;
}

/*
 * Whether the notice is about internationalized mail (RFC 6533): the
 * original came with SMTPUTF8, or an address it reports is UTF-8.
 */
static int
intl_notice(const struct dsn *d, const struct dsn_rcpt *r, size_t n)
{
	char dec[STREAM_ORCPT_MAX + 1];
	size_t i;

	if (d->orig->smtputf8 || has8(d->orig->from))
		return 1;
	for (i = 0; i < n; i++)
		if (has8(r[i].rcpt->addr) ||
		    (orcpt_utf8(r[i].rcpt->orcpt, dec, sizeof dec) == 0 && has8(dec)))
			return 1;
	return 0;
}

/*
 * X-NOTICE-FOR=QID,N: the notice reports N recipients of queued message
 * QID, so that the runner can log what became of it (sluice-runq(8), LOG);
 * sluice-enqueue drops it.  None for a message not from the queue.
 */
static int
notice_for(struct txn *t, const char *qid, size_t n)
{
	char v[QID_LEN + 32];

	if (qid == NULL || !qid_valid(qid))
		return 0;
	snprintf(v, sizeof v, "%s,%zu", qid, n);
	return xparam_set(t->x, &t->nx, "X-NOTICE-FOR", v);
}

int
dsn_write(struct stream_writer *w, const struct dsn *d,
    const struct dsn_rcpt *r0, size_t n0)
{
	static unsigned long seq;
	struct dsn_rcpt r[STREAM_RCPT_MAX];
	struct txn t;
	char boundary[128], date[64], mid[200];
	const char *host = conf_hostname(), *to;
	size_t i, n = 0;
	int full = want_full(d), eight, h8 = 0, intl, rc = -1;

	for (i = 0; i < n0 && n < STREAM_RCPT_MAX; i++)
		if (dsn_wanted(r0[i].rcpt->notify, d->action))
			r[n++] = r0[i];
	if (n == 0)
		return DSN_NONE;
	if (d->orig->from == NULL || d->orig->from[0] == '\0') {
		if (d->action != DSN_FAILED)
			return DSN_NONE;
		if (dsn_is_double(d->orig))
			return DSN_DEAD;
		to = dsn_postmaster();
	} else
		to = d->orig->from;

	txn_init(&t);
	if (txn_set_from(&t, "") < 0 || txn_add_rcpt(&t, to) == NULL ||
	    xparam_set(t.x, &t.nx, "X-NOTICE", kind_name[d->action]) < 0 ||
	    notice_for(&t, d->qid, n) < 0)
		goto out;
	intl = intl_notice(d, r, n);
	if ((intl || d->orig->body == BODY_8BITMIME) && (h8 = header_8bit(d)) < 0)
		goto out;
	/*
	 * An 8-bit original, or only its header block when that is 8-bit.
	 * Internationalized mail may have UTF-8 headers without BODY=8BITMIME
	 * (RFC 6532); its notice, with UTF-8 in every part, is sent with
	 * SMTPUTF8 and BODY=8BITMIME so that later stages and servers know.
	 */
	if (intl)
		eight = h8 || (full && d->orig->body == BODY_8BITMIME);
	else
		eight = d->orig->body == BODY_8BITMIME && (full || h8);
	if (eight || intl)
		t.body = BODY_8BITMIME;
	t.smtputf8 = d->orig->smtputf8 || intl;
	if (stream_write_head(w, &t) < 0)
		goto out;

	seq++;
	snprintf(boundary, sizeof boundary, "%s/%lld.%ld.%lu/%s",
	    d->qid ? d->qid : "notice", (long long)clock_wall(), (long)getpid(),
	    seq, host);
	snprintf(mid, sizeof mid, "<%lld.%ld.%lu.%s@%s>", (long long)clock_wall(),
	    (long)getpid(), seq, kind_name[d->action], host);
	dsn_date(clock_wall(), date, sizeof date);
	if (line(w, "From: Mail Delivery System <MAILER-DAEMON@%s>", host) < 0 ||
	    line(w, "To: <%s>", to) < 0 ||
	    line(w, "Subject: %s", d->action == DSN_FAILED ?
	    "Undelivered Mail Returned to Sender" : d->action == DSN_DELAYED ?
	    "Delayed Mail (still being retried)" :
	    "Successful Mail Delivery Report") < 0 ||
	    line(w, "Date: %s", date) < 0 ||
	    line(w, "Message-ID: %s", mid) < 0 ||
	    line(w, "Auto-Submitted: auto-replied") < 0 ||
	    line(w, "MIME-Version: 1.0") < 0 ||
	    line(w, "Content-Type: multipart/report; report-type=delivery-status;") < 0 ||
	    line(w, "\tboundary=\"%s\"", boundary) < 0 ||
	    ((eight || intl) && line(w, "Content-Transfer-Encoding: 8bit") < 0) ||
	    line(w, "%s", "") < 0 ||
	    line(w, "This is a MIME-encapsulated message.") < 0 ||
	    line(w, "%s", "") < 0 ||
	    line(w, "--%s", boundary) < 0 ||
	    human_part(w, d, r, n, host, intl) < 0 ||
	    line(w, "--%s", boundary) < 0 ||
	    line(w, "Content-Description: Delivery report") < 0 ||
	    line(w, "Content-Type: message/%sdelivery-status",
	    intl ? "global-" : "") < 0 ||
	    (intl && line(w, "Content-Transfer-Encoding: 8bit") < 0) ||
	    line(w, "%s", "") < 0 ||
	    message_fields(w, d, host, intl) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (recipient_fields(w, d, &r[i], intl) < 0)
			goto out;
	if (line(w, "%s", "") < 0 ||
	    line(w, "--%s", boundary) < 0 ||
	    original_part(w, d, full, eight, intl && h8) < 0 ||
	    line(w, "%s", "") < 0 ||
	    line(w, "--%s--", boundary) < 0 ||
	    stream_write_end(w) < 0)
		goto out;
	rc = DSN_WRITTEN;
out:
	txn_free(&t);
	return rc;
}
