/*
 * msg: a message on its way from a source file into the body spool
 * (imp.body), with its size and 8-bit-ness counted for the envelope, and
 * for mailbox formats its header read through lib/header (imp.head).
 */
#include <string.h>
#include <strings.h>

#include "header.h"
#include "import.h"
#include "log.h"
#include "text.h"

/* The fields captured, in the order of MSG_RETURN_PATH ... */
static const char *const cap_names[3] = {
	"Return-Path", "Delivered-To", "X-Original-To",
};

void
msg_init(struct msg *m, int filter_headers)
{
	memset(m, 0, sizeof *m);
	m->headers = 1;
	m->filter = filter_headers;
	header_reset(&imp.head);
	if (bodyfile_reset(&imp.body) < 0)
		die_sys("unable to truncate a temporary file");
}

static void
msg_put(struct msg *m, const char *l, size_t n)
{
	m->eight |= text_has8bit(l, n);
	m->size += n + 2;
	if (bodyfile_write_line(&imp.body, l, n) < 0)
		die_sys("unable to write a temporary file");
}

/* The first of each captured field, unfolded; have -1 when it is too long. */
static void
msg_capture(struct msg *m)
{
	struct header_field f;
	size_t pos = 0;
	long n;
	int i;

	while (header_field(&imp.head, &pos, &f))
		for (i = 0; i < 3; i++) {
			if (m->have[i] || !header_is(&f, cap_names[i]))
				continue;
			n = header_unfold(&f, m->hv[i], sizeof m->hv[i]);
			m->have[i] = n < 0 ? -1 : 1;
			m->hl[i] = n < 0 ? 0 : (size_t)n;
		}
}

/*
 * The header gathered so far is all the header there is to look at:
 * capture its fields, and write its lines (not the blank one that ended
 * it) without Return-Path:, which final delivery adds again (RFC 5321
 * 4.4).
 */
static void
msg_header_end(struct msg *m)
{
	const struct header *h = &imp.head;
	const char *l;
	size_t pos = 0, n, k;
	int drop = 0;

	msg_capture(m);
	while (pos < h->len && header_line(h, &pos, &l, &n) && n > 0) {
		if (l[0] != ' ' && l[0] != '\t')
			drop = (k = text_field_name(l, n)) > 0 &&
			    text_name_is(l, k, cap_names[MSG_RETURN_PATH]);
		if (!drop)
			msg_put(m, l, n);
	}
	header_reset(&imp.head);
	m->headers = 0;
}

/*
 * One line of the message.  With filter_headers, the header's lines are
 * gathered in lib/header until it ends (msg_header_end); the first
 * Return-Path:, Delivered-To: and X-Original-To: are remembered there.
 */
void
msg_line(struct msg *m, const char *l, size_t n)
{
	int rc;

	if (m->headers && m->filter) {
		if ((rc = header_add(&imp.head, l, n)) == 1)
			return;
		/* The blank line goes on below; a line past HEADER_MAX too. */
		msg_header_end(m);
	}
	if (n == 0) {
		m->headers = 0;
		m->blanks++;
		return;
	}
	for (; m->blanks > 0; m->blanks--)
		msg_put(m, "", 0);
	msg_put(m, l, n);
}

void
msg_end(struct msg *m, int mbox)
{
	if (m->headers && m->filter)
		msg_header_end(m);
	if (mbox && m->blanks > 0)
		m->blanks--;
	for (; m->blanks > 0; m->blanks--)
		msg_put(m, "", 0);
}
