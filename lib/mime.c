/*
 * The streaming MIME walker: see the contract in mime.h.  The open
 * entities are a stack of levels, the message at 0 and the innermost at
 * top; a header block is kept (up to its limit) until its empty line, then
 * parsed, begun and replayed as raw lines.  Only the innermost level reads
 * lines; its ancestors wait for one of their boundaries.
 */
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "mimehdr.h"

enum st { ST_HEADER, ST_LEAF, ST_PREAMBLE, ST_CHILD, ST_EPILOGUE, ST_SKIP };
enum emb { E_NONE, E_UU, E_UU64, E_HQX_WAIT, E_HQX };

struct level {
	struct mime_part p;
	enum st st;
	char *path;
	struct mimehdr_entity h;	/* type, file name, boundary... */
	size_t blen;		/* > 0: a multipart whose boundary is open */
	size_t nchild;
	int message;		/* container message/rfc822: one child */
	int digest;		/* multipart/digest: children default to message/rfc822 */
	int text;		/* look for uuencoded and BinHex files in it */
	int hdr_over;		/* header past its limit: lines pass raw */
	int skip;		/* begin() said MIME_SKIP */
	int begun;
	int pending_eol;	/* a CRLF is owed before the next line's content */
	int qp_soft;
	int uu_in;		/* x-uuencode: 0 before "begin", 1 in data, 2 after "end" */
	unsigned long bad;
	struct mimedec_b64 b64;
};

struct mime {
	struct mime_ops ops;
	void *ctx;
	struct mime_limits lim;
	struct level *lv;	/* lim.depth + 2: the embedded file takes top + 1 */
	size_t top, pathsz;
	char *paths;
	char *hdr, *scratch;	/* header block, and room to unfold one value */
	size_t hlen;
	size_t parts;
	unsigned flags;
	int cont;		/* the last line had no line end: this one goes on */
	char *line;		/* mime_feed(): the line being assembled */
	size_t llen;
	unsigned char *qp;	/* a decoded QP line */
	struct mimedec_out out, eout;	/* leaf data, embedded file data */
	enum emb emb;
	struct level *e;	/* the embedded file's level, when emb != E_NONE */
	struct mimedec_hqx hqx;
	struct mimedec_b64 eb64;
};

static void
flag(struct mime *m, struct level *l, unsigned f)
{
	l->p.flags |= f;
	m->flags |= f;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* ---- callbacks */

static void
raw(struct mime *m, struct level *l, enum mime_raw kind, const char *s,
    size_t n, int eol)
{
	if (m->ops.raw != NULL)
		m->ops.raw(m->ctx, &l->p, kind, s, n, eol);
}

static void
data_flush(void *ctx, const unsigned char *p, size_t n)
{
	struct mime *m = ctx;
	struct level *l = &m->lv[m->top];

	l->p.size += n;
	if (m->ops.data != NULL && !l->skip)
		m->ops.data(m->ctx, &l->p, p, n);
}

static void
edata_flush(void *ctx, const unsigned char *p, size_t n)
{
	struct mime *m = ctx;

	if (m->e == NULL || !m->e->begun)
		return;
	m->e->p.size += n;
	if (m->ops.data != NULL && !m->e->skip)
		m->ops.data(m->ctx, &m->e->p, p, n);
}

static void
begin(struct mime *m, struct level *l)
{
	l->begun = 1;
	l->skip = m->ops.begin != NULL && m->ops.begin(m->ctx, &l->p) == MIME_SKIP;
	l->p.header = NULL;
	l->p.header_len = 0;
}

/* ---- levels */

/* Make level k a new entity under level k - 1 (or the message at 0). */
static void
level_init(struct mime *m, size_t k)
{
	struct level *l = &m->lv[k], *up = k > 0 ? &m->lv[k - 1] : NULL;
	char *path = m->paths + k * m->pathsz;

	memset(l, 0, sizeof *l);
	l->path = path;
	if (up == NULL)
		path[0] = '\0';
	else
		snprintf(path, m->pathsz, "%s%s%zu", up->path, *up->path ? "." : "",
		    ++up->nchild);
	snprintf(l->h.type, sizeof l->h.type, "%s",
	    up != NULL && up->digest ? "message/rfc822" : "text/plain");
	l->p.path = l->path;
	l->p.depth = k;
	l->p.type = l->h.type;
	l->p.charset = l->h.charset;
	l->p.disposition = l->h.disp;
	l->p.filename = l->h.name;
	l->p.enc = MIME_7BIT;
	l->st = ST_HEADER;
}

/* Room for one more entity?  Counts it when there is. */
static int
count_part(struct mime *m, struct level *parent)
{
	if (m->parts >= m->lim.parts) {
		flag(m, parent, MIME_F_PARTS);
		return 0;
	}
	m->parts++;
	return 1;
}

static void
push_child(struct mime *m)
{
	level_init(m, ++m->top);
}

/* ---- header */

static enum mime_enc
enc_of(const char *t)
{
	static const struct { const char *name; enum mime_enc e; } tab[] = {
		{ "", MIME_7BIT }, { "7bit", MIME_7BIT }, { "8bit", MIME_8BIT },
		{ "binary", MIME_BINARY }, { "base64", MIME_BASE64 },
		{ "quoted-printable", MIME_QP }, { "x-uuencode", MIME_UUENC },
		{ "x-uue", MIME_UUENC }, { "uuencode", MIME_UUENC },
	};
	size_t i;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(t, tab[i].name) == 0)
			return tab[i].e;
	return MIME_OTHER;
}

