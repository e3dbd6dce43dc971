#include "insert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conv.h"
#include "log.h"

static void
out(struct insert *x, const char *s, size_t n)
{
	if (stream_write_line(x->w, s, n) < 0)
		x->failed = 1;
}

static void
outs(struct insert *x, const char *s)
{
	out(x, s, strlen(s));
}

/* Each line of the converted text, as it is or as quoted-printable. */
static void
out_text(struct insert *x, const char *s, size_t n, int qp)
{
	for (;;) {
		const char *lf = memchr(s, '\n', n);
		size_t k = lf ? (size_t)(lf - s) : n;

		if (qp ? enc_qp_line(x->w, s, k) < 0 : stream_write_line(x->w, s, k) < 0)
			x->failed = 1;
		if (lf == NULL)
			break;
		s = lf + 1;
		n -= k + 1;
	}
}

static int
sealed(const char *type)
{
	return strcmp(type, "multipart/signed") == 0 ||
	    strcmp(type, "multipart/encrypted") == 0 ||
	    strcmp(type, "application/pkcs7-mime") == 0 ||
	    strcmp(type, "application/x-pkcs7-mime") == 0;
}

/* Whether p is where a disclaimer may go (see insert.h). */
static int
eligible(const struct insert *x, const struct mime_part *p)
{
	const char *last;
	char up;

	if (p->depth == 0)
		return 1;
	if (p->depth >= INSERT_DEPTH)
		return 0;
	up = x->elig[p->depth - 1];
	last = strrchr(p->path, '.');
	last = last ? last + 1 : p->path;
	return up == 'a' || ((up == 'm' || up == 'r') && strcmp(last, "1") == 0);
}

/* The unfolded value of the first field name in p's header, or "". */
static void
field(const struct mime_part *p, const char *name, char *v, size_t size)
{
	const char *fn, *fv;
	size_t pos = 0, nl, vl;

	v[0] = '\0';
	while (mimehdr_next(p->header, p->header_len, &pos, &fn, &nl, &fv, &vl))
		if (mimehdr_is(fn, nl, name)) {
			mimehdr_unfold(fv, vl, v, size);
			return;
		}
}

/* The Content-Type field with charset=utf-8 in place of the old one. */
static void
new_ct(struct insert_target *t, const struct mime_part *p)
{
	char v[1000], *s, *semi;
	size_t len;

	field(p, "Content-Type", v, sizeof v);
	len = (size_t)snprintf(t->ct, sizeof t->ct, "Content-Type: %s", p->type);
	for (s = strchr(v, ';'); s != NULL && len < sizeof t->ct; s = semi) {
		char *a = s + 1;

		int q = 0;

		/* Up to the next ';' outside quotes. */
		for (semi = a; *semi; semi++) {
			if (q && *semi == '\\' && semi[1])
				semi++;
			else if (*semi == '"')
				q = !q;
			else if (*semi == ';' && !q)
				break;
		}
		if (*semi == '\0')
			semi = NULL;
		while (*a == ' ' || *a == '\t')
			a++;
		if (strncasecmp(a, "charset", 7) == 0 && strchr("= \t*", a[7]))
			continue;
		len += (size_t)snprintf(t->ct + len, sizeof t->ct - len, "; %.*s",
		    semi ? (int)(semi - a) : (int)strlen(a), a);
	}
	if (len < sizeof t->ct)
		snprintf(t->ct + len, sizeof t->ct - len, "; charset=utf-8");
}

