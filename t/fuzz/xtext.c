/*
 * Fuzz target: RFC 3461 xtext (lib/xtext.h).  The input is decoded as
 * xtext, and encoded as raw octets.  Decoding succeeds exactly when the
 * text is valid (and holds no +00, and fits); what is encoded decodes
 * back to the same octets, and encoding what was decoded gives valid
 * xtext again.
 */
#include <string.h>

#include "fuzz.h"
#include "xtext.h"

#define OUT 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dec[OUT], enc[3 * OUT + 1], back[OUT + 1];
	const char *s = (const char *)data;
	long d, e, b;

	if (size > OUT)
		return 0;
	d = xtext_decode(s, size, dec, sizeof dec);
	if (d >= 0) {
		if (!xtext_valid(s, size))
			fuzz_fail("decoded text that is not valid xtext");
		if ((size_t)d > size || dec[d] != '\0' || memchr(dec, '\0', (size_t)d))
			fuzz_fail("decoded length, NUL or terminator wrong");
		e = xtext_encode(dec, (size_t)d, enc, sizeof enc);
		if (e < 0 || !xtext_valid(enc, (size_t)e))
			fuzz_fail("re-encoded text is not valid xtext");
	}
	/* Raw octets: whatever they are, encode then decode gives them back. */
	e = xtext_encode(s, size, enc, sizeof enc);
	if (e < 0)
		fuzz_fail("encoding did not fit three octets per octet");
	if (!xtext_valid(enc, (size_t)e))
		fuzz_fail("encoded text is not valid xtext");
	b = xtext_decode(enc, (size_t)e, back, sizeof back);
	if (memchr(s, '\0', size) != NULL) {
		if (b >= 0)
			fuzz_fail("an encoded NUL decoded");
	} else if (b != (long)size || memcmp(back, s, size) != 0)
		fuzz_fail("encode then decode is not the identity");
	return 0;
}
