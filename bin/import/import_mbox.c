/*
 * import_mbox: an mbox file.  A From_ line starts each message; mboxrd
 * quoting (">From ", ">>From " ...) loses one '>'.  A message that cannot
 * be converted is copied, From_ line and all, into the malformed folder;
 * the mbox itself is not changed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "import.h"
#include "log.h"

struct mbox {
	struct src s;
	struct txn t;
	struct msg m;
	unsigned long long start;	/* offset of the message's first line */
	unsigned long nmsg;		/* its number in the file, from 1 */
	int in_msg, bad;
	char err[4400];
};

static int
is_from_(const char *l, size_t n)
{
	return n >= 5 && memcmp(l, "From ", 5) == 0;
}

/* Sender of a From_ line: "From addr date"; MAILER-DAEMON is <>. */
static int
from_line_sender(struct txn *t, const char *l, size_t n, unsigned long line)
{
	size_t i = 5, k;

	while (i < n && l[i] == ' ')
		i++;
	for (k = i; k < n && l[k] != ' ' && l[k] != '\t'; k++)
		;
	if (k == i)
		return -1;
	if (k - i == 13 && strncasecmp(l + i, "MAILER-DAEMON", 13) == 0)
		return env_from(t, "", 0, line);
	return env_from(t, l + i, k - i, line);
}

/* A message begins at offset here: with a From_ line l, or without. */
static void
mbox_begin(struct mbox *b, unsigned long long here, const char *l, size_t n)
{
	txn_free(&b->t);
	msg_init(&b->m, 1);
	b->bad = 0;
	b->in_msg = 1;
	b->nmsg++;
	b->start = here;
	if (l == NULL) {
		snprintf(b->err, sizeof b->err, "%s:%lu: not an mbox: no From_ line",
		    b->s.path, b->s.line);
		b->bad = 1;
	} else if (from_line_sender(&b->t, l, n, b->s.line) < 0) {
		snprintf(b->err, sizeof b->err, "%s:%lu: malformed From_ line",
		    b->s.path, b->s.line);
		b->bad = 1;
	}
}

/* The message ends before offset here: write it, or copy it aside. */
static void
mbox_end(struct mbox *b, unsigned long long here)
{
	msg_end(&b->m, 1);
	if (!b->bad && env_mailbox_rcpts(&b->t, &b->m) < 0) {
		snprintf(b->err, sizeof b->err, "%s:%lu: no recipient (no -r, no "
		    "Delivered-To: or X-Original-To: header, or a malformed one)",
		    b->s.path, b->t.line);
		b->bad = 1;
	}
	if (!b->bad)
		b->bad = import_emit(&b->t, &b->m, b->s.path, b->err,
		    sizeof b->err) < 0;
	if (b->bad)
		bad_copy(&b->s, b->start, here, b->nmsg, b->err);
}

/* A line of a message's text, unquoted. */
static void
mbox_text(struct mbox *b, const char *l, size_t n)
{
	if (n > 5 && l[0] == '>') {
		size_t k = 0;

		while (k < n && l[k] == '>')
			k++;
		if (n - k >= 5 && memcmp(l + k, "From ", 5) == 0)
			l++, n--;
	}
	msg_line(&b->m, l, n);
}

void
import_mbox(const char *file)
{
	struct mbox b;
	const char *l;
	size_t n;
	int rc;

	memset(&b, 0, sizeof b);
	if (src_open(&b.s, file) < 0)
		die_sys("unable to open %s", file);
	txn_init(&b.t);
	for (;;) {
		unsigned long long here = b.s.off;
		int from_;

		rc = src_line(&b.s, &l, &n, STREAM_TEXT_MAX);
		from_ = rc == 1 && is_from_(l, n);
		if (rc != 0 && !from_ && !b.in_msg)
			mbox_begin(&b, here, NULL, 0);	/* text before any From_ */
		if (rc == 0 || from_) {
			if (b.in_msg)
				mbox_end(&b, here);
			if (rc == 0)
				break;
			mbox_begin(&b, here, l, n);
		} else if (rc == -2) {
			if (!b.bad)
				snprintf(b.err, sizeof b.err, "%s:%lu: text line longer "
				    "than %d octets", file, b.s.line, STREAM_TEXT_MAX - 2);
			b.bad = 1;
		} else if (!b.bad)
			mbox_text(&b, l, n);
	}
	txn_free(&b.t);
	done_add_read(file, (long long)b.s.off);
	src_close(&b.s);
}
