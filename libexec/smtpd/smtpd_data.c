/*
 * DATA: the envelope and the Received: field into the queue program's
 * stream, then the message, read up to the final "." and copied as it
 * arrives; the refusals found on the way (size, bare CR or LF, long
 * lines, too many Received: fields, a sender in the header that table
 * sender_access refuses); and the answer, from the refusal or
 * the queue program's exit status.
 */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "qid.h"
#include "smtpd.h"
#include "stream.h"

/* Why a message is refused at the end of DATA; the first reason wins. */
#define DATA_TOO_BIG 0x01
#define DATA_LONG_LINE 0x02
#define DATA_BARE_EOL 0x04
#define DATA_HOPS 0x08
#define DATA_SENDER 0x10	/* a sender in the header refused */

/*
 * Where the reading of DATA is: whether the next octets start a line,
 * whether the line before ended with CRLF (only then can "." end the
 * data), whether the last piece of an over-long line ended with CR (its
 * LF may come in the next piece), and the header block's Received:
 * fields, counted with no memory beyond this struct.
 */
struct data_scan {
	int bol, after_crlf, piece_cr, in_hdr;
	unsigned long hops;
	int has_date, has_msgid;	/* for submission (RFC 6409 8.2, 8.3) */
};

/* XFORWARD for the stream: who sent it, and the queue id to use. */
static int
set_xforward(struct session *s, const char *qid)
{
	struct txn *t = &s->t;

	if (txn_set_xf(t, XF_IDENT, qid) < 0 || txn_set_xf(t, XF_ADDR, s->addr) < 0 ||
	    txn_set_xf(t, XF_HELO, s->helo_name) < 0 ||
	    txn_set_xf(t, XF_PROTO, smtpd_received_proto(s)) < 0)
		return -1;
	if (s->name[0] && txn_set_xf(t, XF_NAME, s->name) < 0)
		return -1;
	if (s->port[0] && txn_set_xf(t, XF_PORT, s->port) < 0)
		return -1;
	if (s->auth_user[0] && txn_set_xf(t, XF_LOGIN, s->auth_user) < 0)
		return -1;
	return 0;
}

/* A header field named name, in any case, WSP allowed before ':'. */
static int
is_field(const char *l, size_t n, const char *name)
{
	size_t i = strlen(name);

	if (n <= i || strncasecmp(l, name, i) != 0)
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < n && l[i] == ':';
}

/*
 * Whether a line of the header block ends it: the empty line, or one
 * that is neither a field nor a field's continuation (a message without
 * the empty line), before which the added fields go.
 */
static int
header_ends(const char *l, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return 1;
	if (l[0] == ' ' || l[0] == '\t')
		return 0;
	while (i < n && (unsigned char)l[i] > 32 && l[i] != 127 && l[i] != ':')
		i++;
	if (i == 0)
		return 1;
	/* The obsolete syntax's blanks before the colon (RFC 5322 4.5.2). */
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i == n || l[i] != ':';
}

/*
 * Submission (RFC 6409 8.2, 8.3): the Date: and Message-ID: fields a
 * message lacks, added at the end of its header block.
 */
static void
complete_header(struct session *s, struct data_scan *ds, const char *qid)
{
	char line[TEXT_MAX], date[64];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (!s->submission || s->q.in < 0)
		return;
	if (!ds->has_date) {
		gmtime_r(&now, &tm);
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
		n = snprintf(line, sizeof line, "Date: %s", date);
		if (stream_write_line(&s->q.w, line, (size_t)n) < 0)
			smtpd_queue_close_input(&s->q);
	}
	if (!ds->has_msgid && s->q.in >= 0) {
		n = snprintf(line, sizeof line, "Message-ID: <%s@%s>", qid, s->hostname);
		if (n < 0 || (size_t)n >= sizeof line ||
		    stream_write_line(&s->q.w, line, (size_t)n) < 0)
			smtpd_queue_close_input(&s->q);
	}
	ds->has_date = ds->has_msgid = 1;
}

/*
 * One whole line (l, n with its line end) or the last piece of an
 * over-long one: 1 for the final ".", else 0 with the refusal flags in
 * *bad.  text/tl get the line without its end and with its dot-stuffing
 * undone.
 */
