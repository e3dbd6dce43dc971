/*
 * The header of a submitted message: its recipients under -t (the
 * Resent- ones of a resent message), Bcc: fields left out, and the fields
 * RFC 5322 3.6 requires added when missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "submit.h"
#include "text.h"

void
header_init(struct header *h, const struct opts *o, struct names *nm,
    struct input *in)
{
	memset(h, 0, sizeof *h);
	h->o = o;
	h->names = nm;
	h->in = in;
	h->first = 1;
	txn_init(&h->hdr_rcpt);
	txn_init(&h->resent_rcpt);
	if ((h->rcptbuf = malloc(RCPT_FIELD_MAX)) == NULL)
		die(EX_TEMPFAIL, "out of memory");
}

const struct txn *
header_rcpts(const struct header *h)
{
	return h->have_resent ? &h->resent_rcpt : &h->hdr_rcpt;
}

static enum field
field_kind(struct header *h, const char *l, size_t n)
{
	if (n > 7 && strncasecmp(l, "Resent-", 7) == 0)
		h->resent = 1;
	if (text_name_is(l, n, "Resent-From"))
		h->have_rfrom = 1;
	else if (text_name_is(l, n, "Resent-Date"))
		h->have_rdate = 1;
	else if (text_name_is(l, n, "Resent-Message-ID"))
		h->have_rmsgid = 1;
	else if (text_name_is(l, n, "From"))
		h->have_from = 1;
	else if (text_name_is(l, n, "Date"))
		h->have_date = 1;
	else if (text_name_is(l, n, "Message-ID"))
		h->have_msgid = 1;
	else if (text_name_is(l, n, "Bcc"))
		return F_BCC;
	else if (text_name_is(l, n, "Resent-Bcc"))
		return F_RESENT_BCC;
	else if (text_name_is(l, n, "To") || text_name_is(l, n, "Cc"))
		return F_RCPT;
	else if (text_name_is(l, n, "Resent-To") || text_name_is(l, n, "Resent-Cc"))
		return F_RESENT_RCPT;
	return F_OTHER;
}

static void
rcptbuf_add(struct header *h, const char *s, size_t n)
{
	if (!h->o->extract)
		return;
	if (h->rcptlen + n + 1 > RCPT_FIELD_MAX)
		die(EX_DATAERR, "line %lu: a recipient field longer than %d octets",
		    h->in->lineno, RCPT_FIELD_MAX);
	memcpy(h->rcptbuf + h->rcptlen, s, n);
	h->rcptlen += n;
	h->rcptbuf[h->rcptlen++] = ' ';
}

/* The field just read is complete: take its recipients under -t. */
static void
field_done(struct header *h)
{
	const char *why;
	struct txn *t;

	if (h->cur == F_OTHER || !h->o->extract) {
		h->rcptlen = 0;
		h->cur = F_OTHER;
		return;
	}
	t = (h->cur == F_RCPT || h->cur == F_BCC) ? &h->hdr_rcpt : &h->resent_rcpt;
	if (t == &h->resent_rcpt)
		h->have_resent = 1;
	if (addrlist_parse(h->names, h->rcptbuf, h->rcptlen, t, h->o->notify,
	    &why) < 0)
		die(EX_DATAERR, "header ending at line %lu: bad address: %s",
		    h->in->lineno, why);
	h->rcptlen = 0;
	h->cur = F_OTHER;
}

/*
 * The fields RFC 5322 3.6 requires, when missing.  A resent message (one
 * with Resent- fields) gets its own Resent-From:, Resent-Date: and
 * Resent-Message-ID: instead (3.6.6), as with Postfix: its From:, Date:
 * and Message-ID: are the original's and stay as they are.
 */
static void
header_added(struct header *h, const char *qid, const char *from, emit_fn emit,
    void *ctx)
{
	const char *pre = h->resent ? "Resent-" : "";
	char buf[1200], date[64];
	time_t now = time(NULL);
	int n;

	if (!(h->resent ? h->have_rfrom : h->have_from)) {
		snprintf(buf, sizeof buf, "%sFrom", pre);
		from_emit(buf, h->o->fullname, from, h->names->domain, emit, ctx);
	}
	if (!(h->resent ? h->have_rdate : h->have_date)) {
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z",
		    localtime(&now));
		n = snprintf(buf, sizeof buf, "%sDate: %s", pre, date);
		emit(ctx, buf, (size_t)n);
	}
	if (!(h->resent ? h->have_rmsgid : h->have_msgid)) {
		n = snprintf(buf, sizeof buf, "%sMessage-ID: <%s@%s>", pre, qid,
		    conf_hostname());
		if (n < 0 || (size_t)n >= sizeof buf)
			die(EX_CONFIG, "the hostname setting is too long");
		emit(ctx, buf, (size_t)n);
	}
}

static int
word_end(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '<' || c == '>' ||
	    c == ';';
}

/*
 * A NUL has no place in a header field (RFC 5322 2.2), and readers of a
 * field's text would take it as its end: refuse the message, naming the
 * word (the address, in a To: field) that holds it.
 */
static void
header_nul(const struct header *h, const char *l, size_t n)
{
	const char *z = memchr(l, '\0', n);
	char buf[LINE_MAX_TEXT * 4 + 8];
	size_t a, b;

	if (z == NULL)
		return;
	for (a = (size_t)(z - l); a > 0 && !word_end(l[a - 1]); a--)
		;
	for (b = (size_t)(z - l) + 1; b < n && !word_end(l[b]); b++)
		;
	die(EX_DATAERR, "line %lu: NUL octet in the header, in %s", h->in->lineno,
	    addrlist_shown(l + a, b - a, buf, sizeof buf));
}

/* A line that starts a field: note it, and whether it is emitted. */
static int
field_start(struct header *h, const char *l, size_t n, size_t k)
{
	header_nul(h, l, n);
	h->cur = field_kind(h, l, k);
	if (h->cur != F_OTHER) {
		const char *c = memchr(l, ':', n);

		rcptbuf_add(h, c + 1, n - (size_t)(c + 1 - l));
	}
	/* Bcc: is for the envelope only: like Postfix, never sent on. */
	return !(h->cur == F_BCC || h->cur == F_RESENT_BCC);
}

int
header_read(struct header *h, const char *qid, const char *from, emit_fn emit,
    void *ctx, const char **pending, size_t *plen)
{
	const char *l;
	size_t n, k;
	int keep = 1, field_seen = 0;

	*pending = NULL;
	while (input_line(h->in, &l, &n) == 1) {
		/* An mbox "From " line before the header is dropped, as Postfix does. */
		if (h->first && n >= 5 && memcmp(l, "From ", 5) == 0) {
			h->first = 0;
			continue;
		}
		/* A continuation needs a field before it, not just a From_ line. */
		if (field_seen && n > 0 && (l[0] == ' ' || l[0] == '\t')) {
			header_nul(h, l, n);
			if (h->cur != F_OTHER)
				rcptbuf_add(h, l, n);
			if (keep)
				emit(ctx, l, n);
			continue;
		}
		h->first = 0;
		field_seen = 1;
		field_done(h);
		if ((k = text_field_name(l, n)) == 0) {
			header_added(h, qid, from, emit, ctx);
			emit(ctx, "", 0);
			if (n > 0) {
				*pending = l;
				*plen = n;
			}
			return 1;
		}
		if ((keep = field_start(h, l, n, k)))
			emit(ctx, l, n);
	}
	field_done(h);
	header_added(h, qid, from, emit, ctx);
	return 0;
}
