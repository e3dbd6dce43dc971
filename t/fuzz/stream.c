/*
 * Fuzz target: the stream reader (lib/stream.h), the one contract between
 * stages: stream_read_txn() for each envelope, then stream_read_line()
 * through its body.  Every transaction it accepts must go through the
 * writer and back unchanged (txncheck.h).
 */
#include <unistd.h>

#include "fuzz.h"
#include "stream.h"
#include "txncheck.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_reader r;
	struct lines body = { 0 };
	struct txn t;
	const char *l;
	size_t n;
	int fd = fuzz_memfd(data, size), rc;

	if (stream_reader_init(&r, fd, "fuzz") < 0)
		fuzz_fail("reader");
	txn_init(&t);
	while ((rc = stream_read_txn(&r, &t)) == 1) {
		body.len = 0;
		while ((rc = stream_read_line(&r, &l, &n)) == 1)
			lines_add(&body, l, n);
		if (rc < 0)
			break;
		txncheck_roundtrip(&t, &body);
	}
	if (rc < 0 && r.exit_code != 100 && r.exit_code != 111)
		fuzz_fail("an error without exit code 100 or 111");
	txn_free(&t);
	lines_free(&body);
	stream_reader_free(&r);
	close(fd);
	return 0;
}
