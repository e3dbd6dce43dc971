#ifndef B64_H
#define B64_H

/*
 * Base64 (RFC 2045 6.8) as a MIME body carries it: the encoder makes
 * lines of 76 characters from 57 octets, the decoder takes the body one
 * line at a time and is strict, for the BSMTP tunnel's decoder must refuse
 * what its encoder would never write: a character outside the alphabet,
 * '=' anywhere but at the end, anything after the end.
 */

#include <stddef.h>

#define B64_LINE_IN 57		/* octets per encoded line */
#define B64_LINE_OUT 76		/* characters per encoded line */

/* Encode n (at most B64_LINE_IN) octets into out; returns the length. */
size_t b64_encode(const unsigned char *in, size_t n, char *out);
/* The length of the encoding of n octets, CRLF after each line. */
unsigned long long b64_encoded_size(unsigned long long n);

struct b64_dec {
	unsigned acc;		/* bits not yet written out */
	int nbits;
	int ended;		/* '=' seen: only padding and blank lines may follow */
	int pad;
};

void b64_dec_init(struct b64_dec *);
/*
 * Decode one line (without its line end) into out, which must hold
 * 3 * (n / 4) + 3 octets; *outn gets the count.  White space is skipped.
 * 0, or -1 when the line is not base64.
 */
int b64_dec_line(struct b64_dec *, const char *s, size_t n,
    unsigned char *out, size_t *outn);
/* Whether the input ended on a whole quantum: 0, or -1 if it was cut. */
int b64_dec_end(const struct b64_dec *);

#endif
