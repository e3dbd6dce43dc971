/*
 * The Received: field (RFC 5321 4.4) this server puts first in every
 * message, and the protocol name it and XFORWARD give.
 */
#include <stdio.h>
#include <time.h>

#include "smtpd.h"
#include "stream.h"

/* RFC 3848 and 6531: S for TLS, A for AUTH (which needs EHLO). */
const char *
smtpd_received_proto(const struct session *s)
{
	static const char *const esmtp[] = { "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" };
	static const char *const utf8[] = { "UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA",
	    "UTF8SMTPSA" };
	int i = (s->tls ? 1 : 0) + (s->auth_user[0] ? 2 : 0);

	if (s->helo != HELO_ESMTP)
		return "SMTP";
	return s->t.smtputf8 ? utf8[i] : esmtp[i];
}

/* One line of the field; -1 when it would not fit in a text line. */
static int
received_line(struct stream_writer *w, char *line, size_t size, int n)
{
	if (n < 0 || (size_t)n >= size)
		return -1;
	return stream_write_line(w, line, (size_t)n);
}

/*
 * The HELO name as a comment may hold it: printable ASCII without
 * parentheses, others as '?'.
 */
static void
helo_clean(char *dst, const char *helo)
{
	size_t i;

	for (i = 0; helo[i]; i++)
		dst[i] = (helo[i] > 32 && helo[i] < 127 && helo[i] != '(' &&
		    helo[i] != ')') ? helo[i] : '?';
	dst[i] = '\0';
}

/*
 * Written into the queue program's stream as the message's first lines.
 * Every part is bounded (HELO_MAX, the client's name and address,
 * hostname and a recipient shorter than a text line), so -1 means the
 * queue program's input is gone, or a setting is absurdly long.
 */
int
smtpd_received_write(struct session *s, const char *qid)
{
	struct stream_writer *w = &s->q.w;
	char line[TEXT_MAX], date[64], helo[HELO_MAX + 1];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	helo_clean(helo, s->helo_name);
	/* UTC: no time zone file to read per connection. */
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(line, sizeof line, "Received: from %s (%s [%s])", helo,
	    s->name[0] ? s->name : "unknown", s->addr);
	if (received_line(w, line, sizeof line, n) < 0)
		return -1;
	/* As Postfix words them; both are checked for printable ASCII. */
	if (s->tls) {
		n = snprintf(line, sizeof line, "\t(using %s with cipher %s (%d bits))",
		    s->tls_proto, s->tls_cipher, s->tls_bits);
		if (received_line(w, line, sizeof line, n) < 0)
			return -1;
	}
	if (s->auth_user[0]) {
		n = snprintf(line, sizeof line, "\t(Authenticated sender: %s)",
		    s->auth_user);
		if (received_line(w, line, sizeof line, n) < 0)
			return -1;
	}
	/* RFC 5322 3.6.7: the date follows a ";", with or without "for". */
	n = snprintf(line, sizeof line, "\tby %s (sluice) with %s id %s%s",
	    s->hostname, smtpd_received_proto(s), qid, s->t.nrcpt == 1 ? "" : ";");
	if (received_line(w, line, sizeof line, n) < 0)
		return -1;
	if (s->t.nrcpt == 1)
		n = snprintf(line, sizeof line, "\tfor <%s>; %s", s->t.rcpt[0].addr, date);
	else
		n = snprintf(line, sizeof line, "\t%s", date);
	return received_line(w, line, sizeof line, n);
}