static int
data_line(struct data_scan *ds, const char *l, size_t n, unsigned *bad,
    const char **text, size_t *tl)
{
	int crlf = (n >= 2 && l[n - 2] == '\r') ||
	    (n == 1 && !ds->bol && ds->piece_cr);
	int whole = ds->bol;

	ds->bol = 1;
	if (whole && ds->after_crlf && n == 3 && l[0] == '.' && crlf)
		return 1;
	ds->after_crlf = crlf;
	if (!whole)
		return 0;	/* the end of a line refused as over-long */
	*tl = n - (crlf ? 2 : 1);
	*text = l;
	/* RFC 5321 4.5.3.1.6 counts the line, not the stuffing. */
	if (l[0] == '.')
		(*text)++, (*tl)--;
	if (!crlf || memchr(l, '\r', *tl + (l[0] == '.')) != NULL)
		*bad |= DATA_BARE_EOL;
	if (*tl > TEXT_MAX - 2)
		*bad |= DATA_LONG_LINE;
	if (ds->in_hdr) {
		if (header_ends(*text, *tl))
			ds->in_hdr = 0;
		else if (is_field(*text, *tl, "Received"))
			ds->hops++;
		else if (is_field(*text, *tl, "Date"))
			ds->has_date = 1;
		else if (is_field(*text, *tl, "Message-ID"))
			ds->has_msgid = 1;
	}
	return 0;
}

/*
 * Read the message up to CRLF.CRLF, copying it into the queue program's
 * stream as it arrives.  Only a "." between two CRLFs ends it; a bare CR
 * or LF never does (the SMTP smuggling family) and makes the message
 * refused, as does an over-long line, which is read in pieces so that
 * the end is found whatever the line lengths.  After a refusal the rest
 * is read and dropped, and the queue program's input is closed without
 * the final ".", so it commits nothing.  Returns the DATA_* refusal flags.
 */
static unsigned
data_read(struct session *s, unsigned long long *size, const char *qid,
    struct sender_hdr *sh)
{
	struct data_scan ds = { 1, 1, 0, 1, 0, 0, 0 };
	int hdr;
	unsigned bad = 0;
	const char *l, *text = NULL;
	size_t n, tl = 0;
	int rc;

	*size = 0;
	for (;;) {
		/* A 998-octet line with CRLF and a stuffed dot fits whole. */
		rc = rbuf_getline(&s->in, &l, &n, TEXT_MAX + 1);
		if (rc == 0 || rc == -1 || (rc == 1 && l[n - 1] != '\n'))
			smtpd_session_read_failed(s, "data");
		if (rc == -2) {
			bad |= DATA_LONG_LINE;
			ds.bol = 0;
			ds.piece_cr = l[n - 1] == '\r';
			text = NULL;
		} else {
			hdr = ds.in_hdr;
			if (data_line(&ds, l, n, &bad, &text, &tl))
				break;
			if (sh->on && text != NULL) {
				smtpd_sender_hdr_line(s, sh, text, tl);
				if (sh->verdict != RP_OK)
					bad |= DATA_SENDER;
			}
			if (hdr && !ds.in_hdr && !bad)
				complete_header(s, &ds, qid);
		}
		*size += n;
		if (s->size_limit && *size > s->size_limit)
			bad |= DATA_TOO_BIG;
		if (s->max_hops && ds.hops >= s->max_hops)
			bad |= DATA_HOPS;
		if (bad) {
			smtpd_queue_close_input(&s->q);
			continue;
		}
		if (s->q.in >= 0 && stream_write_line(&s->q.w, text, tl) < 0)
			smtpd_queue_close_input(&s->q);
	}
	if (ds.in_hdr && !bad)
		complete_header(s, &ds, qid);
	return bad;
}

/* The reply for the refusal flags, or for the queue program's status. */
static enum reply_id
data_verdict(unsigned bad, int wrote, int st, enum reply_id sender)
{
	if (bad & DATA_TOO_BIG)
		return RP_TOO_BIG;
	if (bad & DATA_LONG_LINE)
		return RP_LONG_LINE;
	if (bad & DATA_BARE_EOL)
		return RP_BARE_EOL;
	if (bad & DATA_HOPS)
		return RP_TOO_MANY_HOPS;
	if (bad & DATA_SENDER)
		return sender;
	if (st == 0 && wrote)
		return RP_QUEUED;
	return st == EXIT_PERM ? RP_QUEUE_PERM : RP_QUEUE_TEMP;
}

/*
 * The answer when the message has nowhere to go: the queue program is
 * named only when one was to run, not when no queue file could be made.
 */
static enum reply_id
queue_unavailable(const struct queue *q)
{
	return q->own ? RP_QUEUE_TEMP : RP_QUEUE_START;
}

