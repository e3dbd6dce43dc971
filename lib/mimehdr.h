#ifndef MIMEHDR_H
#define MIMEHDR_H

/*
 * Reading MIME header fields (RFC 2045, 2183, 2231, 2047), for the MIME
 * walker (lib/mime.h) and for any stage that looks at a header block.
 * A header block is lines each ended by LF, as the walker keeps it (a
 * CR before the LF is tolerated).  Every function writes into a buffer
 * of the caller's size, cuts what does not fit, and NUL-terminates it;
 * nothing allocates, and nothing reads outside what it is given.
 */

#include <stddef.h>

#define MIMEHDR_BOUNDARY_MAX 200	/* RFC 2046 says 70 */

/* What a MIME header block says about its entity. */
struct mimehdr_entity {
	char type[128];		/* "type/subtype" lower-cased; kept when no Content-Type */
	char charset[64];
	char disp[32];		/* Content-Disposition, lower-cased */
	char cte[32];		/* Content-Transfer-Encoding, lower-cased; "" */
	char name[512];		/* disposition filename, else type name; UTF-8, controls '_' */
	char boundary[MIMEHDR_BOUNDARY_MAX + 2];	/* longer than the MAX: too long */
	int bad;		/* a Content-* field twice, an invalid type */
};

/*
 * The next field of header block h at *pos: its name, and its value as
 * written (the text after the colon, continuation lines and their LFs
 * included, without the final LF).  Lines that are not fields (no colon
 * after a name) are skipped.  Returns 1, or 0 at the end of the block.
 */
int mimehdr_next(const char *h, size_t len, size_t *pos, const char **name,
    size_t *nlen, const char **val, size_t *vlen);
/*
 * Read the Content-Type, -Transfer-Encoding and -Disposition fields of
 * header block h into e, whose type the caller sets to the default first.
 * Readers differ on which of two such fields counts, so the first one
 * does and e->bad is set; an invalid type is text/plain (RFC 2045 5.2).
 * scratch (of at least len + 1 octets) holds one unfolded value.
 */
void mimehdr_entity(const char *h, size_t len, char *scratch, size_t ssize,
    struct mimehdr_entity *e);
/* Whether a field name (n octets) is name, ignoring case. */
int mimehdr_is(const char *fname, size_t n, const char *name);
/* A value with its line breaks removed and white space trimmed. */
size_t mimehdr_unfold(const char *v, size_t n, char *out, size_t size);
/*
 * The media type of a Content-Type value, "type/subtype" lower-cased:
 * 0, or -1 (out empty) when the value does not start with one.
 */
int mimehdr_type(const char *v, char *out, size_t size);
/* The first token of a value (a disposition, an encoding), lower-cased. */
void mimehdr_token(const char *v, char *out, size_t size);
/*
 * Parameter attr of an unfolded value (from the first ';' on): RFC 2231
 * continuations (attr*0, attr*1...) joined, its charset'language'%XX form
 * decoded, else RFC 2047 encoded-words in a plain value decoded (a common
 * departure from the standard in file names); the result in UTF-8.
 * Returns 1 when found, 0 when not (out empty).
 */
int mimehdr_param(const char *v, const char *attr, char *out, size_t size);
/* The same, as written: no decoding at all (a boundary). */
int mimehdr_param_raw(const char *v, const char *attr, char *out, size_t size);
/* RFC 2047 encoded-words of s decoded, the text in UTF-8. */
size_t mimehdr_decode_words(const char *s, size_t n, char *out, size_t size);
/*
 * Octets in charset appended to out[*len] as UTF-8 (US-ASCII and UTF-8
 * copied, ISO-8859-1 mapped, others through iconv(3); what cannot be
 * converted becomes "?").
 */
void mimehdr_to_utf8(const char *charset, const char *s, size_t n, char *out,
    size_t size, size_t *len);

#endif
