/*
 * The message's lines as sendmail reads them: LF or CRLF line ends, a
 * bare CR ending a line as well, a lone "." ending the message unless -i,
 * and the limits of RFC 5322 and message_size_limit enforced while reading.
 */
#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "submit.h"

void
input_init(struct input *in, int fd, unsigned long long limit, int dot_ends)
{
	memset(in, 0, sizeof *in);
	in->limit = limit;
	in->dot_ends = dot_ends;
	if (rbuf_init(&in->in, fd, BUF_SIZE) < 0)
		die(EX_TEMPFAIL, "out of memory");
}

/*
 * The next input line up to its LF, which and every CR before it are
 * removed; 0 at EOF.  It may be longer than a line of the message, which
 * its bare CRs cut (input_line checks each), up to the buffer's size: text
 * with CR line ends only is taken up to 64 KB.
 */
static int
input_rawline(struct input *m, const char **line, size_t *len)
{
	const char *l;
	size_t n;
	int rc;

	rc = rbuf_getline(&m->in, &l, &n, BUF_SIZE);
	if (rc == -1) {
		errno = m->in.err;
		die(EX_TEMPFAIL, "unable to read the message: %s", strerror(errno));
	}
	m->lineno++;
	if (rc == -2)
		die(EX_DATAERR, "line %lu is longer than %d octets (RFC 5322 2.1.1)%s",
		    m->lineno, LINE_MAX_TEXT, memchr(l, '\r', n) ?
		    ", and no LF within 64 KB" : "");
	if (rc == 0) {
		m->ended = 1;
		return 0;
	}
	if (n > 0 && l[n - 1] == '\n')
		n--;
	while (n > 0 && l[n - 1] == '\r')
		n--;
	*line = l;
	*len = n;
	return 1;
}

/*
 * Next input line, without its line end, LF or CRLF.  The CRs just before
 * an LF are part of the line end.  Any other CR ends a line too (old Mac
 * text; "x\r.\rMAIL FROM:" smuggles commands past servers that disagree
 * about it), so that no bare CR goes into the queue and no text is lost:
 * the text after it is a line of its own, dot-stuffed by the stream writer
 * like any other, and never the lone "." that ends the input.  Returns 1,
 * or 0 at the end of the message (end of input, or a lone "." unless -i).
 */
int
input_line(struct input *m, const char **line, size_t *len)
{
	const char *l, *cr;
	size_t n;
	int whole = 0;

	if (m->ended)
		return 0;
	if (m->rest == NULL) {
		if (input_rawline(m, &l, &n) == 0)
			return 0;
		whole = 1;
	} else {
		l = m->rest;
		n = m->restlen;
	}
	m->rest = NULL;
	if ((cr = memchr(l, '\r', n)) != NULL) {
		m->rest = cr + 1;
		m->restlen = n - (size_t)(cr + 1 - l);
		n = (size_t)(cr - l);
		whole = 0;
	}
	if (n > LINE_MAX_TEXT)
		die(EX_DATAERR, "line %lu is longer than %d octets (RFC 5322 2.1.1)",
		    m->lineno, LINE_MAX_TEXT);
	if (whole && m->dot_ends && n == 1 && l[0] == '.') {
		m->ended = 1;
		return 0;
	}
	m->size += n + 2;
	if (m->size > m->limit)
		die(EX_DATAERR, "message larger than %llu octets "
		    "(message_size_limit)", m->limit);
	*line = l;
	*len = n;
	return 1;
}
