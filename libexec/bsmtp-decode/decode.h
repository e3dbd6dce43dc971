#ifndef DECODE_H
#define DECODE_H

/*
 * sluice-bsmtp-decode(8): a tunnel message (RFC 2442) or a plain BSMTP
 * batch in, the stream out to the queue.  One file per module, named
 * after its function prefix:
 *
 *   sluice-bsmtp-decode.c  main: options, the order of the checks, the
 *                          hand-off to the queue program
 *   head.c                 the tunnel message's header fields
 *   unwrap.c               the batch out of its transfer encoding, with
 *                          its MAC and the octets a batch may not hold
 *   batch.c                the batch read strictly into the stream
 *   seen.c                 the record of tunnel ids already queued
 *   refuse.c               refused input, kept for the postmaster
 *
 * A refusal is a call to refuse_input(), which keeps the input, logs the
 * reason and exits 100: nothing of a refused input is passed on.
 */

#include <stddef.h>

#include "addr.h"
#include "bsmtp.h"
#include "hold.h"
#include "table.h"

#define HEAD_LINE_MAX 998	/* a header line (RFC 5322 2.1.1) */
#define HEAD_FIELD_MAX 8192	/* a field with its continuation lines */
#define HEAD_MAX 65536		/* the whole header */

struct head {
	char from[ADDR_PATH_MAX + 1];	/* the From: address, normalized */
	char id[BSMTP_ID_MAX + 1];	/* Message-ID without brackets, "" if none */
	char ctype[200];	/* Content-Type, "" if none */
	char cte[40];		/* Content-Transfer-Encoding, lowercased */
	char mac[100];		/* X-Sluice-Tunnel-MAC, "" if none */
	int from_bad;		/* a From: that is not one address */
	unsigned long lines;	/* lines read, with the blank one */
};

struct decode {
	int raw_fd;		/* the input as it came, for refused/ */
	int batch_fd;		/* the batch, transfer encoding undone */
	int plain;		/* -b: the input is a batch, not a message */
	struct head h;
	char secret[BSMTP_OPT_MAX];	/* the sender's, "" if none */
	int relay;		/* the sender may send to any domain */
	struct table domains, routes;
	struct hold out;	/* the stream for the queue */
	unsigned ntxn;
};

/*
 * head.c: read the header from raw_fd (at its start); refuses a malformed
 * one.  Returns the offset of the body.
 */
unsigned long long head_read(struct decode *);

/* unwrap.c: the body into batch_fd; the MAC checked when a secret is set. */
void unwrap_body(struct decode *, unsigned long long body_off);

/* batch.c: every transaction of the batch into d->out, or a refusal. */
void batch_read(struct decode *);

/* seen.c: whether the id was queued within the window; record it. */
int seen_has(const char *id);
void seen_add(const char *id);

/* refuse.c */
void refuse_input(struct decode *, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
