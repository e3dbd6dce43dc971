/*
 * sluice-envelope: check and normalize every envelope of a stream.  See
 * sluice-envelope(8).
 *
 * The output is all or nothing (lib/hold): it goes to standard output
 * only when the whole input has been read.  So an exit of 100 or 111
 * writes nothing, as DESIGN.md asks of a temporary failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bodyfile.h"
#include "envelope.h"
#include "hold.h"
#include "log.h"
#include "prog.h"
#include "stage.h"
#include "stream.h"
#include "text.h"
#include "usage.h"

static const char usage_text[] =
    "usage: sluice-envelope < stream > stream\n"
    "(a filter: no arguments; the importers are sluice-import(1))\n"
    "See sluice-envelope(8).\n";

static void
usage(void)
{
	usage_die(usage_text, NULL);
}

/*
 * The importers were options of this program (-w -e -M -m, with -d -b
 * -r) before they became sluice-import(1).  Scripts that still use them
 * run sluice-import with the same arguments, and are told so.
 */
static void
importer_compat(char **argv)
{
	char *name = "sluice-import";

	log_warn("the importer options are deprecated here: running "
	    "sluice-import %s... instead (see sluice-import(1))", argv[1]);
	argv[0] = name;
	prog_exec(argv);
	die(EXIT_TEMP, "unable to run sluice-import: %s", strerror(errno));
}

/*
 * The body of the last transaction read, in its output form (dot-stuffed,
 * with its final "."), waits in the spill until the next transaction or
 * the end of the input: its envelope, which says its SIZE and 8-bit
 * content, goes first.  It is in memory while it fits the buffer, else
 * in an unlinked temporary file made then; from there the kernel copies
 * it to the held output, or for the last transaction straight to
 * standard output (lib/hold), so a large body is written once and never
 * read back through this program.  When standard input is a regular file
 * (a queue file, sluice-envelope < file) a large body that the output
 * leaves as it is is not written at all: the kernel copies it from the
 * input.
 */
struct spill {
	struct stream_writer w;	/* memory, then fd */
	int fd;			/* -1 until a body outgrows memory */
	int pending;		/* a body waits here */
	/* standard input is a regular file, this far in at the start */
	int in_file;
	off_t base;
	/* the body was only counted, count octets: from the input, at from */
	int counting;
	unsigned long long count;
	off_t from;
};

struct envelope {
	struct hold out;
	struct spill sp;
};

/*
 * Whether n more octets go to the spill's writer (1), or were counted
 * (0): the first time a body outgrows memory, it is counted from then on
 * when it may be sent from the input (may_count), else the file is made.
 */
static int
spill_room(struct spill *sp, size_t n, int may_count)
{
	struct wbuf *o = &sp->w.out;
	const char *d;

	if (sp->counting) {
		sp->count += n;
		return 0;
	}
	if (o->len + n <= o->size || o->total > o->len)
		return 1;
	if (may_count) {
		sp->counting = 1;
		sp->count = o->total + n;
		o->len = o->total = 0;
		return 0;
	}
	if (sp->fd < 0) {
		d = bodyfile_tmpdir();
		if ((sp->fd = bodyfile_tmpfile(d)) < 0)
			die_sys("unable to create a temporary file in %s", d);
		o->fd = sp->fd;
	}
	return 1;
}

/* The waiting body, if any, into the held output; the spill is empty then. */
static void
spill_flush(struct envelope *e)
{
	struct spill *sp = &e->sp;
	struct wbuf *o = &sp->w.out;

	if (!sp->pending)
		return;
	if (sp->counting) {
		hold_append(&e->out, 0, sp->from, sp->count);
	} else if (o->total == o->len) {
		if (wbuf_put(&e->out.w.out, o->buf, o->len) < 0)
			die_sys("unable to write a temporary file");
	} else {
		if (stream_flush(&sp->w) < 0)
			die_sys("unable to write a temporary file");
		hold_append(&e->out, sp->fd, 0, o->total);
		if (ftruncate(sp->fd, 0) < 0 || lseek(sp->fd, 0, SEEK_SET) < 0)
			die_sys("unable to truncate a temporary file");
	}
	o->len = 0;
	o->total = 0;
	sp->pending = sp->counting = 0;
}

