/*
 * Unit tests (TAP) for lib/sha256.c and lib/b64.c, what the BSMTP tunnel
 * rests on; run by t/14-sha256-b64.t.  The vectors are FIPS 180-4's
 * examples and RFC 4231's test cases 1, 2 and 6.
 */
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "sha256.h"
#include "tap.h"

static const char *
hash(const char *s, size_t n)
{
	static char hex[65];
	unsigned char h[SHA256_LEN];
	struct sha256 c;
	size_t i;

	sha256_init(&c);
	for (i = 0; i < n; i++)	/* byte by byte: the block logic too */
		sha256_update(&c, s + i, 1);
	sha256_final(&c, h);
	sha256_hex(h, sizeof h, hex);
	return hex;
}

static const char *
hmac(const char *key, size_t kl, const char *s)
{
	static char hex[65];
	unsigned char h[SHA256_LEN];
	struct sha256_hmac m;

	sha256_hmac_init(&m, key, kl);
	sha256_hmac_update(&m, s, strlen(s));
	sha256_hmac_final(&m, h);
	sha256_hex(h, sizeof h, hex);
	return hex;
}

/* Decode s as one body; the decoded octets into out, or -1. */
static long
dec(const char *s, unsigned char *out)
{
	struct b64_dec d;
	size_t n = 0, k;
	const char *l = s, *e;

	b64_dec_init(&d);
	for (; *l; l = *e ? e + 1 : e) {
		e = strchr(l, '\n');
		if (e == NULL)
			e = l + strlen(l);
		if (b64_dec_line(&d, l, (size_t)(e - l), out + n, &k) < 0)
			return -1;
		n += k;
	}
	return b64_dec_end(&d) < 0 ? -1 : (long)n;
}

int
main(void)
{
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char key[131], enc[80];
	unsigned char raw[64], out[128];
	size_t i;

	ok(strcmp(hash("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
	    "SHA-256 of the empty string");
	ok(strcmp(hash("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "SHA-256 of abc");
	ok(strcmp(hash(msg, strlen(msg)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0,
	    "SHA-256 of the 448-bit message (two blocks of padding)");
	memset(key, 0x0b, 20);
	ok(strcmp(hmac(key, 20, "Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0,
	    "HMAC-SHA-256, RFC 4231 case 1");
	ok(strcmp(hmac("Jefe", 4, "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0,
	    "HMAC-SHA-256, RFC 4231 case 2");
	memset(key, 0xaa, 131);
	ok(strcmp(hmac(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First"), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0,
	    "HMAC-SHA-256, RFC 4231 case 6 (a key longer than a block)");

	for (i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(i * 37 + 1);
	enc[b64_encode(raw, 57, enc)] = '\0';
	ok(strlen(enc) == 76 && dec(enc, out) == 57 && memcmp(out, raw, 57) == 0,
	    "57 octets make a 76-character line that decodes back");
	enc[b64_encode(raw, 1, enc)] = '\0';
	ok(strcmp(enc, "AQ==") == 0 && dec(enc, out) == 1 && out[0] == raw[0], "one octet: two '='");
	enc[b64_encode(raw, 2, enc)] = '\0';
	ok(dec(enc, out) == 2 && memcmp(out, raw, 2) == 0 && enc[3] == '=' && enc[2] != '=',
	    "two octets: one '='");
	ok(dec("QUJD\nREVG\n", out) == 6 && memcmp(out, "ABCDEF", 6) == 0, "quanta across lines");
	ok(dec("QUI=\n", out) == 2 && dec("QQ=\n=\n", out) == 1, "padding, also split over lines");
	ok(dec("QUJD!\n", out) < 0, "a character outside the alphabet is refused");
	ok(dec("QUI=QUJD\n", out) < 0, "data after the padding is refused");
	ok(dec("QUJ\n", out) < 0, "a cut quantum is refused");
	ok(dec("QUJD=\n", out) < 0 && dec("QUI==\n", out) < 0, "padding where none belongs is refused");
	ok(b64_encoded_size(57) == 78 && b64_encoded_size(58) == 84 && b64_encoded_size(0) == 0,
	    "the encoded size counts CRLF per line");
	return tap_done();
}