static int
identity(enum mime_enc e)
{
	return e == MIME_7BIT || e == MIME_8BIT || e == MIME_BINARY || e == MIME_OTHER;
}

/* Parse the kept header block and decide what the entity is. */
static void
parse_header(struct mime *m, struct level *l)
{
	struct mimehdr_entity *h = &l->h;
	int message;

	mimehdr_entity(m->hdr, m->hlen, m->scratch, m->lim.header + 1, h);
	if (h->bad)
		flag(m, l, MIME_F_SYNTAX);
	l->p.enc = enc_of(h->cte);
	if (strncmp(h->type, "multipart/", 10) == 0) {
		l->digest = strcmp(h->type, "multipart/digest") == 0;
		l->blen = strlen(h->boundary);
		if (l->blen == 0 || l->blen > MIMEHDR_BOUNDARY_MAX) {
			flag(m, l, MIME_F_SYNTAX);
			l->blen = 0;
		}
	}
	message = strcmp(l->h.type, "message/rfc822") == 0 ||
	    strcmp(l->h.type, "message/global") == 0 || strcmp(l->h.type, "message/news") == 0;
	if ((l->blen > 0 || message) && !identity(l->p.enc)) {
		flag(m, l, MIME_F_SYNTAX);	/* RFC 2045 6.4: not allowed */
		l->blen = 0;
		message = 0;
	}
	if ((l->blen > 0 || message) && l->p.depth >= m->lim.depth) {
		flag(m, l, MIME_F_DEPTH);
		l->blen = 0;
		message = 0;
	}
	l->message = message;
	l->p.container = l->blen > 0 || message;
	l->text = !l->p.container && (l->p.enc == MIME_QP || identity(l->p.enc)) &&
	    (strncmp(l->h.type, "text/", 5) == 0 ||
	    strcmp(l->h.type, "application/mac-binhex40") == 0);
	l->p.header = m->hdr;
	l->p.header_len = m->hlen;
}

/* Give the kept header block as raw lines. */
static void
replay(struct mime *m, struct level *l)
{
	size_t i = 0;

	while (i < m->hlen) {
		const char *lf = memchr(m->hdr + i, '\n', m->hlen - i);
		size_t e = lf ? (size_t)(lf - m->hdr) : m->hlen;

		raw(m, l, MIME_RAW_HEADER, m->hdr + i, e - i, lf != NULL);
		i = e + 1;
	}
	m->hlen = 0;
}

