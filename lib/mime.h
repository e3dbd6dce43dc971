#ifndef MIME_H
#define MIME_H

/*
 * The streaming MIME walker, for every content stage (virus scanning,
 * attachment filters, disclaimers, header and body checks).
 *
 * Contract.
 * - Input: the message (header and body) one line at a time, without its
 *   line end, with mime_line() (a stage's stream reader gives exactly
 *   that), or as raw octets of any size with mime_feed(), which splits
 *   them at LF (a CR before it is dropped) and hands a line longer than
 *   MIME_LINE_MAX on in pieces.  mime_end() after the last line.
 * - Output: callbacks, in input order, with a struct mime_part that
 *   describes the entity they concern:
 *     begin(part)  once the entity's header block is read, before any of
 *                  its lines;  returns MIME_DECODE to get its decoded
 *                  content, MIME_SKIP not to (content stages that only
 *                  copy a part save the decoding; the files embedded in
 *                  a skipped text part are still reported);
 *     raw(part, kind, line)  every input line, unchanged and exactly
 *                  once: a copy of all raw lines is the input.  A header
 *                  line comes after begin() of its entity, so a stage
 *                  knows what the entity is before it copies, drops or
 *                  rewrites its header; kind says where the line is;
 *     data(part, octets)  the decoded content of a leaf entity (and of an
 *                  embedded uuencoded or BinHex file), in chunks of at
 *                  most MIMEDEC_OUT octets;
 *     end(part)    after the entity's last line; part->flags and
 *                  part->size are final.
 *   Entities nest: begin(1), begin(1.1) ... end(1.1), end(1).  A uuencoded
 *   or BinHex file inside a text part is an entity of its own (origin
 *   MIME_UUENCODE or MIME_BINHEX), begun and ended while its text part is
 *   open; it has no raw lines (they are its parent's body lines).
 * - Paths: the message itself is "" (depth 0); the entities inside a
 *   multipart or a message/rfc822 part are numbered from 1 under it:
 *   "1", "2", "2.1", "2.1.3".  An embedded file is numbered among its
 *   parent text part's children ("1.1" inside text part "1").
 * - Decoded content: base64, quoted-printable, x-uuencode are decoded;
 *   7bit, 8bit, binary and unknown encodings are passed as they are, with
 *   CRLF line ends (the line end before a boundary belongs to the
 *   boundary, RFC 2046 5.1.1).  A multipart, and a message/rfc822 part in
 *   an identity encoding, is a container: no data, its children instead.
 *   A multipart or message part in base64 or quoted-printable is a leaf.
 * - Boundaries (RFC 2046 5.1.1): a line is a delimiter when it is "--",
 *   the boundary, optionally "--", then only white space.  So a boundary
 *   that is a prefix of another does not match the longer one.  The
 *   innermost open multipart is tried first; a delimiter of an outer one
 *   closes the inner ones (flag MIME_F_TRUNCATED on them).
 * - Limits, checked as lines arrive: nesting depth (a multipart or message
 *   part deeper than the limit is a leaf, flag MIME_F_DEPTH), entities
 *   per message (those past the limit are not reported: their lines come
 *   as MIME_RAW_UNPARSED of the enclosing multipart, flag MIME_F_PARTS),
 *   octets per header block (what comes past the limit is passed raw and
 *   not parsed, flag MIME_F_HEADER).  Memory is allocated by mime_new()
 *   once, in proportion to the limits, never in proportion to the message.
 * - Malformed input is a documented result, never a failure: a flag on
 *   the entity where it was seen (MIME_F_*), and the union of all flags in
 *   mime_flags().  Nothing crashes, loops or reads past a limit.
 * - The part given to a callback, and its strings, are valid during that
 *   call only; header/header_len only during begin().
 */

#include <stddef.h>

#include "mimedec.h"

