#include "inspect.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mimehdr.h"

static size_t
count_lf(const char *s, size_t n)
{
	size_t k = 0;
	const char *e = s + n;

	while ((s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
		k++;
		s++;
	}
	return k;
}

/* Printable ASCII for the log: the line is the sender's text. */
static void
loggable(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		out[i] = s[i] < ' ' || s[i] > '~' || s[i] == '"' ? '?' : s[i];
	out[i] = '\0';
}

static void
add_edit(struct inspect *in, const struct rule *r, size_t ent, size_t line,
    size_t nlines)
{
	if (in->nedits == INSPECT_EDITS_MAX) {
		log_warn("qid=%s more than %d header edits: the rest are not made", in->qid,
		    INSPECT_EDITS_MAX);
		return;
	}
	in->edits[in->nedits++] = (struct edit){ ent, line, nlines, r };
}

static void
add_tag(struct inspect *in, const struct rule *r)
{
	size_t i;

	for (i = 0; i < in->ntags; i++)
		if (in->tags[i] == r)
			return;
	if (in->ntags < INSPECT_TAGS_MAX)
		in->tags[in->ntags++] = r;
}

/* What a matching rule does; ent, line, nlines locate a header field. */
static void
apply(struct inspect *in, const struct rules *rs, const struct rule *r,
    const char *where, const char *s, size_t ent, size_t line, size_t nlines)
{
	char l[201];

	loggable(s, l, sizeof l);
	log_info("qid=%s checks=%s:%lu action=%s where=\"%s\" line=\"%s\"%s%s%s", in->qid,
	    rs->file, r->line, rule_action_names[r->action], where, l,
	    *r->text ? " text=\"" : "", r->text, *r->text ? "\"" : "");
	switch (r->action) {
	case RA_REJECT:
	case RA_DISCARD:
		in->verdict = r->action == RA_REJECT ? V_REJECT : V_DISCARD;
		in->why = r;
		in->table = rs;
		break;
	case RA_HOLD:
		if (in->verdict == V_PASS) {
			in->verdict = V_HOLD;
			in->why = r;
			in->table = rs;
		}
		break;
	case RA_REPLACE:
	case RA_IGNORE:
		add_edit(in, r, ent, line, nlines);
		break;
	case RA_TAG:
		add_tag(in, r);
		break;
	case RA_WARN:
	case RA_DUNNO:
		break;
	}
}

/* The field "Name: value" with its line breaks removed, cut to the limit. */
static void
unfold(struct inspect *in, const char *name, size_t nl, const char *val, size_t vl)
{
	size_t n = 0, i;

	for (i = 0; i < nl && n < INSPECT_FIELD_MAX; i++)
		in->field[n++] = name[i] ? name[i] : ' ';
	if (n < INSPECT_FIELD_MAX)
		in->field[n++] = ':';
	for (i = 0; i < vl && n < INSPECT_FIELD_MAX; i++)
		if (val[i] != '\r' && val[i] != '\n')
			in->field[n++] = val[i] ? val[i] : ' ';
	in->field[n] = '\0';
}

static void
check_header(struct inspect *in, const struct mime_part *p, size_t ent)
{
	const char *name, *val;
	size_t pos = 0, nl, vl, line;
	const struct rule *r;
	char where[64];

	snprintf(where, sizeof where, "header%s%s", p->depth ? " of part " : "",
	    p->depth ? p->path : "");
	while (in->verdict < V_DISCARD &&
	    mimehdr_next(p->header, p->header_len, &pos, &name, &nl, &val, &vl)) {
		unfold(in, name, nl, val, vl);
		if ((r = rules_match(in->hdr, in->field)) == NULL)
			continue;
		line = count_lf(p->header, (size_t)(name - p->header));
		apply(in, in->hdr, r, where, in->field, ent, line, 1 + count_lf(val, vl));
	}
}

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct inspect *in = ctx;
	size_t ent;

	if (in->verdict >= V_DISCARD || p->origin != MIME_ENTITY)
		return MIME_SKIP;
	ent = in->entities++;
	if (in->hdr != NULL && (p->depth == 0 || in->mime_headers))
		check_header(in, p, ent);
	if (in->body == NULL || p->container || strncmp(p->type, "text/", 5) != 0)
		return MIME_SKIP;
	in->in_text = 1;
	in->len = 0;
	snprintf(in->charset, sizeof in->charset, "%s", p->charset);
	return MIME_DECODE;
}