/* Make the text ready for p: 0, or -1 when p cannot take it. */
static int
prepare(struct insert *x, const struct mime_part *p, int html)
{
	struct insert_target *t = &x->t;
	const char *src = html ? x->d->html : x->d->text;
	long k;

	if (html) {
		if (src == NULL) {
			conv_text_html(x->d->text, x->derived, sizeof x->derived);
			src = x->derived;
		}
		t->convlen = conv_html(src, t->conv, INSERT_CONV);
		return 0;
	}
	t->convlen = strlen(src);
	if (conv_ascii(src) || strcasecmp(p->charset, "utf-8") == 0 ||
	    strcasecmp(p->charset, "utf8") == 0) {
		memcpy(t->conv, src, t->convlen + 1);
		return 0;
	}
	if (*p->charset == '\0' || strcasecmp(p->charset, "us-ascii") == 0) {
		memcpy(t->conv, src, t->convlen + 1);
		t->new_ct = 1;
		return 0;
	}
	if ((k = conv_charset(src, p->charset, t->conv, INSERT_CONV)) < 0) {
		log_warn("part %s: charset %.60s unknown: no disclaimer there",
		    *p->path ? p->path : "(the message)", p->charset);
		return -1;
	}
	t->convlen = (size_t)k;
	return 0;
}

static void
target_begin(struct insert *x, const struct mime_part *p, int html)
{
	struct insert_target *t = &x->t;
	char *conv = t->conv;
	char mv[8];

	memset(t, 0, sizeof *t);
	t->conv = conv;
	if (prepare(x, p, html) < 0)
		return;
	switch (p->enc) {
	case MIME_BASE64:
		t->mode = INS_B64;
		break;
	case MIME_QP:
		t->mode = INS_QP;
		break;
	case MIME_7BIT:
		t->mode = conv_ascii(t->conv) ? INS_COPY : INS_TOQP;
		break;
	case MIME_8BIT:
	case MIME_BINARY:
		t->mode = INS_COPY;
		break;
	default:
		return;		/* x-uuencode, unknown: left alone */
	}
	t->new_cte = t->mode == INS_TOQP;
	if (t->new_ct)
		new_ct(t, p);
	if (p->depth == 0 && (t->new_ct || t->new_cte)) {
		field(p, "MIME-Version", mv, sizeof mv);
		t->add_mv = *mv == '\0';
	}
	t->on = 1;
	t->html = html;
	t->depth = p->depth;
	if (t->mode == INS_B64)
		enc_b64_init(&t->b64, x->w);
}

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct insert *x = ctx;
	int e;

	if (p->origin != MIME_ENTITY)
		return MIME_SKIP;
	if (p->depth == 0 && sealed(p->type))
		x->leave = 1;
	if (x->leave)
		return MIME_SKIP;
	e = eligible(x, p);
	if (p->container) {
		if (p->depth < INSERT_DEPTH)
			x->elig[p->depth] = !e ? 0 : strcmp(p->type, "multipart/alternative") == 0 ?
			    'a' : strcmp(p->type, "multipart/mixed") == 0 ? 'm' :
			    strcmp(p->type, "multipart/related") == 0 ? 'r' : 0;
		if (p->depth == 0 && x->elig[0] == 'm') {
			char v[1000];

			field(p, "Content-Type", v, sizeof v);
			x->mixed = mimehdr_param_raw(v, "boundary", x->boundary, sizeof x->boundary);
		}
		return MIME_SKIP;
	}
	/* A header that does not parse (no empty line after it, say) is left alone. */
	if (!e || strcmp(p->disposition, "attachment") == 0 ||
	    (p->flags & (MIME_F_SYNTAX | MIME_F_HEADER)))
		return MIME_SKIP;
	if (strcmp(p->type, "text/plain") == 0 && !x->done_text && x->d->text)
		target_begin(x, p, 0);
	else if (strcmp(p->type, "text/html") == 0 && !x->done_html &&
	    (x->d->html || x->d->text))
		target_begin(x, p, 1);
	return x->t.on && x->t.mode == INS_B64 ? MIME_DECODE : MIME_SKIP;
}

/* The changed fields, at the end of the target's header. */
static void
header_end(struct insert *x)
{
	struct insert_target *t = &x->t;

	if (t->add_mv)
		outs(x, "MIME-Version: 1.0");
	if (t->new_ct)
		outs(x, t->ct);
	if (t->new_cte)
		outs(x, "Content-Transfer-Encoding: quoted-printable");
	t->hdr_done = 1;
}

