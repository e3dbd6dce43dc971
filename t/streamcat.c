/*
 * streamcat: read a stream and write it in canonical form.  The test
 * harness for the reader and writer, and the pass-through of `make bench`.
 * Options: -c CRLF output, -e export form, -p plain RFC 2442 form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "stream.h"

int
main(int argc, char **argv)
{
	struct stream_reader r;
	struct stream_writer w;
	struct txn t;
	unsigned flags = 0;
	int c, rc, rf;

	log_init(argv[0]);
	while ((c = getopt(argc, argv, "cep")) != -1) {
		switch (c) {
		case 'c': flags |= STREAM_W_CRLF; break;
		case 'e': flags |= STREAM_W_EXPORT; break;
		case 'p': flags |= STREAM_W_PLAIN; break;
		default: die(100, "usage: streamcat [-cep]");
		}
	}
	if (stream_reader_init(&r, 0, "stdin") < 0 ||
	    stream_writer_init(&w, 1, flags) < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&r, &t)) == 1) {
		if (stream_write_head(&w, &t) < 0)
			die_sys("unable to write");
		if (stream_copy_body(&r, &w, &rf) < 0) {
			if (rf)
				die(r.exit_code, "%s", r.err);
			die_sys("unable to write");
		}
	}
	if (rc < 0)
		die(r.exit_code, "%s", r.err);
	if (stream_flush(&w) < 0)
		die_sys("unable to write");
	txn_free(&t);
	stream_reader_free(&r);
	stream_writer_free(&w);
	return 0;
}