#define MIME_LINE_MAX 8192	/* mime_feed(): longer lines come in pieces */
#define MIME_DEPTH_HARD 1000	/* no limit can be set above these */
#define MIME_PARTS_HARD 1000000
#define MIME_HEADER_HARD (16 * 1024 * 1024)

/* Defaults (the settings mime_max_depth, mime_max_parts, mime_header_limit). */
#define MIME_DEPTH_DEF 100
#define MIME_PARTS_DEF 1000
#define MIME_HEADER_DEF 102400

enum mime_enc { MIME_7BIT, MIME_8BIT, MIME_BINARY, MIME_BASE64, MIME_QP,
	MIME_UUENC, MIME_OTHER };
enum mime_origin { MIME_ENTITY, MIME_UUENCODE, MIME_BINHEX };
enum mime_raw { MIME_RAW_HEADER, MIME_RAW_BODY, MIME_RAW_PREAMBLE,
	MIME_RAW_BOUNDARY, MIME_RAW_EPILOGUE, MIME_RAW_UNPARSED };

#define MIME_F_DEPTH 0x01	/* nested deeper than the limit: a leaf */
#define MIME_F_PARTS 0x02	/* more entities than the limit */
#define MIME_F_HEADER 0x04	/* header block longer than the limit */
#define MIME_F_LINE 0x08	/* a line longer than MIME_LINE_MAX */
#define MIME_F_SYNTAX 0x10	/* a bad header field, type or boundary */
#define MIME_F_ENCODING 0x20	/* garbage in base64, QP, uuencode, BinHex */
#define MIME_F_TRUNCATED 0x40	/* ended early: no close delimiter, no "end" */
/* Past a limit: some content was not decoded as what it is. */
#define MIME_F_LIMITS (MIME_F_DEPTH | MIME_F_PARTS | MIME_F_HEADER)

#define MIME_DECODE 0
#define MIME_SKIP 1

struct mime_part {
	const char *path;	/* "", "1", "2.1" */
	size_t depth;		/* 0 for the message */
	enum mime_origin origin;
	const char *type;	/* "text/plain", lower case; defaults per RFC 2045/2046 */
	const char *charset;	/* "" when none */
	const char *disposition;	/* "attachment", "inline" or "" */
	const char *filename;	/* decoded (RFC 2231, 2047) to UTF-8, controls as '_'; "" */
	enum mime_enc enc;
	int container;		/* multipart or message: children, no data */
	unsigned flags;		/* MIME_F_* seen in this entity */
	unsigned long long size;	/* decoded octets so far */
	const char *header;	/* the header block, lines ended by LF (begin only) */
	size_t header_len;
};

struct mime_ops {
	int (*begin)(void *ctx, const struct mime_part *);
	void (*raw)(void *ctx, const struct mime_part *, enum mime_raw kind,
	    const char *line, size_t n, int eol);	/* eol: a line end followed */
	void (*data)(void *ctx, const struct mime_part *, const unsigned char *p,
	    size_t n);
	void (*end)(void *ctx, const struct mime_part *);
};

struct mime_limits {
	size_t depth, parts, header;
};

struct mime;

/* Limits from the settings, or the defaults; each clamped to its HARD. */
void mime_limits_conf(struct mime_limits *);
/* NULL when out of memory.  Callbacks may be NULL.  lim NULL: defaults. */
struct mime *mime_new(const struct mime_ops *ops, void *ctx,
    const struct mime_limits *lim);
void mime_free(struct mime *);
/* Start again with a new message, keeping the memory. */
void mime_reset(struct mime *);
void mime_line(struct mime *, const char *s, size_t n);
void mime_feed(struct mime *, const char *s, size_t n);
/* The end of the message: closes what is open, and ends every entity. */
void mime_end(struct mime *);
/* Union of the MIME_F_* flags of the message so far; entities reported. */
unsigned mime_flags(const struct mime *);
size_t mime_parts(const struct mime *);

#endif