/* The body into the spill: whole plain lines in blocks, others one by one. */
static int
spill_body(struct stream_reader *r, struct spill *sp, int may_count)
{
	const char *l;
	size_t n, lines;
	int rc, eight = 0;

	for (;;) {
		if (stream_read_plain(r, &l, &n, &lines) == 1) {
			eight |= !eight && text_has8bit(l, n);
			if (spill_room(sp, n, may_count) &&
			    stream_write_plain(&sp->w, l, n) < 0)
				die_sys("unable to write a temporary file");
			continue;
		}
		if ((rc = stream_read_line(r, &l, &n)) != 1)
			break;
		eight |= text_has8bit(l, n);
		if (spill_room(sp, stream_line_size(&sp->w, l, n), may_count) &&
		    stream_write_line(&sp->w, l, n) < 0)
			die_sys("unable to write a temporary file");
	}
	if (rc < 0)
		die(r->exit_code, "%s", r->err);
	if (spill_room(sp, 2, may_count) && stream_write_end(&sp->w) < 0)
		die_sys("unable to write a temporary file");
	return eight;
}

/*
 * The body into the spill, or, from a regular file, counted: its output
 * is then the input as it is when it has as many octets (the copy only
 * ever drops octets: a CR of CRLF, an unneeded dot), else it is read
 * again into the spill.
 */
static int
take_body(struct stream_reader *r, struct spill *sp)
{
	unsigned long long at = stream_taken(r);
	unsigned long line = r->line;
	int eight = spill_body(r, sp, sp->in_file);

	if (!sp->counting)
		return eight;
	if (stream_taken(r) - at == sp->count) {
		sp->from = sp->base + (off_t)at;
		return eight;
	}
	sp->counting = 0;
	if (stream_rewind(r, at, line) < 0)
		die(r->exit_code, "%s", r->err);
	return spill_body(r, sp, 0);
}

/* Normalize the envelope; then the body, unless nothing depends on it. */
static void
envelope_txn(struct stream_reader *r, struct stream_writer *w, struct txn *t,
    struct bodyfile *body, void *ctx)
{
	struct envelope *e = ctx;
	char err[700];
	int rf, eight;

	(void)body;
	spill_flush(e);
	if (envelope_norm(t, r->name, err, sizeof err) < 0)
		die(EXIT_PERM, "%s", err);
	if (t->body == BODY_8BITMIME && !t->has_size) {
		if (stream_write_head(w, t) < 0)
			die_sys("unable to write");
		if (stream_copy_body(r, w, &rf) < 0) {
			if (rf)
				die(r->exit_code, "%s", r->err);
			die_sys("unable to write");
		}
		return;
	}
	eight = take_body(r, &e->sp);
	envelope_write_head(w, t, r->body_bytes, eight, 1);
	e->sp.pending = 1;
}

/* The whole input was read: the held output goes out, the last body after it. */
static void
envelope_end(struct stream_writer *w, int failed, void *ctx)
{
	struct envelope *e = ctx;
	struct spill *sp = &e->sp;

	(void)w;
	if (failed)
		return;
	if (sp->pending && sp->counting) {
		hold_commit_tail(&e->out, 1, 0, sp->from, sp->count);
		return;
	}
	if (sp->pending && sp->w.out.total > sp->w.out.len) {
		if (stream_flush(&sp->w) < 0)
			die_sys("unable to write a temporary file");
		hold_commit_tail(&e->out, 1, sp->fd, 0, sp->w.out.total);
		return;
	}
	spill_flush(e);
	hold_commit(&e->out, 1);
}

/* Whether standard input is a regular file, and how far in. */
static void
input_kind(struct spill *sp)
{
	struct stat st;

	sp->in_file = fstat(0, &st) == 0 && S_ISREG(st.st_mode) &&
	    (sp->base = lseek(0, 0, SEEK_CUR)) >= 0;
}

int
main(int argc, char **argv)
{
	struct envelope e = { .sp.fd = -1 };
	struct stage s = { .txn = envelope_txn, .ctx = &e, .no_body = 1,
	    .out = &e.out.w, .end = envelope_end };

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0' &&
	    strchr("bdemMrw", argv[1][1]) != NULL)
		importer_compat(argv);
	if (argc > 1)
		usage();
	envelope_init();
	hold_init(&e.out);
	if (stream_writer_init(&e.sp.w, -1, 0) < 0)
		die_nomem();
	input_kind(&e.sp);
	stage_run_with(&s);
	return 0;
}
