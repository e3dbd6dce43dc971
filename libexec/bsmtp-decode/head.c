/*
 * The header of a tunnel message: the fields the decoder acts on, read
 * with their continuation lines through lib/header, every line within
 * RFC 5322's limit.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "decode.h"
#include "header.h"
#include "log.h"
#include "text.h"

/* Copy v[0..n) into out without the white space around it. */
static void
trim_copy(char *out, size_t size, const char *v, size_t n)
{
	while (n > 0 && isspace((unsigned char)*v))
		v++, n--;
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* The address of a From: field's value v: "Name <a@b>" or "a@b", one only. */
static void
from_parse(struct head *h, const char *v)
{
	struct addr a;
	struct addr_err ae;
	const char *lt, *gt;
	size_t n;

	lt = strchr(v, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt != NULL && gt != NULL) {
		n = (size_t)(gt - lt - 1);
		if (strchr(gt, ',') != NULL || strchr(gt + 1, '<') != NULL)
			h->from_bad = 1;
		v = lt + 1;
	} else {
		n = strcspn(v, " \t(");
		if (strchr(v, ',') != NULL)
			h->from_bad = 1;
	}
	if (h->from[0] != '\0' || addr_parse(v, n, 0, &a, &ae) < 0 ||
	    a.domain[0] == '\0') {
		h->from_bad = 1;
		return;
	}
	addr_format(&a, h->from, sizeof h->from);
}

/* One field, unfolded; later duplicates of a field make the header bad. */
static void
field(struct decode *d, const struct header_field *f, int *dup)
{
	struct head *h = &d->h;
	char v[HEAD_FIELD_MAX + 1], *gt;
	long vn;

	/* A field is within HEAD_FIELD_MAX octets: its value fits. */
	if ((vn = header_unfold(f, v, sizeof v)) < 0)
		refuse_input(d, "header field longer than %d octets", HEAD_FIELD_MAX);
	if (header_is(f, "From")) {
		from_parse(h, v);
	} else if (header_is(f, "Message-ID")) {
		*dup |= h->id[0] != '\0';
		trim_copy(h->id, sizeof h->id, v, (size_t)vn);
		if (h->id[0] != '<' || (gt = strchr(h->id, '>')) == NULL ||
		    gt[1] != '\0' || gt == h->id + 1)
			refuse_input(d, "malformed Message-ID: field");
		*gt = '\0';
		memmove(h->id, h->id + 1, strlen(h->id));
	} else if (header_is(f, "Content-Type")) {
		*dup |= h->ctype[0] != '\0';
		trim_copy(h->ctype, sizeof h->ctype, v, (size_t)vn);
	} else if (header_is(f, "Content-Transfer-Encoding")) {
		*dup |= h->cte[0] != '\0';
		trim_copy(h->cte, sizeof h->cte, v, (size_t)vn);
		for (char *p = h->cte; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (header_is(f, BSMTP_MAC_FIELD)) {
		*dup |= h->mac[0] != '\0';
		trim_copy(h->mac, sizeof h->mac, v, (size_t)vn);
	}
}

/* The tunnel message's lines, as read for lib/header, and where they end. */
struct head_src {
	struct decode *d;
	struct rbuf r;
	unsigned long long off;	/* octets read, line ends included */
	size_t fn;		/* the current field's length so far */
};

/*
 * The next header line (a header_source_fn): each within RFC 5322's limit
 * and with its line end, no NUL or bare CR, every one a field or the
 * continuation of one, the whole within HEAD_MAX.  Anything else, or an
 * input that ends within the header, is refused.
 */
static int
head_line(void *ctx, const char **line, size_t *len)
{
	struct head_src *s = ctx;
	struct decode *d = s->d;
	const char *l;
	size_t n;
	int rc;

	rc = rbuf_getline(&s->r, &l, &n, HEAD_LINE_MAX + 2);
	if (rc == -1)
		die_sys("unable to read a temporary file");
	if (rc == 0)
		refuse_input(d, "no message body: the header never ends");
	if (rc == -2 || l[n - 1] != '\n')
		refuse_input(d, "header line %lu is longer than %d octets or "
		    "has no line end", d->h.lines + 1, HEAD_LINE_MAX);
	s->off += n;
	d->h.lines++;
	n -= n >= 2 && l[n - 2] == '\r' ? 2 : 1;
	if (memchr(l, '\0', n) != NULL || memchr(l, '\r', n) != NULL)
		refuse_input(d, "NUL or bare CR in header line %lu", d->h.lines);
	if (s->off > HEAD_MAX)
		refuse_input(d, "header longer than %d octets", HEAD_MAX);
	if (n > 0 && (l[0] == ' ' || l[0] == '\t') && s->fn > 0) {
		if (s->fn + n > HEAD_FIELD_MAX)
			refuse_input(d, "header field longer than %d octets",
			    HEAD_FIELD_MAX);
		s->fn += n;
	} else if (n > 0) {
		if (text_field_name(l, n) == 0)
			refuse_input(d, "header line %lu is not a field", d->h.lines);
		s->fn = n;
	}
	*line = l;
	*len = n;
	return 1;
}

unsigned long long
head_read(struct decode *d)
{
	struct head_src s = { .d = d };
	struct header hb;
	struct header_field f;
	size_t pos = 0;
	int dup = 0;

	if (rbuf_init(&s.r, d->raw_fd, BUF_SIZE) < 0 || header_init(&hb) < 0)
		die_nomem();
	if (lseek(d->raw_fd, 0, SEEK_SET) < 0)
		die_sys("unable to read a temporary file");
	/* HEAD_MAX is well within HEADER_MAX: the whole header is kept. */
	if (header_read_from(&hb, head_line, &s) < 0)
		die_sys("unable to read a temporary file");
	while (header_field(&hb, &pos, &f))
		field(d, &f, &dup);
	header_free(&hb);
	rbuf_free(&s.r);
	if (dup)
		refuse_input(d, "a MIME, Message-ID or MAC field appears twice");
	return s.off;
}
