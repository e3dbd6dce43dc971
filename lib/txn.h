#ifndef TXN_H
#define TXN_H

/*
 * One transaction of the stream in memory: the envelope (MAIL with its
 * parameters, the recipients with theirs, the XFORWARD attributes), never
 * the body.  Readers fill it (stream.h, sluice-smtpd), stages change it,
 * the writer prints it.  The limits are the stream's (sluice-stream(5)):
 * the struct is built to them.
 */

#include <stddef.h>

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
	XF_SOURCE, XF_LOGIN, XF_COUNT };
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
/*
 * Empty it for the next transaction, keeping the recipients' array: with
 * musl, an array allocated and freed per message can be a mmap and a
 * munmap each time.  txn_free frees it at the end.
 */
void txn_reset(struct txn *);
/* Setters copy their arguments; they return -1 only when out of memory. */
int txn_set_from(struct txn *, const char *);
int txn_set_xf(struct txn *, enum xf_attr, const char *);
struct rcpt *txn_add_rcpt(struct txn *, const char *addr);
/* The same taking addr, malloc'd, as it is; on NULL it is still the caller's. */
struct rcpt *txn_add_rcpt_own(struct txn *, char *addr);
void txn_del_rcpt(struct txn *, size_t i);
/*
 * Private parameters: get returns the value or NULL; set replaces a
 * parameter of that key or adds one.  set returns 0, XPARAM_NOMEM when
 * out of memory (a retry may do better), or XPARAM_FULL when the command
 * carries STREAM_XPARAM_MAX others already (errno E2BIG): it can carry no
 * more, on any retry, so that is permanent for the message.
 */
#define XPARAM_NOMEM (-1)
#define XPARAM_FULL (-2)
const char *xparam_get(const struct xparam *, size_t n, const char *key);
int xparam_set(struct xparam *, size_t *n, const char *key, const char *val);
/*
 * Exit for a failed xparam_set on whose (an address, or "MAIL"): 5.3.4 and
 * EXIT_PERM when full, so the runner sets the message aside instead of
 * retrying it for ever; else out of memory, EXIT_TEMP.
 */
void xparam_die(int rc, const char *whose) __attribute__((noreturn));
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

#endif
