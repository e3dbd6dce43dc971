#ifndef SHA256_H
#define SHA256_H

/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the BSMTP tunnel's
 * message authentication and the names of its duplicate records.  Here
 * rather than OpenSSL's so that the encoder, a chain stage, stays free of
 * libcrypto (DESIGN.md: 1.1 ms per exec).
 */

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t fill;
};

struct sha256_hmac {
	struct sha256 inner, outer;
};

void sha256_init(struct sha256 *);
void sha256_update(struct sha256 *, const void *p, size_t n);
void sha256_final(struct sha256 *, unsigned char out[SHA256_LEN]);

void sha256_hmac_init(struct sha256_hmac *, const void *key, size_t keylen);
void sha256_hmac_update(struct sha256_hmac *, const void *p, size_t n);
void sha256_hmac_final(struct sha256_hmac *, unsigned char out[SHA256_LEN]);

/* Lowercase hex of n octets into out (2n + 1 octets with the NUL). */
void sha256_hex(const unsigned char *in, size_t n, char *out);

#endif
