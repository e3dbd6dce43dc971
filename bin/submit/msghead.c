/*
 * The header of a submitted message: its recipients under -t (the
 * Resent- ones of a resent message), Bcc: fields left out, and the fields
 * RFC 5322 3.6 requires added when missing.  Its fields are lib/header's:
 * each is gathered there, unfolded and looked at once complete, then
 * copied on, so that no field is ever held whole past its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "header.h"
#include "log.h"
#include "submit.h"
#include "text.h"

enum field { F_OTHER, F_RCPT, F_RESENT_RCPT, F_BCC, F_RESENT_BCC };

void
msghead_init(struct msghead *h, const struct opts *o, struct names *nm,
    struct input *in)
{
	memset(h, 0, sizeof *h);
	h->o = o;
	h->names = nm;
	h->in = in;
	h->first = 1;
	txn_init(&h->hdr_rcpt);
	txn_init(&h->resent_rcpt);
	if ((h->rcptbuf = malloc(RCPT_FIELD_MAX)) == NULL ||
	    header_init(&h->block) < 0)
		die(EX_TEMPFAIL, "out of memory");
}

const struct txn *
msghead_rcpts(const struct msghead *h)
{
	return h->have_resent ? &h->resent_rcpt : &h->hdr_rcpt;
}

static enum field
field_kind(struct msghead *h, const char *l, size_t n)
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

/* Under -t, a field that names recipients: take them. */
static void
field_rcpts(struct msghead *h, enum field kind, const struct header_field *f)
{
	const char *why;
	struct txn *t;
	long n;

	if (kind == F_OTHER || !h->o->extract)
		return;
	t = (kind == F_RCPT || kind == F_BCC) ? &h->hdr_rcpt : &h->resent_rcpt;
	if (t == &h->resent_rcpt)
		h->have_resent = 1;
	if ((n = header_unfold(f, h->rcptbuf, RCPT_FIELD_MAX)) < 0)
		die(EX_DATAERR, "line %lu: a recipient field longer than %d octets",
		    h->in->lineno, RCPT_FIELD_MAX);
	if (addrlist_parse(h->names, h->rcptbuf, (size_t)n, t, h->o->notify,
	    &why) < 0)
		die(EX_DATAERR, "header ending at line %lu: bad address: %s",
		    h->in->lineno, why);
}

/*
 * The fields gathered are complete (the line just read starts another,
 * or ends the header): note each, take its recipients, and emit it, but
 * for Bcc: (for the envelope only: like Postfix, never sent on).
 */
static void
fields_done(struct msghead *h, emit_fn emit, void *ctx)
{
	struct header_field f;
	const char *l;
	size_t pos = 0, lpos, end, n;
	enum field kind;

	while (header_field(&h->block, &pos, &f)) {
		kind = field_kind(h, f.name, f.namelen);
		field_rcpts(h, kind, &f);
		if (kind == F_BCC || kind == F_RESENT_BCC)
			continue;
		lpos = (size_t)(f.name - h->block.buf);
		end = (size_t)(f.value + f.valuelen - h->block.buf);
		while (lpos < end && header_line(&h->block, &lpos, &l, &n))
			emit(ctx, l, n);
	}
	header_reset(&h->block);
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
line_nul(const struct msghead *h, const char *l, size_t n)
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

/* One line of a field into the block; a field is at most HEADER_MAX. */
static void
field_line(struct msghead *h, const char *l, size_t n)
{
	line_nul(h, l, n);
	if (header_add(&h->block, l, n) < 0)
		die(EX_DATAERR, "line %lu: a header field longer than %d octets",
		    h->in->lineno, HEADER_MAX);
}

/*
 * The fields RFC 5322 3.6 requires, when missing.  A resent message (one
 * with Resent- fields) gets its own Resent-From:, Resent-Date: and
 * Resent-Message-ID: instead (3.6.6), as with Postfix: its From:, Date:
 * and Message-ID: are the original's and stay as they are.
 */
static void
msghead_added(struct msghead *h, const char *qid, const char *from,
    emit_fn emit, void *ctx)
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

int
msghead_read(struct msghead *h, const char *qid, const char *from, emit_fn emit,
    void *ctx, const char **pending, size_t *plen)
{
	const char *l;
	size_t n;
	int field_seen = 0;

	*pending = NULL;
	header_reset(&h->block);
	while (input_line(h->in, &l, &n) == 1) {
		/* An mbox "From " line before the header is dropped, as Postfix does. */
		if (h->first && n >= 5 && memcmp(l, "From ", 5) == 0) {
			h->first = 0;
			continue;
		}
		/* A continuation needs a field before it, not just a From_ line. */
		if (field_seen && n > 0 && (l[0] == ' ' || l[0] == '\t')) {
			field_line(h, l, n);
			continue;
		}
		h->first = 0;
		field_seen = 1;
		fields_done(h, emit, ctx);
		/* A line that is no field ends the header, blank or not. */
		if (text_field_name(l, n) == 0) {
			msghead_added(h, qid, from, emit, ctx);
			emit(ctx, "", 0);
			if (n > 0) {
				*pending = l;
				*plen = n;
			}
			return 1;
		}
		field_line(h, l, n);
	}
	fields_done(h, emit, ctx);
	msghead_added(h, qid, from, emit, ctx);
	return 0;
}