/*
 * The answer after the final ".".  A queue program's refusal may pass
 * its own code and text on (smtpd_queue_reason_code); one that could not
 * be started (no pid) is 451, logged with queue_status=none.
 */
static void
data_answer(struct session *s, unsigned bad, int wrote, const char *qid,
    unsigned long long size, enum reply_id sender)
{
	char reason[REASON_MAX + 1], status[16] = "none";
	const char *pass = NULL;
	enum reply_id id = queue_unavailable(&s->q);
	int st;

	if (smtpd_queue_started(&s->q)) {
		st = smtpd_queue_end(&s->q, wrote && !bad, reason, sizeof reason);
		snprintf(status, sizeof status, "%d", st);
		id = data_verdict(bad, wrote, st, sender);
	}
	if (id == RP_QUEUE_PERM)
		pass = smtpd_queue_reason_code(reason, '5');
	else if (id == RP_QUEUE_TEMP)
		pass = smtpd_queue_reason_code(reason, '4');
	if (id == RP_QUEUED) {
		smtpd_reply_extra(s, id, qid);
		smtpd_limit_count(s, size);
	}
	else if (pass != NULL)
		smtpd_reply_passed(s, smtpd_reply_code(id), pass);
	else
		smtpd_reply(s, id);
	log_info("qid=%s client=%s from=<%s> nrcpt=%zu size=%llu proto=%s "
	    "queue_status=%s reply=%d", qid, s->addr, s->t.from, s->t.nrcpt,
	    size, smtpd_received_proto(s), status, smtpd_reply_code(id));
}

/* DATA has its own limit, within the session's. */
static void
data_deadline(struct session *s, int on)
{
	long long end;

	s->in.deadline = s->session_end;
	if (!on || s->data_ms == 0)
		return;
	end = clock_now_ms() + s->data_ms;
	if (s->in.deadline == 0 || end < s->in.deadline)
		s->in.deadline = end;
}

/* Whether DATA may start: a sender, a recipient, and no argument. */
static int
data_ready(struct session *s, const char *arg)
{
	if (*arg != '\0')
		smtpd_reply(s, RP_NO_ARGS);
	else if (!s->have_mail)
		smtpd_reply(s, RP_NEED_MAIL);
	else if (s->t.nrcpt == 0)
		smtpd_reply(s, RP_NEED_RCPT);
	else
		return 1;
	return 0;
}

void
smtpd_data(struct session *s, const char *arg)
{
	char qid[QID_LEN + 1];
	struct sender_hdr sh;
	unsigned long long size;
	unsigned bad;
	int wrote;

	if (!data_ready(s, arg))
		return;
	qid_make(qid);
	if (set_xforward(s, qid) < 0) {
		smtpd_reply(s, RP_LOCAL_ERROR);
		smtpd_txn_reset(s);
		return;
	}
	if (smtpd_queue_ready(&s->q) < 0) {
		smtpd_reply(s, queue_unavailable(&s->q));
		smtpd_txn_reset(s);
		return;
	}
	/*
	 * The 354 first: the queue program starts (vfork, exec) while the
	 * client sends the body, not while it waits for the 354.  If it
	 * cannot start, the body is read and refused with 451 at its end.
	 */
	smtpd_reply(s, RP_DATA);
	smtpd_session_flush(s);
	if (smtpd_queue_start(&s->q, qid) < 0)
		log_warn("qid=%s unable to start %s: %s", qid, s->q.own ?
		    "a queue file" : "the queue program", strerror(errno));
	/* A queue file may have had to take another id (lib/enqueue.h). */
	else if ((strcmp(s->t.xf[XF_IDENT], qid) != 0 &&
	    txn_set_xf(&s->t, XF_IDENT, qid) < 0) ||
	    stream_write_head(&s->q.w, &s->t) < 0 ||
	    smtpd_received_write(s, qid) < 0)
		smtpd_queue_close_input(&s->q);
	data_deadline(s, 1);
	smtpd_sender_hdr_start(s, &sh);
	bad = data_read(s, &size, qid, &sh);
	data_deadline(s, 0);
	wrote = 0;
	if (!bad && s->q.in >= 0 && stream_write_end(&s->q.w) == 0 &&
	    stream_flush(&s->q.w) == 0)
		wrote = 1;
	smtpd_queue_close_input(&s->q);
	data_answer(s, bad, wrote, qid, size, sh.verdict);
	smtpd_txn_reset(s);
}
