/*
 * The header of a tunnel message: the fields the decoder acts on, read
 * with their continuation lines, every line within RFC 5322's limit.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "decode.h"
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

/* The address of a From: field: "Name <a@b>" or "a@b", one only. */
static void
from_parse(struct head *h, const char *v, size_t n)
{
	char text[HEAD_FIELD_MAX + 1];
	struct addr a;
	struct addr_err ae;
	const char *lt, *gt;

	trim_copy(text, sizeof text, v, n);
	lt = strchr(text, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt != NULL && gt != NULL) {
		v = lt + 1;
		n = (size_t)(gt - lt - 1);
		if (strchr(gt, ',') != NULL || strchr(gt + 1, '<') != NULL)
			h->from_bad = 1;
	} else {
		v = text;
		n = strcspn(text, " \t(");
		if (strchr(text, ',') != NULL)
			h->from_bad = 1;
	}
	if (h->from[0] != '\0' || addr_parse(v, n, 0, &a, &ae) < 0 ||
	    a.domain[0] == '\0') {
		h->from_bad = 1;
		return;
	}
	addr_format(&a, h->from, sizeof h->from);
}

/* One unfolded field; later duplicates of a field make the header bad. */
static void
field(struct decode *d, const char *f, size_t n, int *dup)
{
	struct head *h = &d->h;
	size_t k = text_field_name(f, n);
	const char *v = f + k + 1;
	size_t vn = n - k - 1;
	char *gt;

	if (k == 0)
		return;
	if (text_name_is(f, k, "From")) {
		from_parse(h, v, vn);
	} else if (text_name_is(f, k, "Message-ID")) {
		*dup |= h->id[0] != '\0';
		trim_copy(h->id, sizeof h->id, v, vn);
		if (h->id[0] != '<' || (gt = strchr(h->id, '>')) == NULL ||
		    gt[1] != '\0' || gt == h->id + 1)
			refuse_input(d, "malformed Message-ID: field");
		*gt = '\0';
		memmove(h->id, h->id + 1, strlen(h->id));
	} else if (text_name_is(f, k, "Content-Type")) {
		*dup |= h->ctype[0] != '\0';
		trim_copy(h->ctype, sizeof h->ctype, v, vn);
	} else if (text_name_is(f, k, "Content-Transfer-Encoding")) {
		*dup |= h->cte[0] != '\0';
		trim_copy(h->cte, sizeof h->cte, v, vn);
		for (char *p = h->cte; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (text_name_is(f, k, BSMTP_MAC_FIELD)) {
		*dup |= h->mac[0] != '\0';
		trim_copy(h->mac, sizeof h->mac, v, vn);
	}
}

unsigned long long
head_read(struct decode *d)
{
	struct rbuf r;
	char f[HEAD_FIELD_MAX + 1];
	size_t fn = 0, n;
	const char *l;
	unsigned long long off = 0;
	int rc, dup = 0;

	if (lseek(d->raw_fd, 0, SEEK_SET) < 0 || rbuf_init(&r, d->raw_fd, BUF_SIZE) < 0)
		die_sys("unable to read a temporary file");
	for (;;) {
		rc = rbuf_getline(&r, &l, &n, HEAD_LINE_MAX + 2);
		if (rc == -1)
			die_sys("unable to read a temporary file");
		if (rc == 0)
			refuse_input(d, "no message body: the header never ends");
		if (rc == -2 || l[n - 1] != '\n')
			refuse_input(d, "header line %lu is longer than %d octets or "
			    "has no line end", d->h.lines + 1, HEAD_LINE_MAX);
		off += n;
		d->h.lines++;
		n -= n >= 2 && l[n - 2] == '\r' ? 2 : 1;
		if (memchr(l, '\0', n) != NULL || memchr(l, '\r', n) != NULL)
			refuse_input(d, "NUL or bare CR in header line %lu", d->h.lines);
		if (off > HEAD_MAX)
			refuse_input(d, "header longer than %d octets", HEAD_MAX);
		if (n > 0 && (l[0] == ' ' || l[0] == '\t') && fn > 0) {
			if (fn + n > HEAD_FIELD_MAX)
				refuse_input(d, "header field longer than %d octets",
				    HEAD_FIELD_MAX);
			memcpy(f + fn, l, n);
			fn += n;
			continue;
		}
		if (fn > 0)
			field(d, f, fn, &dup);
		if (n == 0)
			break;
		if (text_field_name(l, n) == 0)
			refuse_input(d, "header line %lu is not a field", d->h.lines);
		memcpy(f, l, n);
		fn = n;
	}
	rbuf_free(&r);
	if (dup)
		refuse_input(d, "a MIME, Message-ID or MAC field appears twice");
	return off;
}
