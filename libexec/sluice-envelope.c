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

/* Normalize the envelope; then the body, unless nothing depends on it. */
static void
envelope_txn(struct stream_reader *r, struct stream_writer *w, struct txn *t,
    struct bodyfile *body, void *ctx)
{
	const char *l;
	size_t n;
	char err[700];
	int rc, rf, eight = 0;

	(void)ctx;
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
	if (bodyfile_reset(body) < 0)
		die_sys("unable to truncate a temporary file");
	for (;;) {
		size_t lines;

		/* Whole plain lines in blocks (stream.h), others one by one. */
		if (stream_read_plain(r, &l, &n, &lines) == 1) {
			eight |= !eight && text_has8bit(l, n);
			if (bodyfile_write_plain(body, l, n, lines) < 0)
				die_sys("unable to write a temporary file");
			continue;
		}
		if ((rc = stream_read_line(r, &l, &n)) != 1)
			break;
		eight |= text_has8bit(l, n);
		if (bodyfile_write_line(body, l, n) < 0)
			die_sys("unable to write a temporary file");
	}
	if (rc < 0)
		die(r->exit_code, "%s", r->err);
	envelope_write(w, t, body, r->body_bytes, eight, 1);
}

/* The whole input was read: the held output goes out. */
static void
envelope_end(struct stream_writer *w, int failed, void *ctx)
{
	(void)w;
	if (!failed)
		hold_commit(ctx, 1);
}

int
main(int argc, char **argv)
{
	struct hold out;
	struct bodyfile body;
	struct stage s = { .txn = envelope_txn, .ctx = &out, .body = &body,
	    .out = &out.w, .end = envelope_end };

	usage_help(argc, argv, usage_text);
	log_init(argv[0]);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0' &&
	    strchr("bdemMrw", argv[1][1]) != NULL)
		importer_compat(argv);
	if (argc > 1)
		usage();
	envelope_init();
	hold_init(&out);
	if (bodyfile_open(&body, bodyfile_tmpdir()) < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	stage_run_with(&s);
	return 0;
}
