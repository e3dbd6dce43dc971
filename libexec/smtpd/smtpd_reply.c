/*
 * The replies: every fixed one in one table a reader can audit, each with
 * its enhanced status code (RFC 3463, 2034), and the writing of a reply
 * into the session's output.  The 220 greeting, the HELO/EHLO answer and
 * 354 carry none: RFC 2034 leaves them out and there is no 3.x.x class.
 */
#include <stddef.h>

#include "buf.h"
#include "smtpd.h"

static const struct {
	int code;
	const char *text;
} replies[RP_COUNT] = {
	[RP_OK] = { 250, "2.0.0 Ok" },
	[RP_SENDER_OK] = { 250, "2.1.0 Sender ok" },
	[RP_RCPT_OK] = { 250, "2.1.5 Recipient ok" },
	[RP_QUEUED] = { 250, "2.0.0 Ok: queued as" },
	[RP_HELP] = { 214, "2.0.0 Commands: HELO EHLO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY ETRN HELP QUIT" },
	[RP_VRFY] = { 252, "2.5.0 Cannot VRFY user, but will accept message and attempt delivery" },
	[RP_BYE] = { 221, "2.0.0 Bye" },
	[RP_DATA] = { 354, "End data with <CR><LF>.<CR><LF>" },
	[RP_UNKNOWN] = { 500, "5.5.2 Unknown command" },
	[RP_TOO_LONG] = { 500, "5.5.2 Line too long" },
	[RP_BAD_CHAR] = { 500, "5.5.2 Invalid character in command" },
	[RP_HELO_SYNTAX] = { 501, "5.5.4 Syntax: HELO/EHLO hostname" },
	[RP_MAIL_SYNTAX] = { 501, "5.5.4 Syntax: MAIL FROM:<address>" },
	[RP_RCPT_SYNTAX] = { 501, "5.5.4 Syntax: RCPT TO:<address>" },
	[RP_NO_ARGS] = { 501, "5.5.4 Syntax: this command takes no argument" },
	[RP_VRFY_SYNTAX] = { 501, "5.5.4 Syntax: VRFY address" },
	[RP_PARAM_SYNTAX] = { 501, "5.5.4 Invalid parameter" },
	[RP_BAD_SENDER] = { 501, "5.1.7 Bad sender address syntax" },
	[RP_BAD_RCPT] = { 501, "5.1.3 Bad recipient address syntax" },
	[RP_NOT_IMPL] = { 502, "5.5.1 Command not implemented" },
	[RP_VRFY_OFF] = { 502, "5.5.1 VRFY command is disabled" },
	[RP_NEED_HELO] = { 503, "5.5.1 Send HELO or EHLO first" },
	[RP_NESTED_MAIL] = { 503, "5.5.1 Sender already specified" },
	[RP_NEED_MAIL] = { 503, "5.5.1 Send MAIL first" },
	[RP_NEED_RCPT] = { 503, "5.5.1 No valid recipients" },
	[RP_PARAM_UNKNOWN] = { 555, "5.5.4 Unsupported parameter" },
	[RP_PARAM_NO_EHLO] = { 555, "5.5.4 Parameters need EHLO" },
	[RP_NEED_UTF8] = { 553, "5.6.7 Non-ASCII address needs SMTPUTF8" },
	[RP_NO_USER] = { 550, "5.1.1 Recipient address rejected: user unknown" },
	[RP_RELAY_DENIED] = { 554, "5.7.1 Relay access denied" },
	[RP_TOO_BIG] = { 552, "5.3.4 Message size exceeds fixed limit" },
	[RP_TOO_MANY_RCPT] = { 452, "4.5.3 Too many recipients" },
	[RP_BARE_EOL] = { 550, "5.6.0 Bare CR or LF in message refused: lines must end with CRLF" },
	[RP_LONG_LINE] = { 554, "5.6.0 Message has a line longer than 1000 octets" },
	/* The code sluice-alias bounces loops with (RFC 3463: routing loop). */
	[RP_TOO_MANY_HOPS] = { 554, "5.4.6 Too many Received: fields (mail loop?)" },
	[RP_QUEUE_PERM] = { 554, "5.3.0 Message refused" },
	/* RFC 1985 */
	[RP_ETRN_OK] = { 250, "2.0.0 Queuing started for node" },
	[RP_ETRN_SYNTAX] = { 501, "5.5.4 Syntax: ETRN domain" },
	[RP_ETRN_DENIED] = { 459, "4.7.1 Node not queued for ETRN here:" },
	[RP_ETRN_FAIL] = { 458, "4.3.0 Unable to queue messages for node" },
	[RP_QUEUE_TEMP] = { 451, "4.3.0 Temporary queue failure, try again later" },
	[RP_QUEUE_START] = { 451, "4.3.0 Could not start the queue program" },
	[RP_LOOKUP_FAIL] = { 451, "4.3.0 Temporary lookup failure" },
	[RP_LOCAL_ERROR] = { 451, "4.3.0 Local error, try again later" },
	[RP_TIMEOUT] = { 421, "4.4.2 Timeout, closing connection" },
	[RP_TIME_LIMIT] = { 421, "4.4.2 Time limit exceeded, closing connection" },
	[RP_TOO_MANY_ERRORS] = { 421, "4.7.0 Too many errors, closing connection" },
	[RP_TOO_MANY_CONN] = { 421, "4.7.0 Too many connections from your address, try again later" },
	[RP_UNAVAILABLE] = { 421, "4.3.0 Service not available, try again later" },
	/* Access rules and limits (smtpd_access.c, smtpd_sender.c, smtpd_limits.c). */
	[RP_TOO_MANY_NET_CONN] = { 421, "4.7.0 Too many connections from your network, try again later" },
	[RP_ACCESS_TEMP] = { 421, "4.7.1 Access denied, try again later" },
	[RP_MAIL_DENIED] = { 550, "5.7.1 Mail from your host is not accepted here" },
	[RP_MAIL_DENIED_TEMP] = { 450, "4.7.1 Mail from your host is not accepted now, try again later" },
	/* RFC 7372: 5.7.25, reverse DNS validation failed. */
	[RP_NO_RDNS] = { 550, "5.7.25 Client host rejected: cannot find your reverse hostname" },
	[RP_NO_RDNS_TEMP] = { 450, "4.7.25 Client host rejected: cannot find your reverse hostname" },
	[RP_FCRDNS] = { 550, "5.7.25 Client host rejected: your reverse hostname does not resolve to your address" },
	[RP_FCRDNS_TEMP] = { 450, "4.7.25 Client host rejected: your reverse hostname does not resolve to your address" },
	[RP_RDNS_DNS_TEMP] = { 450, "4.7.25 Client host rejected: reverse DNS lookup failed, try again later" },
	[RP_HELO_MISMATCH] = { 550, "5.7.1 Helo command rejected: the HELO name does not match your address" },
	[RP_HELO_MISMATCH_TEMP] = { 450, "4.7.1 Helo command rejected: the HELO name does not match your address" },
	[RP_HELO_DNS_TEMP] = { 450, "4.7.1 Helo command rejected: DNS lookup failed, try again later" },
	[RP_SENDER_DENIED] = { 553, "5.7.1 Sender address rejected: access denied" },
	[RP_SENDER_DENIED_TEMP] = { 450, "4.7.1 Sender address rejected: not accepted now, try again later" },
	[RP_SENDER_DOMAIN] = { 550, "5.1.8 Sender address rejected: domain has no MX or A record" },
	[RP_SENDER_DOMAIN_TEMP] = { 450, "4.1.8 Sender address rejected: domain has no MX or A record" },
	/* RFC 7505 3.3 */
	[RP_SENDER_NULL_MX] = { 550, "5.7.27 Sender address rejected: domain does not accept mail (null MX)" },
	[RP_SENDER_NULL_MX_TEMP] = { 450, "4.7.27 Sender address rejected: domain does not accept mail (null MX)" },
	[RP_SENDER_DNS_TEMP] = { 451, "4.4.3 Sender address rejected: DNS lookup failed, try again later" },
	[RP_HEADER_SENDER] = { 550, "5.7.1 Message refused: a sender in its header is not accepted" },
	[RP_HEADER_SENDER_TEMP] = { 451, "4.7.1 Message refused: a sender in its header is not accepted now, try again later" },
	[RP_MSG_RATE] = { 450, "4.7.1 Too many messages from your address, slow down and try again later" },
	[RP_RCPT_RATE] = { 450, "4.7.1 Too many recipients from your address, slow down and try again later" },
	[RP_ACCESS_DENIED] = { 554, "5.7.1 Access denied" },
	[RP_NEED_EHLO] = { 503, "5.5.1 Send EHLO first" },
	[RP_IN_TXN] = { 503, "5.5.1 Not allowed during a mail transaction" },
	/* RFC 3207 */
	[RP_TLS_READY] = { 220, "2.0.0 Ready to start TLS" },
	[RP_TLS_ACTIVE] = { 503, "5.5.1 TLS already active" },
	[RP_TLS_UNAVAIL] = { 454, "4.7.0 TLS not available due to temporary reason" },
	/* RFC 4954 */
	[RP_AUTH_OK] = { 235, "2.7.0 Authentication successful" },
	[RP_AUTH_BAD] = { 535, "5.7.8 Authentication credentials invalid" },
	[RP_AUTH_TEMP] = { 454, "4.7.0 Temporary authentication failure" },
	[RP_AUTH_NEED_TLS] = { 538, "5.7.11 Encryption required for requested authentication mechanism" },
	[RP_AUTH_MECH] = { 504, "5.5.4 Unrecognized authentication type" },
	[RP_AUTH_CANCEL] = { 501, "5.0.0 Authentication cancelled" },
	[RP_AUTH_SYNTAX] = { 501, "5.5.2 Cannot decode response" },
	[RP_AUTH_ALREADY] = { 503, "5.5.1 Already authenticated" },
	[RP_AUTH_REQUIRED] = { 530, "5.7.0 Authentication required" },
	[RP_AUTH_TOO_MANY] = { 421, "4.7.0 Too many failed authentication attempts, closing connection" },
	[RP_DAILY_LIMIT] = { 450, "4.7.1 Daily sending limit of this user reached, try again tomorrow" },
};

