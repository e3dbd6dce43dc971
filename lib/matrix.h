#ifndef MATRIX_H
#define MATRIX_H

/*
 * The channel action matrix: which content stages act on which mail, by
 * where it came from and which channel each recipient goes to, in one
 * table, content (compiled to content.cdb; sluice-content(5)):
 *
 *   # stage     rules: from=SOURCES to=CHANNELS, several joined by ";"
 *   scan        from=any to=any
 *   disclaimer  from=relay,auth,local to=smtp
 *   attach      from=internet to=local,pipe; from=imported to=any
 *   spam        off
 *
 * Sources (of the transaction, from its stream envelope):
 *   any        everything
 *   local      a local submission: XFORWARD PROTO=LOCAL or SOURCE=LOCAL
 *   auth       AUTH= on MAIL, other than AUTH=<>: an authenticated client
 *   relay      a client address the access table marks "relay"
 *   client     any SMTP client: XFORWARD ADDR, not local
 *   internet   a client neither authenticated nor allowed to relay
 *   imported   neither local nor from a client: sluice-import's output,
 *              BSMTP tunnels (PROTO=BSMTP), hand-made stream files
 *   A/N        a client in an address range, 192.0.2.0/24, 2001:db8::/32
 * Channels (of each recipient, from its X-ROUTE): local, smtp, pipe,
 * bsmtp, file, and any.  A recipient with no X-ROUTE (a stage placed
 * before sluice-route, or before the queue) has no channel: only "any"
 * matches it, so a stage whose rules name channels belongs after
 * sluice-route in the chain.
 *
 * A recipient is acted on when one rule of the stage matches both its
 * transaction's source and its channel.  A stage with no row acts on
 * everything (the row "default" is used instead, when there is one); so
 * does every stage when the table is missing or empty, as before the
 * table existed.  "off" acts on nothing.
 *
 * Use, in a stage (a few lines; sluice-attach, sluice-disclaimer and
 * sluice-scan do this):
 *
 *   static struct matrix mx;
 *   if (matrix_load(&mx, err, sizeof err) < 0)        // once per run
 *           die(EXIT_TEMP, "4.3.5 %s", err);
 *   ...per transaction, before its body is read:
 *   switch (matrix_txn(&mx, "attach", rd, w, t, sp, &read_failed)) {
 *   case -1:          fail (read_failed: rd->err, else a write error)
 *   case MATRIX_NONE: return;  // copied through at the cost of a copy
 *   case MATRIX_SOME: the body is in sp, already read; t holds only the
 *                     recipients to act on (the others were written out,
 *                     with the body, as a transaction of their own)
 *   case MATRIX_ALL:  nothing was read: act on t as before
 *   }
 *
 * matrix_applies() is the same decision without any reading or writing,
 * for a stage that splits transactions itself.
 */

#include <stddef.h>

#include "cidr.h"
#include "bodyfile.h"
#include "stream.h"
#include "table.h"

#define MATRIX_NONE 0	/* acts on none of the recipients */
#define MATRIX_ALL 1	/* on all of them */
#define MATRIX_SOME 2	/* on some */

#define MATRIX_STAGE_MAX 32	/* a stage name */

#define MATRIX_SRC_LOCAL 0x01
#define MATRIX_SRC_AUTH 0x02
#define MATRIX_SRC_RELAY 0x04
#define MATRIX_SRC_CLIENT 0x08
#define MATRIX_SRC_INTERNET 0x10
#define MATRIX_SRC_IMPORTED 0x20
#define MATRIX_SRC_ANY 0x40

#define MATRIX_CH_LOCAL 0x01
#define MATRIX_CH_SMTP 0x02
#define MATRIX_CH_PIPE 0x04
#define MATRIX_CH_BSMTP 0x08
#define MATRIX_CH_FILE 0x10
#define MATRIX_CH_ANY 0x20

struct matrix_rule {
	char stage[MATRIX_STAGE_MAX + 1];	/* "default" for stages with no row */
	unsigned src;		/* MATRIX_SRC_* bits; ANY for "any" */
	struct cidr_range *nets;	/* client ranges, also sources */
	size_t nnets;
	unsigned ch;		/* channel bits; MATRIX_CH_ANY for "any" */
};

struct matrix {
	struct matrix_rule *r;
	size_t n;
	int present;		/* the table has rows */
	int need_access;	/* a rule names "relay" or "internet" */
	struct table access;
	/*
	 * The last source, cached by what it was computed from (one access
	 * lookup per transaction, not per recipient).
	 */
	char last_key[STREAM_XF_MAX + 8];
	int have_last;
	unsigned last_src;
	struct cidr_addr last_addr;
	int last_has_addr;
};

/*
 * Read the table (content.cdb in the configuration folder).  0, or -1
 * with err saying what is wrong (a row that does not parse).
 */
int matrix_load(struct matrix *, char *err, size_t errsz);
void matrix_free(struct matrix *);
/* Which of t's recipients stage acts on: MATRIX_NONE, _ALL or _SOME. */
int matrix_applies(struct matrix *, const char *stage, const struct txn *t);
/* Whether stage acts on t's recipient i. */
int matrix_applies_rcpt(struct matrix *, const char *stage, const struct txn *t,
    size_t i);
/* The decision and its reading and writing, as shown above. */
int matrix_txn(struct matrix *, const char *stage, struct stream_reader *rd,
    struct stream_writer *w, struct txn *t, struct bodyfile *sp, int *read_failed);

#endif
