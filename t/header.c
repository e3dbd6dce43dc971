/*
 * Unit tests (TAP) for lib/header.c; run by t/13-header-fields-folding.t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "header.h"
#include "stream.h"
#include "strset.h"
#include "tap.h"

/* A reader over a transaction whose body is text. */
static void
reader(struct stream_reader *rd, struct txn *t, const char *body)
{
	FILE *f = tmpfile();

	fprintf(f, "MAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>\nDATA\n%s.\n", body);
	fflush(f);
	rewind(f);
	if (stream_reader_init(rd, dup(fileno(f)), "test") < 0 ||
	    stream_read_txn(rd, t) != 1)
		exit(2);
	fclose(f);
}

static int
field_is(const struct header_field *f, const char *name, const char *value)
{
	char v[256];

	return header_is(f, name) && header_unfold(f, v, sizeof v) >= 0 &&
	    strcmp(v, value) == 0;
}

static void
fields(void)
{
	struct stream_reader rd;
	struct header h;
	struct header_field f;
	struct txn t;
	char v[8];
	size_t pos = 0;

	txn_init(&t);
	reader(&rd, &t, "Subject: one\nX-Folded: two\n  lines\n\tthree \n"
	    "no colon here\nDelivered-To:\n <Bob@D.test>\n\nBody: no field\n");
	ok(header_init(&h) == 0 && header_read(&h, &rd) == 0 && !h.body_done,
	    "a header is read through its blank line");
	ok(header_field(&h, &pos, &f) && field_is(&f, "subject", "one"),
	    "a field on one line; names compare without case");
	ok(header_field(&h, &pos, &f) && field_is(&f, "X-Folded", "two  lines\tthree"),
	    "a folded field is one field, its line ends removed");
	ok(header_unfold(&f, v, sizeof v) == -1, "a value that does not fit is -1");
	{
		char a[64];

		ok(header_field(&h, &pos, &f) && header_is(&f, "Delivered-To"),
		    "a line without a colon is no field");
		ok(header_addr(&f, a, sizeof a) == 10 && strcmp(a, "Bob@D.test") == 0,
		    "an address field: unfolded, trimmed, without its angle brackets");
	}
	ok(!header_field(&h, &pos, &f), "the body's lines are no fields");
	header_free(&h);
	stream_reader_free(&rd);
	txn_free(&t);
}

/* A header over the limit: kept up to it, the line that did not fit apart. */
static void
limit(void)
{
	struct stream_reader rd;
	struct header h;
	struct header_field f;
	struct txn t;
	const char *l;
	char *body, line[1000];
	size_t i, n, pos = 0, nlines = 0, nfields = 0, all = 0;

	memset(line, 'x', 997);
	memcpy(line, "X-Big: ", 7);
	line[997] = '\n';
	line[998] = '\0';
	if ((body = malloc(HEADER_MAX + 4000)) == NULL)
		exit(2);
	for (i = 0, body[0] = '\0'; i < HEADER_MAX / 998 + 2; i++)
		memcpy(body + i * 998, line, 999);
	txn_init(&t);
	reader(&rd, &t, body);
	ok(header_init(&h) == 0 && header_read(&h, &rd) == 0 && h.has_extra &&
	    h.len <= HEADER_MAX, "a header over HEADER_MAX stops at the limit");
	while (header_field(&h, &pos, &f))
		nfields++;
	for (pos = 0; header_line(&h, &pos, &l, &n);)
		nlines++, all += n;
	ok(nfields == HEADER_MAX / 998 && nlines == nfields + 1,
	    "its fields are those within the limit; header_line gives the extra line too");
	ok(stream_skip_body(&rd) == 0, "the rest is the caller's to read");
	header_free(&h);
	free(body);
	stream_reader_free(&rd);
	txn_free(&t);
}

/* The questions sluice-alias and sluice-local ask of a header. */
static void
loops(void)
{
	struct stream_reader rd;
	struct header h;
	struct strset set = { 0 };
	struct txn t;

	txn_init(&t);
	reader(&rd, &t, "Received: from a by mx.example.test; x\n"
	    "Received: from b\n by MX.Example.Test\n (with a fold)\n"
	    "Received: from c by mx.example.test.other; x\n"
	    "Delivered-To: <a@b.test>\nDelivered-To:\n c@d.test\nDelivered-To:\n\n");
	ok(header_init(&h) == 0 && header_read(&h, &rd) == 0, "a header with loops");
	ok(header_received_by(&h, "mx.example.test") == 2,
	    "Received: fields by this host, folded or not, in any case; not a longer name");
	ok(header_addrs(&h, "delivered-to", &set) == 0 && set.n == 2 &&
	    strset_has(&set, "a@b.test") && strset_has(&set, "C@D.test"),
	    "Delivered-To: addresses, folded or in brackets; an empty one is none");
	strset_free(&set);
	header_free(&h);
	stream_reader_free(&rd);
	txn_free(&t);
}

/* Lines of a source of the test's own, none after a NULL. */
struct lines {
	const char *const *l;
	size_t i;
};

static int
next_line(void *ctx, const char **line, size_t *len)
{
	struct lines *s = ctx;

	if (s->l[s->i] == NULL)
		return 0;
	*line = s->l[s->i++];
	*len = strlen(*line);
	return 1;
}

/* A header from any line source, and one line at a time. */
static void
sources(void)
{
	static const char *const text[] = { "From: a@b.test", "To: c@d.test,",
	    "\te@f.test", "", "body", NULL };
	static const char *const cut[] = { "Subject: no body", NULL };
	struct lines src = { text, 0 };
	struct header h;
	struct header_field f;
	char v[64], big[STREAM_TEXT_MAX + 2];
	size_t pos = 0;

	ok(header_init(&h) == 0 && header_read_from(&h, next_line, &src) == 0 &&
	    !h.body_done && src.i == 4,
	    "header_read_from reads a source's lines through the blank one");
	ok(header_field(&h, &pos, &f) && header_field(&h, &pos, &f) &&
	    header_is(&f, "to") && header_unfold(&f, v, sizeof v) > 0 &&
	    strcmp(v, "c@d.test,\te@f.test") == 0,
	    "its fields are unfolded as the stream's are");
	src.l = cut, src.i = 0;
	ok(header_read_from(&h, next_line, &src) == 0 && h.body_done &&
	    h.len == 17, "a source that ends within the header: body_done");
	header_reset(&h);
	ok(header_add(&h, "X: 1", 4) == 1 && header_add(&h, " 2", 2) == 1 &&
	    header_add(&h, "", 0) == 0 && h.len == 9,
	    "header_add: 1 while the header goes on, 0 at the blank line");
	memset(big, 'x', sizeof big);
	ok(header_add(&h, big, STREAM_TEXT_MAX + 1) == -2 && h.len == 9 &&
	    !h.has_extra, "a line longer than a line may be is not kept");
	src.l = (const char *const[]){ big, NULL }, src.i = 0;
	big[STREAM_TEXT_MAX + 1] = '\0';
	ok(header_read_from(&h, next_line, &src) == -1,
	    "header_read_from refuses such a line");
	header_free(&h);
}

int
main(void)
{
	fields();
	loops();
	limit();
	sources();
	return tap_done();
}
