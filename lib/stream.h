#ifndef STREAM_H
#define STREAM_H

/*
 * The stream: Batch SMTP (RFC 2442 command sequence), the one contract
 * between stages.  See sluice-stream(5) for the format and its limits.
 *
 * Reading is in two steps per transaction: stream_read_txn() parses the
 * envelope up to and including DATA, then stream_read_line() returns the
 * body one line at a time, without its line end and with dot-stuffing
 * removed, until the lone "." that ends it.  A body is never held whole.
 */

#include <stddef.h>

#include "buf.h"

/* Limits, each enforced while reading (sluice-stream(5)). */
#define STREAM_CMD_MAX 4096	/* a command line, with its line end */
#define STREAM_TEXT_MAX 1000	/* a body line, with CRLF (RFC 5321 4.5.3.1.6) */
#define STREAM_RCPT_MAX 1000	/* recipients in one transaction */
#define STREAM_XF_MAX 255	/* an XFORWARD attribute value, decoded */
#define STREAM_ENVID_MAX 100	/* ENVID, decoded (RFC 3461 4.4) */
#define STREAM_ORCPT_MAX 500	/* ORCPT, as written (RFC 3461 4.2) */
#define STREAM_AUTH_MAX 500	/* AUTH= value, as written */
#define STREAM_XPARAM_MAX 8	/* private X- parameters per command */
#define STREAM_XVAL_MAX 1000	/* a private parameter value, as written */

enum body_type { BODY_NONE = 0, BODY_7BIT, BODY_8BITMIME };
enum ret_type { RET_NONE = 0, RET_FULL, RET_HDRS };

#define NOTIFY_NEVER 0x01
#define NOTIFY_SUCCESS 0x02
#define NOTIFY_FAILURE 0x04
#define NOTIFY_DELAY 0x08

/* Postfix XFORWARD attributes, decoded; NULL when absent. */
enum xf_attr { XF_NAME, XF_ADDR, XF_PORT, XF_PROTO, XF_HELO, XF_IDENT,
	XF_SOURCE, XF_COUNT };
extern const char *const xf_names[XF_COUNT];

struct xparam {
	char *key;	/* "X-ROUTE"; upper case */
	char *val;	/* as written (xtext where the parameter says so); NULL if none */
};

struct rcpt {
	char *addr;	/* path content without brackets, as the writer will emit it */
	unsigned notify;	/* NOTIFY_* flags, 0 when absent */
	char *orcpt;	/* "rfc822;xtext" as written, NULL when absent */
	struct xparam x[STREAM_XPARAM_MAX];
	size_t nx;
	unsigned long line;	/* line number of RCPT in the input, 0 if unknown */
};

struct txn {
	char *xf[XF_COUNT];
	char *from;	/* reverse-path content, "" for <> */
	unsigned long long size;	/* SIZE=, 0 when absent */
	int has_size;
	enum body_type body;
	int smtputf8;
	enum ret_type ret;
	char *envid;	/* as written (xtext), NULL when absent */
	char *auth;	/* as written, NULL when absent */
	struct xparam x[STREAM_XPARAM_MAX];
	size_t nx;
	struct rcpt *rcpt;
	size_t nrcpt, arcpt;
	unsigned long line;	/* line number of MAIL in the input */
};

void txn_init(struct txn *);
void txn_free(struct txn *);	/* and leaves it empty, reusable */
/* Setters copy their arguments; they return -1 only when out of memory. */
int txn_set_from(struct txn *, const char *);
int txn_set_xf(struct txn *, enum xf_attr, const char *);
struct rcpt *txn_add_rcpt(struct txn *, const char *addr);
void txn_del_rcpt(struct txn *, size_t i);
/* Private parameters: get returns the value or NULL, set replaces. */
const char *xparam_get(const struct xparam *, size_t n, const char *key);
int xparam_set(struct xparam *, size_t *n, const char *key, const char *val);
void xparam_del(struct xparam *, size_t *n, const char *key);
int rcpt_copy(struct txn *, const struct rcpt *src);	/* append a copy */
/*
 * Recipients are kept once, compared by this key: the address in normal
 * form (addr.h: the domain in lower case, needless quoting dropped,
 * postmaster in any case as "postmaster"; the rest of the local part,
 * +detail included, as written), or the text as it is when it does not
 * parse.  Every stage that adds recipients compares with it.  rcpt_key
 * returns a string to free, or NULL when out of memory.
 */
