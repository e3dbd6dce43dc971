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

#include "envelope.h"
#include "hold.h"
#include "log.h"
#include "prog.h"
#include "spool.h"
#include "stream.h"
#include "text.h"

static void
usage(void)
{
	die(EXIT_PERM, "usage: sluice-envelope (a filter: no arguments; "
	    "the importers are sluice-import(1))");
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
envelope_txn(struct stream_reader *r, struct txn *t, struct hold *out,
    struct spool *body)
{
	const char *l;
	size_t n;
	char err[700];
	int rc, rf, eight = 0;

	if (envelope_norm(t, r->name, err, sizeof err) < 0)
		die(EXIT_PERM, "%s", err);
	if (t->body == BODY_8BITMIME && !t->has_size) {
		if (stream_write_head(&out->w, t) < 0)
			die_sys("unable to write");
		if (stream_copy_body(r, &out->w, &rf) < 0) {
			if (rf)
				die(r->exit_code, "%s", r->err);
			die_sys("unable to write");
		}
		return;
	}
	if (spool_reset(body) < 0)
		die_sys("unable to truncate a temporary file");
	for (;;) {
		size_t lines;

		/* Whole plain lines in blocks (stream.h), others one by one. */
		if (stream_read_plain(r, &l, &n, &lines) == 1) {
			eight |= !eight && text_has8bit(l, n);
			if (spool_write_plain(body, l, n, lines) < 0)
				die_sys("unable to write a temporary file");
			continue;
		}
		if ((rc = stream_read_line(r, &l, &n)) != 1)
			break;
		eight |= text_has8bit(l, n);
		if (spool_write_line(body, l, n) < 0)
			die_sys("unable to write a temporary file");
	}
	if (rc < 0)
		die(r->exit_code, "%s", r->err);
	envelope_write(&out->w, t, body, r->body_bytes, eight, 1);
}

int
main(int argc, char **argv)
{
	struct stream_reader r;
	struct hold out;
	struct spool body;
	struct txn t;
	int rc;

	log_init(argv[0]);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0' &&
	    strchr("bdemMrw", argv[1][1]) != NULL)
		importer_compat(argv);
	if (argc > 1)
		usage();
	envelope_init();
	hold_init(&out);
	if (spool_open(&body, spool_tmpdir()) < 0)
		die_sys("unable to create a temporary file in %s", spool_tmpdir());
	if (stream_reader_init(&r, 0, "stdin") < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&r, &t)) == 1)
		envelope_txn(&r, &t, &out, &body);
	if (rc < 0)
		die(r.exit_code, "%s", r.err);
	txn_free(&t);
	stream_reader_free(&r);
	hold_commit(&out, 1);
	return 0;
}
