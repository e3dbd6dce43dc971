#ifndef MIMEDEC_H
#define MIMEDEC_H

/*
 * The content decoders of the MIME walker (lib/mime.h): base64, quoted-
 * printable, uuencode and BinHex 4.0.  Each works on one line (or piece
 * of a line) at a time, keeps its state in a small struct, never reads
 * past what it is given, and writes what it decodes into a mimedec_out,
 * which hands full buffers to its flush function.  Garbage is skipped and
 * counted in the decoder's bad field, never fatal.
 */

#include <stddef.h>
#include <stdint.h>

#define MIMEDEC_OUT 16384	/* decoded octets handed on at a time */

struct mimedec_out {
	unsigned char buf[MIMEDEC_OUT];
	size_t len;
	void (*flush)(void *ctx, const unsigned char *p, size_t n);
	void *ctx;
	unsigned long long total;	/* octets put so far */
};

void mimedec_put(struct mimedec_out *, const void *p, size_t n);
void mimedec_putc(struct mimedec_out *, unsigned char c);
/* Hand what is buffered to flush. */
void mimedec_flush(struct mimedec_out *);

/* base64 (RFC 2045 6.8): characters outside the alphabet are skipped. */
struct mimedec_b64 {
	uint32_t acc;
	unsigned n;	/* sextets in acc */
	int ended;	/* saw padding */
	unsigned long bad;	/* non-alphabet, non-space octets; data after the end */
};

void mimedec_b64_init(struct mimedec_b64 *);
void mimedec_b64(struct mimedec_b64 *, const char *s, size_t n,
    struct mimedec_out *);
/*
 * At the end of the part: a quantum left without its padding still gives
 * its whole octets; a lone left-over sextet is counted as bad.
 */
void mimedec_b64_end(struct mimedec_b64 *, struct mimedec_out *);

/*
 * quoted-printable (RFC 2045 6.7), one line without its line end, into
 * out (room for n octets): trailing white space is dropped, "=XX"
 * decoded, a final "=" is a soft line break (*soft set).  An "=" not
 * followed by two hex digits is kept as it is and counted in *bad.
 * Returns the octets written.
 */
size_t mimedec_qp_line(const char *s, size_t n, unsigned char *out, int *soft,
    unsigned long *bad);

/*
 * uuencode.  mimedec_uu_begin recognises "begin MODE NAME" (returns 1) and
 * "begin-base64 MODE NAME" (returns 2), else 0; the name points into s.
 * mimedec_uu_line decodes one data line: the octets it holds (0 for the
 * empty "`" line), or -1 when the line is not uuencoded data.
 */
int mimedec_uu_begin(const char *s, size_t n, const char **name, size_t *nlen);
int mimedec_uu_line(const char *s, size_t n, struct mimedec_out *);

/*
 * BinHex 4.0: the text after the "(This file must be converted with
 * BinHex 4.0)" line, from the first ":" to the last.  The decoder undoes
 * the 6-bit encoding and the run-length compression, reads the header
 * (file name, fork lengths) and hands on the data fork; the resource fork
 * and the CRCs are skipped.  on_header is called once the file name is
 * known, before the first octet of data.
 */
enum mimedec_hqx_state { HQX_START, HQX_BODY, HQX_DONE, HQX_BAD };

struct mimedec_hqx {
	enum mimedec_hqx_state state;
	uint32_t acc;
	unsigned nbits;
	int rle;		/* the previous octet was the 0x90 marker */
	int have_last;
	unsigned char last;
	unsigned phase;		/* header, data, data CRC, resource, CRC, end */
	unsigned char hdr[1 + 63 + 1 + 4 + 4 + 2 + 4 + 4 + 2];
	size_t hlen, hneed;
	uint32_t left;		/* octets left in the current fork or CRC */
	uint32_t rsrc;
	char name[64];		/* NUL-terminated, as written (Mac Roman) */
	void (*on_header)(void *ctx, const char *name);
	void *ctx;
	unsigned long bad;
};

void mimedec_hqx_init(struct mimedec_hqx *,
    void (*on_header)(void *ctx, const char *name), void *ctx);
/* The BinHex marker line: "(This file must be converted with BinHex". */
int mimedec_hqx_marker(const char *s, size_t n);
/* Decode one line; the state says when the closing ":" was seen. */
void mimedec_hqx_line(struct mimedec_hqx *, const char *s, size_t n,
    struct mimedec_out *);

#endif
