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
 * with its final "."), waits here until the next transaction or the end
 * of the input: its envelope, which says its SIZE and 8-bit content, is
 * written first.  It is in memory while it fits the buffer, else in an
 * unlinked temporary file made then; from there the kernel copies it to
 * the held output, or for the last transaction straight to standard
 * output (lib/hold), so a large body is written to a file once and never
 * read back through this program.
 */
struct spill {
	struct stream_writer w;	/* memory, then fd */
	int fd;			/* -1 until the body outgrows memory */
	int pending;		/* a body waits here */
};

struct envelope {
	struct hold out;
	struct spill sp;
};

/* Room for n more octets: the file, the first time memory is too small. */
static void
spill_room(struct spill *sp, size_t n)
{
	const char *d;

	if (sp->fd >= 0 || sp->w.out.len + n <= sp->w.out.size)
		return;
	d = bodyfile_tmpdir();
	if ((sp->fd = bodyfile_tmpfile(d)) < 0)
		die_sys("unable to create a temporary file in %s", d);
	sp->w.out.fd = sp->fd;
}

/* The waiting body, if any, into the held output; the spill is empty then. */
static void
spill_flush(struct envelope *e)
{
	struct spill *sp = &e->sp;
	struct wbuf *o = &sp->w.out;

	if (!sp->pending)
		return;
	if (o->total == o->len) {
		if (wbuf_put(&e->out.w.out, o->buf, o->len) < 0)
			die_sys("unable to write a temporary file");
	} else {
		if (stream_flush(&sp->w) < 0)
			die_sys("unable to write a temporary file");
		hold_append(&e->out, sp->fd, o->total);
		if (ftruncate(sp->fd, 0) < 0 || lseek(sp->fd, 0, SEEK_SET) < 0)
			die_sys("unable to truncate a temporary file");
	}
	o->len = 0;
	o->total = 0;
	sp->pending = 0;
}

/* The body into the spill: whole plain lines in blocks, others one by one. */
static int
spill_body(struct stream_reader *r, struct spill *sp)
{
	const char *l;
	size_t n, lines;
	int rc, eight = 0;

	for (;;) {
		if (stream_read_plain(r, &l, &n, &lines) == 1) {
			eight |= !eight && text_has8bit(l, n);
			spill_room(sp, n);
			if (stream_write_plain(&sp->w, l, n) < 0)
				die_sys("unable to write a temporary file");
			continue;
		}
		if ((rc = stream_read_line(r, &l, &n)) != 1)
			break;
		eight |= text_has8bit(l, n);
		spill_room(sp, n + 3);	/* a stuffed dot, CR LF */
		if (stream_write_line(&sp->w, l, n) < 0)
			die_sys("unable to write a temporary file");
	}
	if (rc < 0)
		die(r->exit_code, "%s", r->err);
	spill_room(sp, 2);
	if (stream_write_end(&sp->w) < 0)
		die_sys("unable to write a temporary file");
	return eight;
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
	eight = spill_body(r, &e->sp);
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
	if (sp->pending && sp->fd >= 0 && sp->w.out.total > sp->w.out.len) {
		if (stream_flush(&sp->w) < 0)
			die_sys("unable to write a temporary file");
		hold_commit_tail(&e->out, 1, sp->fd, sp->w.out.total);
		return;
	}
	spill_flush(e);
	hold_commit(&e->out, 1);
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
	stage_run_with(&s);
	return 0;
}
