#ifndef ENC_H
#define ENC_H

/*
 * The encoders sluice-disclaimer writes a changed part with: quoted-
 * printable one line at a time (RFC 2045 6.7: lines of at most 76
 * characters, soft breaks, trailing white space encoded), and base64 as a
 * stream of octets (lines of 76 characters, lib/b64.h).
 */

#include <stddef.h>

#include "stream.h"

/* One line of text (no line end) as quoted-printable lines: 0 or -1. */
int enc_qp_line(struct stream_writer *w, const char *s, size_t n);

struct enc_b64 {
	struct stream_writer *w;
	unsigned char in[57];
	size_t n;
	int failed;
};

void enc_b64_init(struct enc_b64 *, struct stream_writer *w);
void enc_b64_put(struct enc_b64 *, const void *p, size_t n);
/* The last line: 0, or -1 when a write failed. */
int enc_b64_end(struct enc_b64 *);

#endif
