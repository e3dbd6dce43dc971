#include "tag.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Printable ASCII only: names come from scanners and from the message. */
static void
clean(char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s > '~' || *s == '"')
			*s = *s == '"' ? '\'' : '?';
}

void
tag_make(char *buf, size_t size, const char *verdict, const char *name,
    const char *where, const char *host)
{
	char n[200], w[300], h[256];

	snprintf(n, sizeof n, "%s", name);
	snprintf(w, sizeof w, "%s", where);
	snprintf(h, sizeof h, "%s", host);
	clean(n);
	clean(w);
	clean(h);
	if (size > TAG_MAX + 1)
		size = TAG_MAX + 1;
	if (*n)
		snprintf(buf, size, TAG_FIELD ": %s (%s%s%s) by %s", verdict, n,
		    *w ? " in " : "", w, h);
	else
		snprintf(buf, size, TAG_FIELD ": %s by %s", verdict, h);
}

static int
is_tag(const char *l, size_t n)
{
	size_t k = sizeof TAG_FIELD - 1;

	return n > k && strncasecmp(l, TAG_FIELD, k) == 0 &&
	    (l[k] == ':' || l[k] == ' ' || l[k] == '\t');
}

/* A line that continues a field; at the top of a header, a broken one. */
static int
is_wsp_line(const char *l, size_t n)
{
	return n > 0 && (l[0] == ' ' || l[0] == '\t');
}

int
tag_copy(struct stream_writer *w, struct bodyfile *sp, const char *tag)
{
	const char *l;
	size_t n;
	int rc, header = 1, dropping = 0, tagged = tag == NULL;

	if (bodyfile_rewind(sp) < 0)
		return -1;
	while ((rc = bodyfile_getline(sp, &l, &n)) == 1) {
		/*
		 * The tag goes before the first field: after any white-space
		 * lines a broken header starts with, which would otherwise
		 * become the continuation of the tag, words of the sender's
		 * in our verdict.
		 */
		if (!tagged && !(header && is_wsp_line(l, n))) {
			if (stream_write_line(w, tag, strlen(tag)) < 0)
				return -1;
			tagged = 1;
		}
		if (header) {
			if (n == 0)
				header = 0;
			else if (dropping && is_wsp_line(l, n))
				continue;
			else if ((dropping = is_tag(l, n)))
				continue;
		}
		if (stream_write_line(w, l, n) < 0)
			return -1;
	}
	if (rc < 0 || (!tagged && stream_write_line(w, tag, strlen(tag)) < 0))
		return -1;
	return stream_write_end(w);
}