static void
header_line(struct insert *x, const char *s, size_t n)
{
	struct insert_target *t = &x->t;
	char name[40];
	size_t k;

	if (n == 0) {
		header_end(x);
		out(x, s, n);
		return;
	}
	if (s[0] != ' ' && s[0] != '\t') {
		k = strcspn(s, ":");
		k = k < n ? k : n;
		snprintf(name, sizeof name, "%.*s", (int)(k < 39 ? k : 39), s);
		while (k > 0 && (name[k - 1] == ' ' || name[k - 1] == '\t'))
			name[--k] = '\0';
		t->dropping = (t->new_ct && strcasecmp(name, "Content-Type") == 0) ||
		    (t->new_cte && strcasecmp(name, "Content-Transfer-Encoding") == 0);
	}
	if (!t->dropping)
		out(x, s, n);
}

/* Where "</body" starts in s, ignoring case; -1 when it is not there. */
static long
body_close(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 6 <= n; i++)
		if (s[i] == '<' && strncasecmp(s + i, "</body", 6) == 0)
			return (long)i;
	return -1;
}

static void
body_line(struct insert *x, const char *s, size_t n)
{
	struct insert_target *t = &x->t;
	long at;

	if (t->mode == INS_B64)
		return;		/* the decoded data is encoded again */
	if (t->mode == INS_TOQP) {
		if (enc_qp_line(x->w, s, n) < 0)
			x->failed = 1;
		return;
	}
	if (t->html && !t->inserted && (at = body_close(s, n)) >= 0) {
		if (at > 0)
			out(x, s, (size_t)at);
		out_text(x, t->conv, t->convlen, t->mode == INS_QP);
		s += at;
		n -= (size_t)at;
		t->inserted = 1;
	}
	out(x, s, n);
}

/* A new part at the end of a multipart/mixed message that had none. */
static void
add_part(struct insert *x)
{
	const char *text = x->d->text ? x->d->text : x->d->html;
	int ascii = conv_ascii(text);
	char line[MIMEHDR_BOUNDARY_MAX + 8];

	snprintf(line, sizeof line, "--%s", x->boundary);
	outs(x, line);
	outs(x, x->d->text ? (ascii ? "Content-Type: text/plain; charset=us-ascii" :
	    "Content-Type: text/plain; charset=utf-8") : (ascii ?
	    "Content-Type: text/html; charset=us-ascii" : "Content-Type: text/html; charset=utf-8"));
	outs(x, ascii ? "Content-Transfer-Encoding: 7bit" :
	    "Content-Transfer-Encoding: quoted-printable");
	outs(x, "Content-Disposition: inline");
	outs(x, "");
	out_text(x, text, strlen(text), !ascii);
	x->parts++;
}

static int
close_delimiter(const struct insert *x, const char *s, size_t n)
{
	size_t b = strlen(x->boundary);

	return n >= b + 4 && memcmp(s + 2, x->boundary, b) == 0 && s[b + 2] == '-' &&
	    s[b + 3] == '-';
}

static void
w_raw(void *ctx, const struct mime_part *p, enum mime_raw kind, const char *s,
    size_t n, int eol)
{
	struct insert *x = ctx;
	struct insert_target *t = &x->t;

	(void)eol;
	if (t->on && p->depth == t->depth && p->origin == MIME_ENTITY) {
		if (kind == MIME_RAW_HEADER && !t->hdr_done) {
			header_line(x, s, n);
			return;
		}
		if (kind == MIME_RAW_BODY) {
			if (!t->hdr_done) {
				header_end(x);	/* a header with no empty line */
				outs(x, "");
			}
			body_line(x, s, n);
			return;
		}
	}
	if (kind == MIME_RAW_BOUNDARY && p->depth == 0 && x->mixed && !x->leave &&
	    !x->done_text && !x->done_html && x->parts == 0 && close_delimiter(x, s, n))
		add_part(x);
	out(x, s, n);
}

