#ifndef SUBMIT_H
#define SUBMIT_H

/*
 * sendmail(1): the interface every Unix program expects.  One file per
 * module, named after its function prefix:
 *
 *   sendmail.c    main: what each mode (-bm, -bp, -bs, -bi, -q) runs
 *   opts.c        the options of Sendmail and Postfix
 *   addrlist.c    addresses: one qualified, an RFC 5322 list of them
 *   input.c       the message's lines: line ends, bare CRs, the lone "."
 *   msghead.c     the header: -t, Bcc:, Resent-, the fields added
 *   from.c        the added From: field, its name RFC 2047-encoded
 *   queue.c       the hand-off to the queue program through a pipe
 *   deliver.c     -bm: one message read and handed to the queue
 *
 * Exit status follows <sysexits.h>, as callers of sendmail expect.
 */

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "header.h"
#include "stream.h"

#define LINE_MAX_TEXT 998	/* RFC 5322 2.1.1, without the CRLF */
#define RCPT_FIELD_MAX 65536	/* an unfolded To:, Cc: or Bcc: field */
#define UNIT_MAX 1024		/* one address as written in a list */
#define FULLNAME_MAX 256	/* -F */

enum mode { M_DELIVER, M_QUEUE, M_SMTP, M_RUNQ, M_ALIASES };
enum sortkey { SORT_TIME, SORT_SIZE, SORT_PRIO };

struct opts {
	enum mode mode;
	enum sortkey sort;
	int extract;		/* -t */
	int dot_ends;		/* a lone "." ends input; -i and -oi clear it */
	int verbose;
	const char *sender;	/* -f, NULL when not given */
	const char *fullname;	/* -F or $NAME */
	unsigned notify;	/* -N */
	enum ret_type ret;	/* -R */
	const char *envid;	/* -V, as given */
	enum body_type body;	/* -B */
	char *flush;		/* -qR: the destination to flush */
};

/* Returns the index of the first operand; bad usage exits EX_USAGE. */
int opts_parse(int argc, char **argv, struct opts *o);
void opts_usage(void) __attribute__((noreturn));

/* How addresses are completed, and what was seen in them. */
struct names {
	const char *domain;	/* qualify_domain */
	int utf8;		/* an address has UTF-8 in it: SMTPUTF8 */
	char why[UNIT_MAX * 4 + 200];	/* a reason that names the address */
};

/*
 * Parse one address (the text of a path, brackets removed), qualify it,
 * and write it in normal form into out.  Returns 0 or -1 with *why set.
 */
int addrlist_qualify(struct names *, const char *s, size_t n, char *out,
    size_t size, const char **why);
/*
 * Add each mailbox of an RFC 5322 address list (display names, comments,
 * groups, obsolete white space) to t.  Returns 0 or -1 with *why set.
 */
int addrlist_parse(struct names *, const char *s, size_t n, struct txn *t,
    unsigned notify, const char **why);
/* Add a recipient once: like Postfix, one named twice gets one copy. */
void addrlist_add(struct txn *t, const char *addr, unsigned notify);
/* s[0..n) for a message: control octets as C escapes (\0 \r \n \t \xHH). */
const char *addrlist_shown(const char *s, size_t n, char *buf, size_t size);

struct input {
	struct rbuf in;
	unsigned long lineno;
	unsigned long long size, limit;	/* as written into the queue */
	const char *rest;	/* the input line's text after a bare CR, or NULL */
	size_t restlen;
	int ended;		/* the lone "." or end of input was seen */
	int dot_ends;		/* a lone "." ends the message (not -i) */
};

void input_init(struct input *, int fd, unsigned long long limit, int dot_ends);
/*
 * The next line of the message, without its line end; 1, or 0 at its end
 * (end of input, or a lone "." unless -i).  A bare CR ends a line too.
 */
int input_line(struct input *, const char **line, size_t *len);

typedef void (*emit_fn)(void *ctx, const char *s, size_t n);

struct msghead {
	const struct opts *o;
	struct names *names;
	struct input *in;
	int first;		/* no line read yet: a From_ line may come */
	struct header block;	/* the fields read and not yet emitted */
	char *rcptbuf;		/* a field's unfolded value, when it names recipients */
	int have_from, have_date, have_msgid;
	int resent;		/* any Resent- field: a resent message */
	int have_rfrom, have_rdate, have_rmsgid;
	int have_resent;	/* a Resent-To/Cc/Bcc field, under -t */
	struct txn hdr_rcpt, resent_rcpt;
};

void msghead_init(struct msghead *, const struct opts *, struct names *,
    struct input *);
/*
 * Read the header block, passing each line to emit, without Bcc: fields
 * and with Date:, From: and Message-ID: added when missing.  Returns 1 if
 * a body follows (its separating empty line already emitted), 0 if the
 * message ended within the header.  *pending gets a first body line that
 * was not separated from the header by an empty line.  A field longer
 * than HEADER_MAX is refused.
 */
int msghead_read(struct msghead *, const char *qid, const char *from,
    emit_fn emit, void *ctx, const char **pending, size_t *plen);
/* Under -t: the recipients the header names (Resent- ones if any). */
const struct txn *msghead_rcpts(const struct msghead *);

/*
 * Emit "field: name <addr>", the added From: or Resent-From:, with the
 * -F name as its display name; sender "" is MAILER-DAEMON@domain.
 */
void from_emit(const char *field, const char *fullname, const char *sender,
    const char *domain, emit_fn emit, void *ctx);

struct queue {
	pid_t pid;
	struct stream_writer w;
	int fd;
	int broken;	/* the queue program stopped reading */
};

/* Start $SLUICE_QUEUE (default sluice-enqueue) reading from a pipe. */
void queue_start(struct queue *);
/* An emit_fn: one line of the message into the stream. */
void queue_emit(void *ctx, const char *s, size_t n);
/* Close the pipe, wait: the queue program's verdict as a sysexits code. */
int queue_finish(struct queue *, int complete);

/* -bm: read one message, hand it to the queue; a sysexits code. */
int deliver(const struct opts *, int argc, char **argv);

#endif
