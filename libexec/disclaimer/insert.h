#ifndef INSERT_H
#define INSERT_H

/*
 * Putting a disclaimer into a message as it streams through the MIME
 * walker (lib/mime.h), in one pass: every raw line is copied, except in
 * the parts that get the disclaimer.  Which parts (sluice-disclaimer(8)):
 *   the message itself when it is text/plain or text/html;
 *   in a multipart/alternative, its first text/plain and first text/html;
 *   in a multipart/mixed or /related, its first part, looked at the same
 *   way (a multipart/alternative there is opened too);
 *   a part marked "attachment", or whose header block is malformed or past
 *   its limit, never.
 * A multipart/mixed message where no part qualifies gets a new text part
 * before its closing delimiter.  A signed or encrypted message
 * (multipart/signed, multipart/encrypted, application/pkcs7-mime) is
 * copied as it is: a change would break its signature.
 * The text goes at the end of a text/plain part, and before "</body>" in a
 * text/html part (at its end when there is none); its encoding is kept:
 * appended raw (7bit, 8bit, binary), quoted-printable, or the part
 * decoded and encoded again (base64).  A non-ASCII text is converted to
 * the part's charset (us-ascii becomes utf-8), and a 7bit part that would
 * get 8-bit octets is encoded as quoted-printable; HTML gets numeric
 * character references instead, and, when only a text disclaimer is set,
 * that text, escaped.
 */

#include <stddef.h>

#include "enc.h"
#include "mime.h"
#include "mimehdr.h"
#include "stream.h"
#include "texts.h"

#define INSERT_DEPTH 32		/* deeper parts are not looked at */
#define INSERT_CONV (TEXTS_FILE_MAX * 8)	/* the text in a part's charset */

enum insert_mode { INS_COPY, INS_QP, INS_TOQP, INS_B64 };

struct insert_target {
	int on, html;
	size_t depth;
	enum insert_mode mode;
	int new_ct, new_cte;	/* rewrite Content-Type (charset), CTE (to QP) */
	int add_mv;		/* the message needs MIME-Version */
	int dropping;		/* dropping a field's continuation lines */
	int hdr_done, inserted;
	char ct[1100];		/* the new Content-Type field line */
	char *conv;		/* the disclaimer, ready for this part */
	size_t convlen;
	struct enc_b64 b64;
	char hold[8];		/* base64 HTML: a partial "</body" */
	size_t held;
};

struct insert {
	struct mime *walker;
	struct stream_writer *w;
	const struct dtext *d;
	int leave;		/* signed or encrypted */
	int done_text, done_html;
	size_t parts;		/* parts given the disclaimer */
	char elig[INSERT_DEPTH];	/* by depth: 'a', 'm', 'r' or 0 */
	char boundary[MIMEHDR_BOUNDARY_MAX + 2];	/* of a multipart/mixed message */
	int mixed;
	int failed;		/* a write failed */
	char derived[TEXTS_FILE_MAX * 6];	/* HTML made from the text */
	struct insert_target t;
};

void insert_init(struct insert *, struct stream_writer *w);
/* Start a message with disclaimer d. */
void insert_begin(struct insert *, const struct dtext *d);
void insert_line(struct insert *, const char *s, size_t n);
/* The end of the message: 0, or -1 when a write failed. */
int insert_end(struct insert *);

#endif