/* base64 HTML: the data, with the text put before "</body". */
static void
b64_html(struct insert *x, const unsigned char *d, size_t n)
{
	static const char pat[] = "</body";
	struct insert_target *t = &x->t;
	size_t i;

	for (i = 0; i < n && !t->inserted; i++) {
		char c = (char)d[i];

		if ((c | 0x20) == pat[t->held] || c == pat[t->held]) {
			t->hold[t->held++] = c;
			if (t->held < 6)
				continue;
			enc_b64_put(&t->b64, "\r\n", 2);
			enc_b64_put(&t->b64, t->conv, t->convlen);
			enc_b64_put(&t->b64, "\r\n", 2);
			enc_b64_put(&t->b64, t->hold, t->held);
			t->inserted = 1;
			t->held = 0;
			continue;
		}
		enc_b64_put(&t->b64, t->hold, t->held);
		t->held = 0;
		if (c == '<')
			t->hold[t->held++] = c;
		else
			enc_b64_put(&t->b64, &c, 1);
	}
	if (i < n)
		enc_b64_put(&t->b64, d + i, n - i);
}

static void
w_data(void *ctx, const struct mime_part *p, const unsigned char *d, size_t n)
{
	struct insert *x = ctx;

	if (!x->t.on || p->depth != x->t.depth)
		return;
	if (x->t.html)
		b64_html(x, d, n);
	else
		enc_b64_put(&x->t.b64, d, n);
}

/* The text at the end, in the part's encoding. */
static void
append(struct insert *x)
{
	struct insert_target *t = &x->t;
	const char *s = t->conv, *lf;
	size_t n = t->convlen;

	if (t->mode != INS_B64) {
		if (!t->html)
			outs(x, "");
		out_text(x, t->conv, t->convlen, t->mode != INS_COPY);
		return;
	}
	enc_b64_put(&t->b64, t->hold, t->held);
	enc_b64_put(&t->b64, t->html ? "\r\n" : "\r\n\r\n", t->html ? 2 : 4);
	/* Line ends as CRLF, the canonical form of text (RFC 2046 4.1.1). */
	while ((lf = memchr(s, '\n', n)) != NULL) {
		enc_b64_put(&t->b64, s, (size_t)(lf - s));
		enc_b64_put(&t->b64, "\r\n", 2);
		n -= (size_t)(lf - s) + 1;
		s = lf + 1;
	}
	enc_b64_put(&t->b64, s, n);
	enc_b64_put(&t->b64, "\r\n", 2);
}

static void
w_end(void *ctx, const struct mime_part *p)
{
	struct insert *x = ctx;
	struct insert_target *t = &x->t;

	if (!t->on || p->depth != t->depth || p->origin != MIME_ENTITY)
		return;
	if (!t->hdr_done) {
		header_end(x);
		outs(x, "");
	}
	if (!(t->html && t->inserted))
		append(x);
	if (t->mode == INS_B64 && enc_b64_end(&t->b64) < 0)
		x->failed = 1;
	if (t->html)
		x->done_html = 1;
	else
		x->done_text = 1;
	x->parts++;
	t->on = 0;
}

void
insert_init(struct insert *x, struct stream_writer *w)
{
	struct mime_limits lim;

	memset(x, 0, sizeof *x);
	x->w = w;
	mime_limits_conf(&lim);
	if ((x->t.conv = malloc(INSERT_CONV + 1)) == NULL ||
	    (x->walker = mime_new(&(struct mime_ops){ w_begin, w_raw, w_data, w_end }, x,
	    &lim)) == NULL)
		die_nomem();
}

void
insert_begin(struct insert *x, const struct dtext *d)
{
	char *conv = x->t.conv;

	x->d = d;
	x->leave = x->done_text = x->done_html = x->mixed = x->failed = 0;
	x->parts = 0;
	memset(x->elig, 0, sizeof x->elig);
	memset(&x->t, 0, sizeof x->t);
	x->t.conv = conv;
	mime_reset(x->walker);
}

void
insert_line(struct insert *x, const char *s, size_t n)
{
	mime_line(x->walker, s, n);
}

int
insert_end(struct insert *x)
{
	mime_end(x->walker);
	return x->failed ? -1 : 0;
}