int
smtpd_reply_code(enum reply_id id)
{
	return replies[id].code;
}

const char *
smtpd_reply_text(enum reply_id id)
{
	return replies[id].text;
}

/* Printable ASCII only, so no client or program text can break a reply. */
static void
put_clean(struct wbuf *w, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i]; i++)
		wbuf_putc(w, (p[i] >= 32 && p[i] < 127) ? p[i] : '?');
}

static void
reply_write(struct session *s, int code, const char *text, const char *extra)
{
	struct wbuf *w = &s->out;

	wbuf_putc(w, (char)('0' + code / 100));
	wbuf_putc(w, (char)('0' + code / 10 % 10));
	wbuf_putc(w, (char)('0' + code % 10));
	wbuf_putc(w, ' ');
	wbuf_puts(w, text);
	if (extra != NULL) {
		if (*text != '\0')
			wbuf_putc(w, ' ');
		put_clean(w, extra, REASON_MAX);
	}
	wbuf_put(w, "\r\n", 2);
}

/* Syntax and sequence errors count toward the session's error limit. */
void
smtpd_reply(struct session *s, enum reply_id id)
{
	int code = replies[id].code;

	reply_write(s, code, replies[id].text, NULL);
	if (code == 500 || code == 501 || code == 503 || code == 555)
		smtpd_session_error(s);
}

void
smtpd_reply_extra(struct session *s, enum reply_id id, const char *extra)
{
	reply_write(s, replies[id].code, replies[id].text, extra);
}

void
smtpd_reply_passed(struct session *s, int code, const char *text)
{
	reply_write(s, code, "", text);
}
