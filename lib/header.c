#include "header.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

int
header_init(struct header *h)
{
	memset(h, 0, sizeof *h);
	return (h->buf = malloc(HEADER_MAX)) == NULL ? -1 : 0;
}

void
header_free(struct header *h)
{
	free(h->buf);
	h->buf = NULL;
}

void
header_reset(struct header *h)
{
	h->len = 0;
	h->has_extra = 0;
	h->body_done = 0;
}

int
header_add(struct header *h, const char *l, size_t n)
{
	if (n > STREAM_TEXT_MAX)
		return -2;
	/* Past the limit, the rest streams through unexamined. */
	if (h->len + n + 1 > HEADER_MAX) {
		memcpy(h->extra, l, n);
		h->extralen = n;
		h->has_extra = 1;
		return -1;
	}
	memcpy(h->buf + h->len, l, n);
	h->buf[h->len + n] = '\n';
	h->len += n + 1;
	return n > 0;
}

int
header_read(struct header *h, struct stream_reader *rd)
{
	const char *l;
	size_t n;
	int rc;

	header_reset(h);
	for (;;) {
		if ((rc = stream_read_line(rd, &l, &n)) < 0)
			return -1;
		if (rc == 0) {
			h->body_done = 1;
			return 0;
		}
		/* The stream's lines are within STREAM_TEXT_MAX. */
		if (header_add(h, l, n) <= 0)
			return 0;
	}
}

int
header_read_from(struct header *h, header_source_fn next, void *ctx)
{
	const char *l;
	size_t n;
	int rc;

	header_reset(h);
	for (;;) {
		if ((rc = next(ctx, &l, &n)) < 0)
			return -1;
		if (rc == 0) {
			h->body_done = 1;
			return 0;
		}
		if ((rc = header_add(h, l, n)) == -2)
			return errno = EMSGSIZE, -1;
		if (rc <= 0)
			return 0;
	}
}

int
header_line(const struct header *h, size_t *pos, const char **line,
    size_t *len)
{
	const char *nl;

	if (*pos < h->len) {
		*line = h->buf + *pos;
		nl = memchr(*line, '\n', h->len - *pos);
		*len = (size_t)(nl - *line);
		*pos += *len + 1;
		return 1;
	}
	if (*pos == h->len && h->has_extra) {
		*line = h->extra;
		*len = h->extralen;
		(*pos)++;
		return 1;
	}
	return 0;
}

int
header_field(const struct header *h, size_t *pos, struct header_field *f)
{
	const char *p, *end = h->buf + h->len, *start, *colon;

	for (;;) {
		p = start = h->buf + *pos;
		if (p >= end || *p == '\n')
			return 0;	/* the end, or the blank line */
		/* A field runs on over the lines that start with white space. */
		do
			p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
		while (p < end && (*p == ' ' || *p == '\t'));
		*pos = (size_t)(p - h->buf);
		/* A line without a colon (or a stray continuation) is no field. */
		colon = memchr(start, ':', (size_t)(p - 1 - start));
		if (colon == NULL || *start == ' ' || *start == '\t')
			continue;
		f->name = start;
		f->namelen = (size_t)(colon - start);
		while (f->namelen > 0 && (start[f->namelen - 1] == ' ' ||
		    start[f->namelen - 1] == '\t'))
			f->namelen--;
		f->value = colon + 1;
		f->valuelen = (size_t)(p - 1 - f->value);
		return 1;
	}
}

int
header_is(const struct header_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && strncasecmp(f->name, name, n) == 0;
}

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

long
header_unfold(const struct header_field *f, char *out, size_t size)
{
	size_t i, k = 0;

	for (i = 0; i < f->valuelen; i++) {
		if (f->value[i] == '\n')
			continue;
		if (k == 0 && is_wsp(f->value[i]))
			continue;
		if (k + 1 >= size)
			return -1;
		out[k++] = f->value[i];
	}
	while (k > 0 && is_wsp(out[k - 1]))
		k--;
	if (size > 0)
		out[k] = '\0';
	return (long)k;
}

long
header_addr(const struct header_field *f, char *out, size_t size)
{
	long n = header_unfold(f, out, size);

	if (n >= 2 && out[0] == '<' && out[n - 1] == '>') {
		memmove(out, out + 1, (size_t)n - 2);
		n -= 2;
		out[n] = '\0';
	}
	return n;
}

int
header_addrs(const struct header *h, const char *name, struct strset *set)
{
	struct header_field f;
	char a[ADDR_PATH_MAX + 1];
	size_t pos = 0;

	while (header_field(h, &pos, &f))
		if (header_is(&f, name) && header_addr(&f, a, sizeof a) > 0 &&
		    strset_add(set, a) < 0)
			return -1;
	return 0;
}

static int
is_hostch(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* White space in a folded value: its line ends too. */
static int
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Whether a Received: value has "by HOST" for this host. */
static int
received_by(const char *v, size_t n, const char *host)
{
	size_t i, j, hl = strlen(host);

	for (i = 0; i + 3 + hl <= n; i++) {
		if ((i > 0 && !is_fws(v[i - 1])) || strncasecmp(v + i, "by", 2) != 0 ||
		    !is_fws(v[i + 2]))
			continue;
		for (j = i + 2; j < n && is_fws(v[j]); j++)
			;
		if (j + hl <= n && strncasecmp(v + j, host, hl) == 0 &&
		    (j + hl == n || !is_hostch(v[j + hl])))
			return 1;
	}
	return 0;
}

long
header_received_by(const struct header *h, const char *host)
{
	struct header_field f;
	size_t pos = 0;
	long n = 0;

	while (header_field(h, &pos, &f))
		if (header_is(&f, "Received") && received_by(f.value, f.valuelen, host))
			n++;
	return n;
}