static void
enter_body(struct mime *m, struct level *l)
{
	if (l->blen > 0)
		l->st = ST_PREAMBLE;
	else if (l->message) {
		if (count_part(m, l)) {
			l->st = ST_CHILD;
			push_child(m);
		} else
			l->st = ST_SKIP;
	} else {
		l->st = ST_LEAF;
		mimedec_b64_init(&l->b64);
		m->out.len = 0;
		m->out.total = 0;
	}
}

/* The header block is complete (or given up on): begin the entity. */
static void
header_done(struct mime *m, struct level *l)
{
	parse_header(m, l);
	begin(m, l);
	replay(m, l);
}

static int
field_start(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] > ' ' && s[i] < 127 && s[i] != ':'; i++)
		;
	if (i == 0)
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == ':';
}

static void content_line(struct mime *, struct level *, const char *, size_t,
    int, int);

static void
header_line(struct mime *m, struct level *l, const char *s, size_t n, int eol,
    int cont)
{
	if (l->hdr_over) {
		raw(m, l, MIME_RAW_HEADER, s, n, eol);
		if (!cont && n == 0)
			enter_body(m, l);
		return;
	}
	if (!cont && n == 0) {
		header_done(m, l);
		raw(m, l, MIME_RAW_HEADER, s, 0, eol);
		enter_body(m, l);
		return;
	}
	/*
	 * A white-space line at the top of a header continues no field: mail
	 * readers skip it and read on, and so do we (mimehdr_next passes it).
	 */
	if (!cont && !field_start(s, n) && s[0] != ' ' && s[0] != '\t' &&
	    !(l->p.depth == 0 && m->hlen == 0 && n >= 5 && memcmp(s, "From ", 5) == 0)) {
		/* Not a field: the header ended without its empty line. */
		flag(m, l, MIME_F_SYNTAX);
		header_done(m, l);
		enter_body(m, l);
		content_line(m, &m->lv[m->top], s, n, eol, cont);
		return;
	}
	if (m->hlen + n + 1 > m->lim.header) {
		flag(m, l, MIME_F_HEADER);
		header_done(m, l);
		raw(m, l, MIME_RAW_HEADER, s, n, eol);
		l->hdr_over = 1;
		return;
	}
	memcpy(m->hdr + m->hlen, s, n);
	m->hlen += n;
	if (eol)
		m->hdr[m->hlen++] = '\n';
}

/* ---- embedded uuencoded and BinHex files */

static void
emb_begin(struct mime *m, const char *name, size_t nl, enum mime_origin o)
{
	struct level *up = &m->lv[m->top], *e = &m->lv[m->top + 1];
	size_t i;

	if (!count_part(m, up))
		return;
	level_init(m, m->top + 1);
	e->p.origin = o;
	e->st = ST_LEAF;
	snprintf(e->h.type, sizeof e->h.type, "application/octet-stream");
	snprintf(e->h.disp, sizeof e->h.disp, "attachment");
	if (nl >= sizeof e->h.name)
		nl = sizeof e->h.name - 1;
	for (i = 0; i < nl; i++)
		e->h.name[i] = (unsigned char)name[i] < ' ' || name[i] == 127 ? '_' : name[i];
	e->h.name[nl] = '\0';
	m->e = e;
	m->eout.len = 0;
	m->eout.total = 0;
	begin(m, e);
}

static void
emb_end(struct mime *m, unsigned flags)
{
	struct level *e = m->e;

	m->emb = E_NONE;
	if (e == NULL)
		return;
	mimedec_flush(&m->eout);
	if (flags)
		flag(m, e, flags);
	m->e = NULL;
	e->begun = 0;
	if (m->ops.end != NULL)
		m->ops.end(m->ctx, &e->p);
}

static void
hqx_header(void *ctx, const char *name)
{
	struct mime *m = ctx;

	emb_begin(m, name, strlen(name), MIME_BINHEX);
}

static int
is_end(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);

	while (n > wl && is_ws(s[n - 1]))
		n--;
	return n == wl && memcmp(s, word, wl) == 0;
}

