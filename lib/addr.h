#ifndef ADDR_H
#define ADDR_H

/*
 * RFC 5321 mailbox parsing and normalization (RFC 6531 UTF-8 when asked).
 *
 * Limits (RFC 5321 4.5.3.1): a local part of at most 64 octets as written,
 * a domain of at most 255 octets, labels of at most 63, and a mailbox of
 * at most 254 octets so that the path with its brackets fits in 256.
 *
 * Normal form: the local part keeps its case but loses needless quoting
 * ("john.doe" becomes john.doe, and a quoted string keeps only the
 * backslashes it needs); the domain is lowercased (ASCII letters only,
 * U-labels are left as they are); an address literal is rewritten in the
 * canonical text form of inet_ntop.  A source route (@a,@b:) is dropped as
 * RFC 5321 4.1.1.3 requires.
 */

#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_LABEL_MAX 63
#define ADDR_MAILBOX_MAX 254
#define ADDR_PATH_MAX 256

/* flags */
#define ADDR_NULL_OK 0x01	/* the empty path <> is allowed */
#define ADDR_UNQUAL_OK 0x02	/* a local part alone is allowed */
#define ADDR_UTF8 0x04		/* UTF-8 in local part and domain */

struct addr {
	/* Normal-form local part; quoting may add two octets. */
	char local[ADDR_LOCAL_MAX + 3];
	/* Lowercased domain, "" when unqualified or null. */
	char domain[ADDR_DOMAIN_MAX + 1];
	int null;	/* the null path <> */
	int literal;	/* domain is an address literal [...] */
};

struct addr_err {
	size_t pos;		/* offset of the fault in the input */
	const char *msg;	/* what was wrong, in words */
};

/*
 * Parse the text of a path without its angle brackets (s, n).  Returns 0,
 * or -1 with e filled in.
 */
int addr_parse(const char *s, size_t n, unsigned flags, struct addr *a,
    struct addr_err *e);
/*
 * Offset of the '>' that closes the path opened by s[0] == '<', honouring
 * quoted strings; or -1 if the path is not closed within n octets.
 */
long addr_path_end(const char *s, size_t n);
/* "local@domain", "local" when unqualified, "" for the null path. */
size_t addr_format(const struct addr *a, char *buf, size_t size);
/* Lowercase ASCII in place; used for every table key. */
void addr_lower(char *s);
/* Nonzero if the local part is postmaster, in any case. */
int addr_is_postmaster(const struct addr *a);
/* Whether s is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t n);
/* Whether the dotted name is a syntactically valid domain. */
int domain_valid(const char *s, size_t n, unsigned flags);

#endif
