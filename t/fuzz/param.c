/*
 * Fuzz target: the ESMTP parameter parser (lib/param.c), as sluice-smtpd
 * calls it after a path.  The first octet says MAIL or RCPT.  What it
 * accepts must go through the stream writer and reader unchanged.
 */
#include "fuzz.h"
#include "param.h"
#include "stream.h"
#include "txncheck.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lines body = { 0 };
	struct txn t;
	struct rcpt *r;
	const char *err = NULL;
	int code = 0, is_rcpt, rc;

	if (size == 0)
		return 0;
	is_rcpt = data[0] & 1;
	txn_init(&t);
	if (txn_set_from(&t, "a@example.org") < 0 ||
	    (r = txn_add_rcpt(&t, "b@example.net")) == NULL)
		fuzz_fail("out of memory");
	rc = param_parse(&t, r, (const char *)data + 1, size - 1, is_rcpt, &err,
	    &code);
	if (rc < 0 && (err == NULL || (code != 501 && code != 555 && code != 451)))
		fuzz_fail("an error without a message or a known reply code");
	if (rc == 0)
		txncheck_roundtrip(&t, &body);
	txn_free(&t);
	return 0;
}