char *rcpt_key(const char *addr);
/* The first of t's first n recipients whose address is key, or -1. */
long txn_find_rcpt(const struct txn *t, const char *key, size_t n);
/* Drop every recipient whose key an earlier one has: how many, or -1. */
long txn_dedupe(struct txn *t);

/*
 * Parse one ESMTP parameter list (the text after the path) of MAIL (is_rcpt
 * 0) or RCPT; used by the reader and by sluice-smtpd.  Returns 0, or -1
 * with *err set to a message naming the parameter.  reply_code gets the
 * RFC 5321/1869 code an SMTP server should send (501 syntax, 555 unknown).
 */
int param_parse(struct txn *t, struct rcpt *r, const char *s, size_t n,
    int is_rcpt, const char **err, int *reply_code);

/* reader */
struct stream_reader {
	struct rbuf in;
	const char *name;	/* for messages: file name or "stdin" */
	unsigned long line;	/* lines read so far */
	int in_body;
	int exit_code;		/* 100 or 111 after an error */
	char err[512];		/* "stdin:12: what was wrong" */
	unsigned long long body_bytes;	/* body octets of the current txn */
};

int stream_reader_init(struct stream_reader *, int fd, const char *name);
void stream_reader_free(struct stream_reader *);
/*
 * Next transaction's envelope, through its DATA line.  Returns 1, 0 at a
 * clean end of stream, or -1 with r->err and r->exit_code set.  Skips
 * HELO, EHLO, RSET (which forget a half-read envelope) and QUIT.
 */
int stream_read_txn(struct stream_reader *, struct txn *);
/*
 * Next body line, dot-stuffing removed, without its line end; the pointer
 * is valid until the next read.  Returns 1, 0 after the final ".", or -1
 * (truncated input is exit code 111, an over-long line 100).
 */
int stream_read_line(struct stream_reader *, const char **line, size_t *len);
/*
 * Pass-through is most of what stages do, so whole lines go in blocks:
 * stream_plain_run gives the length of the run of whole lines at p (n
 * octets) that a copy leaves as they are (LF-ended, no CR before the LF,
 * no leading dot, within the line limit), their number in *lines;
 * stream_read_plain takes such a run from the reader's buffer, in place,
 * counting as stream_read_line would (1), or 0 when the next line is not
 * plain or not whole yet: stream_read_line takes it then.
 * stream_write_plain writes such a run (CRLF line ends if the writer has
 * them).
 */
size_t stream_plain_run(const char *p, size_t n, size_t *lines);
int stream_read_plain(struct stream_reader *, const char **p, size_t *n,
    size_t *lines);
/* Read and discard the rest of the body: 0, or -1 as above. */
int stream_skip_body(struct stream_reader *);

/* writer */
#define STREAM_W_CRLF 0x01	/* CRLF line ends instead of LF */
#define STREAM_W_EXPORT 0x02	/* omit XFORWARD and private X- parameters */
/*
 * Plain RFC 2442 batch: no XFORWARD and no ESMTP parameters at all, for
 * readers that know no ESMTP (exim -bS refuses every parameter).
 */
#define STREAM_W_PLAIN 0x04

struct stream_writer {
	struct wbuf out;
	unsigned flags;
};

int stream_writer_init(struct stream_writer *, int fd, unsigned flags);
void stream_writer_free(struct stream_writer *);
int stream_write_head(struct stream_writer *, const struct txn *);
int stream_write_line(struct stream_writer *, const char *s, size_t n);
int stream_write_end(struct stream_writer *);
int stream_flush(struct stream_writer *);
/* Copy the rest of r's body to w, through the final ".". 0 or -1. */
int stream_write_plain(struct stream_writer *, const char *p, size_t n);
int stream_copy_body(struct stream_reader *r, struct stream_writer *w,
    int *read_failed);

#endif