/* A line of a text leaf, looking for and decoding embedded files. */
static void
emb_line(struct mime *m, struct level *l, const char *s, size_t n)
{
	const char *name;
	size_t nl;
	int k;

	switch (m->emb) {
	case E_NONE:
		if ((k = mimedec_uu_begin(s, n, &name, &nl)) > 0) {
			m->emb = k == 1 ? E_UU : E_UU64;
			mimedec_b64_init(&m->eb64);
			emb_begin(m, name, nl, MIME_UUENCODE);
		} else if (mimedec_hqx_marker(s, n))
			m->emb = E_HQX_WAIT;
		return;
	case E_UU:
		if (is_end(s, n, "end"))
			emb_end(m, 0);
		else if (mimedec_uu_line(s, n, &m->eout) < 0)
			emb_end(m, MIME_F_ENCODING | MIME_F_TRUNCATED);
		return;
	case E_UU64:
		if (is_end(s, n, "====")) {
			mimedec_b64_end(&m->eb64, &m->eout);
			emb_end(m, m->eb64.bad ? MIME_F_ENCODING : 0);
		}
		else
			mimedec_b64(&m->eb64, s, n, &m->eout);
		return;
	case E_HQX_WAIT:
		if (n == 0)
			return;
		if (s[0] != ':') {
			m->emb = E_NONE;
			return;
		}
		m->emb = E_HQX;
		mimedec_hqx_init(&m->hqx, hqx_header, m);
		/* FALLTHROUGH */
	case E_HQX:
		mimedec_hqx_line(&m->hqx, s, n, &m->eout);
		if (m->hqx.state == HQX_DONE || m->hqx.state == HQX_BAD) {
			if (m->e == NULL)
				flag(m, l, MIME_F_ENCODING);
			emb_end(m, m->hqx.state == HQX_BAD ? MIME_F_ENCODING : 0);
		}
		return;
	}
}

/* ---- leaf content */

static void
owe_eol(struct mime *m, struct level *l)
{
	if (l->pending_eol)
		mimedec_put(&m->out, "\r\n", 2);
	l->pending_eol = 0;
}

static void
uu_part_line(struct mime *m, struct level *l, const char *s, size_t n)
{
	const char *name;
	size_t nl;

	if (l->uu_in == 0 && mimedec_uu_begin(s, n, &name, &nl) == 1) {
		l->uu_in = 1;
		if (l->h.name[0] == '\0' && nl < sizeof l->h.name) {
			memcpy(l->h.name, name, nl);
			l->h.name[nl] = '\0';
		}
	} else if (l->uu_in == 1) {
		if (is_end(s, n, "end"))
			l->uu_in = 2;
		else if (mimedec_uu_line(s, n, &m->out) < 0)
			l->bad++;
	}
}

static void
leaf_line(struct mime *m, struct level *l, const char *s, size_t n, int eol,
    int cont)
{
	int soft, whole = !cont && eol && !l->qp_soft;
	size_t k;

	raw(m, l, MIME_RAW_BODY, s, n, eol);
	/* A skipped text part is still read for the files inside it. */
	if (l->skip && !l->text)
		return;
	switch (l->p.enc) {
	case MIME_BASE64:
		mimedec_b64(&l->b64, s, n, &m->out);
		return;
	case MIME_UUENC:
		uu_part_line(m, l, s, n);
		return;
	case MIME_QP:
		owe_eol(m, l);
		k = mimedec_qp_line(s, n, m->qp, &soft, &l->bad);
		mimedec_put(&m->out, m->qp, k);
		l->pending_eol = eol && !soft;
		whole = whole && !soft;
		l->qp_soft = soft;
		if (l->text && whole)
			emb_line(m, l, (const char *)m->qp, k);
		return;
	default:
		owe_eol(m, l);
		mimedec_put(&m->out, s, n);
		l->pending_eol = eol;
		if (l->text && whole)
			emb_line(m, l, s, n);
		return;
	}
}

static void
content_line(struct mime *m, struct level *l, const char *s, size_t n,
    int eol, int cont)
{
	switch (l->st) {
	case ST_HEADER:
		header_line(m, l, s, n, eol, cont);
		return;
	case ST_LEAF:
		leaf_line(m, l, s, n, eol, cont);
		return;
	case ST_PREAMBLE:
		raw(m, l, MIME_RAW_PREAMBLE, s, n, eol);
		return;
	case ST_EPILOGUE:
		raw(m, l, MIME_RAW_EPILOGUE, s, n, eol);
		return;
	default:
		raw(m, l, MIME_RAW_UNPARSED, s, n, eol);
		return;
	}
}