static int
is_utf8_or_ascii(const char *cs)
{
	return *cs == '\0' || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "us-ascii") == 0;
}

/* One decoded body line, in UTF-8 when its part names another charset. */
static void
body_line(struct inspect *in, const struct mime_part *p, const char *s, size_t n)
{
	const struct rule *r;
	char where[64];
	size_t len = 0, i;

	if (in->verdict >= V_DISCARD)
		return;
	if (is_utf8_or_ascii(in->charset)) {
		memcpy(in->utf8, s, n);
		len = n;
	} else
		mimehdr_to_utf8(in->charset, s, n, in->utf8, sizeof in->utf8, &len);
	for (i = 0; i < len; i++)
		if (in->utf8[i] == '\0')
			in->utf8[i] = ' ';
	in->utf8[len] = '\0';
	if ((r = rules_match(in->body, in->utf8)) == NULL)
		return;
	snprintf(where, sizeof where, "body%s%s", p->depth ? " of part " : "",
	    p->depth ? p->path : "");
	apply(in, in->body, r, where, in->utf8, 0, 0, 0);
}

static void
flush_line(struct inspect *in, const struct mime_part *p)
{
	size_t n = in->len;

	if (n > 0 && in->line[n - 1] == '\r')
		n--;
	body_line(in, p, in->line, n);
	in->len = 0;
}

static void
w_data(void *ctx, const struct mime_part *p, const unsigned char *d, size_t n)
{
	struct inspect *in = ctx;
	const char *s = (const char *)d, *e = s + n, *lf;
	size_t k;

	if (!in->in_text || p->origin != MIME_ENTITY)
		return;
	while (s < e && in->verdict < V_DISCARD) {
		lf = memchr(s, '\n', (size_t)(e - s));
		k = (size_t)((lf ? lf : e) - s);
		if (k > INSPECT_LINE_MAX - in->len)
			k = INSPECT_LINE_MAX - in->len;
		memcpy(in->line + in->len, s, k);
		in->len += k;
		s += k;
		if (s < e && *s == '\n') {
			s++;
			flush_line(in, p);
		} else if (in->len == INSPECT_LINE_MAX)
			flush_line(in, p);
	}
}

static void
w_end(void *ctx, const struct mime_part *p)
{
	struct inspect *in = ctx;

	if (p->origin != MIME_ENTITY || !in->in_text || p->container)
		return;
	if (in->len > 0)
		flush_line(in, p);
	in->in_text = 0;
}

void
inspect_init(struct inspect *in)
{
	struct mime_limits lim;

	mime_limits_conf(&lim);
	if ((in->walker = mime_new(&(struct mime_ops){ w_begin, NULL, w_data, w_end },
	    in, &lim)) == NULL)
		die_nomem();
}

void
inspect_reset(struct inspect *in, const char *qid)
{
	in->qid = qid;
	in->verdict = V_PASS;
	in->why = NULL;
	in->table = NULL;
	in->ntags = in->nedits = in->entities = 0;
	in->in_text = 0;
	in->len = 0;
	mime_reset(in->walker);
}

int
inspect_line(struct inspect *in, const char *s, size_t n)
{
	mime_line(in->walker, s, n);
	return in->verdict >= V_DISCARD;
}

void
inspect_end(struct inspect *in)
{
	mime_end(in->walker);
}
