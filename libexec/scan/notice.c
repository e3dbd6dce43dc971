#include "notice.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dsn.h"

#define LINE 900	/* body lines are cut here, well under 998 */

static int
line(struct stream_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
line(struct stream_writer *w, const char *fmt, ...)
{
	char buf[LINE + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return stream_write_line(w, buf, strlen(buf));
}

static int
header(struct stream_writer *w, const char *to, int for_sender,
    const struct notice *n)
{
	const char *host = conf_hostname();
	char date[64];

	dsn_date(time(NULL), date, sizeof date);
	if (line(w, "From: Mail Delivery System <MAILER-DAEMON@%s>", host) < 0 ||
	    line(w, "To: <%s>", to) < 0 ||
	    (for_sender ? line(w, "Subject: Your message was not delivered: %s content",
	    n->verdict) : line(w, "Subject: %s message from <%s>", n->verdict,
	    n->t->from)) < 0 ||
	    line(w, "Date: %s", date) < 0 ||
	    line(w, "Message-ID: <%s.%ld.scan@%s>", n->qid, (long)time(NULL), host) < 0 ||
	    line(w, "Auto-Submitted: auto-generated") < 0 ||
	    line(w, "MIME-Version: 1.0") < 0 ||
	    line(w, "Content-Type: text/plain; charset=%s",
	    n->t->smtputf8 ? "utf-8" : "us-ascii") < 0 ||
	    line(w, "%s", "") < 0)
		return -1;
	return 0;
}

int
notice_write(struct stream_writer *w, const char *to, int for_sender,
    const struct notice *n)
{
	struct txn nt;
	size_t i;
	int rc = -1;

	txn_init(&nt);
	if (txn_set_from(&nt, "") < 0 || txn_add_rcpt(&nt, to) == NULL)
		goto out;
	nt.smtputf8 = n->t->smtputf8;
	nt.body = n->t->smtputf8 ? BODY_8BITMIME : BODY_NONE;
	if (stream_write_head(w, &nt) < 0 || header(w, to, for_sender, n) < 0)
		goto out;
	if ((for_sender ? line(w, "The message you sent was found to contain %s content "
	    "and was not delivered to its recipients.", n->verdict) :
	    line(w, "sluice-scan found %s content in a message.", n->verdict)) < 0 ||
	    line(w, "%s", "") < 0 ||
	    line(w, "Found:      %s", n->name) < 0 ||
	    line(w, "In:         %s", n->where) < 0 ||
	    line(w, "Subject:    %s", n->subject) < 0 ||
	    line(w, "Sender:     <%s>", n->t->from) < 0 ||
	    line(w, "Queue id:   %s", n->qid) < 0)
		goto out;
	for (i = 0; i < n->t->nrcpt; i++)
		if (line(w, "%s <%s>", i ? "           " : "Recipients:", n->t->rcpt[i].addr) < 0)
			goto out;
	if (!for_sender && line(w, "Action:     %s", n->action) < 0)
		goto out;
	rc = stream_write_end(w);
out:
	txn_free(&nt);
	return rc;
}