/* ---- ending entities */

static void
leaf_finish(struct mime *m, struct level *l)
{
	if (l->p.enc == MIME_BASE64) {
		mimedec_b64_end(&l->b64, &m->out);
		l->bad += l->b64.bad;
	}
	if (l->p.enc == MIME_UUENC && l->uu_in == 1)
		flag(m, l, MIME_F_TRUNCATED);
	if (l->bad)
		flag(m, l, MIME_F_ENCODING);
	if (m->emb != E_NONE)
		emb_end(m, MIME_F_TRUNCATED);
	mimedec_flush(&m->out);
}

/* End the innermost level; at_end: the input ended. */
static void
close_top(struct mime *m, int at_end)
{
	struct level *l = &m->lv[m->top];

	if (l->st == ST_HEADER && !l->hdr_over)
		header_done(m, l);
	if (l->blen > 0 && l->st != ST_EPILOGUE)
		flag(m, l, MIME_F_TRUNCATED);
	if (!l->p.container) {
		if (at_end)
			owe_eol(m, l);
		leaf_finish(m, l);
	}
	if (m->ops.end != NULL)
		m->ops.end(m->ctx, &l->p);
	if (m->top > 0)
		m->top--;
}

/* ---- boundaries */

/* The open multipart whose delimiter line s is, innermost first; -1 if none. */
static long
find_boundary(struct mime *m, const char *s, size_t n, int *close)
{
	size_t k = m->top + 1, i;

	while (k-- > 0) {
		struct level *l = &m->lv[k];

		if (l->blen == 0 || l->st == ST_EPILOGUE || l->st == ST_HEADER ||
		    n < 2 + l->blen || memcmp(s + 2, l->h.boundary, l->blen) != 0)
			continue;
		i = 2 + l->blen;
		*close = i + 1 < n && s[i] == '-' && s[i + 1] == '-';
		if (*close)
			i += 2;
		while (i < n && is_ws(s[i]))
			i++;
		if (i == n)
			return (long)k;
	}
	return -1;
}

static void
boundary(struct mime *m, size_t j, int close, const char *s, size_t n, int eol)
{
	struct level *l = &m->lv[j];

	while (m->top > j)
		close_top(m, 0);
	raw(m, l, MIME_RAW_BOUNDARY, s, n, eol);
	if (close)
		l->st = ST_EPILOGUE;
	else if (count_part(m, l)) {
		l->st = ST_CHILD;
		push_child(m);
	} else
		l->st = ST_SKIP;
}

/* ---- input */

static void
walk(struct mime *m, const char *s, size_t n, int eol)
{
	int cont = m->cont, close;
	long j;

	m->cont = !eol;
	if (!cont && n >= 2 && s[0] == '-' && s[1] == '-' &&
	    (j = find_boundary(m, s, n, &close)) >= 0) {
		boundary(m, (size_t)j, close, s, n, eol);
		return;
	}
	content_line(m, &m->lv[m->top], s, n, eol, cont);
}

void
mime_line(struct mime *m, const char *s, size_t n)
{
	while (n > MIME_LINE_MAX) {
		flag(m, &m->lv[m->top], MIME_F_LINE);
		walk(m, s, MIME_LINE_MAX, 0);
		s += MIME_LINE_MAX;
		n -= MIME_LINE_MAX;
	}
	walk(m, s, n, 1);
}

void
mime_feed(struct mime *m, const char *s, size_t n)
{
	while (n > 0) {
		const char *lf = memchr(s, '\n', n);
		size_t k = lf ? (size_t)(lf - s) : n, room = MIME_LINE_MAX - m->llen, len;
		const char *line;

		if (k > room) {
			/* Too long: hand on a piece, the rest goes on. */
			memcpy(m->line + m->llen, s, room);
			flag(m, &m->lv[m->top], MIME_F_LINE);
			walk(m, m->line, MIME_LINE_MAX, 0);
			m->llen = 0;
			s += room;
			n -= room;
			continue;
		}
		if (lf == NULL) {
			memcpy(m->line + m->llen, s, k);
			m->llen += k;
			return;
		}
		if (m->llen == 0) {
			line = s;
			len = k;
		} else {
			memcpy(m->line + m->llen, s, k);
			line = m->line;
			len = m->llen + k;
			m->llen = 0;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		walk(m, line, len, 1);
		s = lf + 1;
		n -= k + 1;
	}
}

void
mime_end(struct mime *m)
{
	if (m->llen > 0) {
		walk(m, m->line, m->llen, 0);
		m->llen = 0;
	}
	for (;;) {
		size_t top = m->top;

		close_top(m, 1);
		if (top == 0)
			break;
	}
}

unsigned
mime_flags(const struct mime *m)
{
	return m->flags;
}

size_t
mime_parts(const struct mime *m)
{
	return m->parts;
}

/* ---- set-up */

static size_t
clamp(long long v, size_t def, size_t lo, size_t hard)
{
	if (v < 0)
		return def;
	if ((unsigned long long)v < lo)
		return lo;
	return (unsigned long long)v > hard ? hard : (size_t)v;
}

void
mime_limits_conf(struct mime_limits *lim)
{
	lim->depth = clamp(conf_num("mime_max_depth", MIME_DEPTH_DEF), MIME_DEPTH_DEF,
	    1, MIME_DEPTH_HARD);
	lim->parts = clamp(conf_num("mime_max_parts", MIME_PARTS_DEF), MIME_PARTS_DEF,
	    1, MIME_PARTS_HARD);
	lim->header = clamp(conf_size("mime_header_limit", MIME_HEADER_DEF),
	    MIME_HEADER_DEF, 1024, MIME_HEADER_HARD);
}

void
mime_reset(struct mime *m)
{
	m->top = 0;
	m->hlen = 0;
	m->parts = 0;
	m->flags = 0;
	m->cont = 0;
	m->llen = 0;
	m->emb = E_NONE;
	m->e = NULL;
	level_init(m, 0);
}

struct mime *
mime_new(const struct mime_ops *ops, void *ctx, const struct mime_limits *lim)
{
	struct mime *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	if (ops != NULL)
		m->ops = *ops;
	m->ctx = ctx;
	m->lim = lim != NULL ? *lim : (struct mime_limits){ MIME_DEPTH_DEF,
	    MIME_PARTS_DEF, MIME_HEADER_DEF };
	m->lim.depth = clamp((long long)m->lim.depth, MIME_DEPTH_DEF, 1, MIME_DEPTH_HARD);
	m->lim.parts = clamp((long long)m->lim.parts, MIME_PARTS_DEF, 1, MIME_PARTS_HARD);
	m->lim.header = clamp((long long)m->lim.header, MIME_HEADER_DEF, 1024,
	    MIME_HEADER_HARD);
	/* A path element is at most "." and 7 digits (MIME_PARTS_HARD). */
	m->pathsz = (m->lim.depth + 2) * 8 + 1;
	m->lv = calloc(m->lim.depth + 2, sizeof *m->lv);
	m->paths = calloc(m->lim.depth + 2, m->pathsz);
	m->hdr = malloc(m->lim.header);
	m->scratch = malloc(m->lim.header + 1);
	m->line = malloc(MIME_LINE_MAX);
	m->qp = malloc(MIME_LINE_MAX);
	if (m->lv == NULL || m->paths == NULL || m->hdr == NULL || m->scratch == NULL ||
	    m->line == NULL || m->qp == NULL) {
		mime_free(m);
		return NULL;
	}
	m->out.flush = data_flush;
	m->out.ctx = m;
	m->eout.flush = edata_flush;
	m->eout.ctx = m;
	mime_reset(m);
	return m;
}

void
mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	free(m->lv);
	free(m->paths);
	free(m->hdr);
	free(m->scratch);
	free(m->line);
	free(m->qp);
	free(m);
}
