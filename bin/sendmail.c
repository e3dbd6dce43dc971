/*
 * sendmail: the interface every Unix program expects.  It reads a message
 * on standard input, completes its header, and hands it as one stream
 * transaction to the queue program ($SLUICE_QUEUE, default sluice-enqueue)
 * through a pipe.  Called as mailq (or with -bp) it runs mailq(1); -bs
 * speaks SMTP on standard input and output; -q runs the queue once.
 * Exit status follows <sysexits.h>, as callers of sendmail expect; see
 * sendmail(8).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "prog.h"
#include "qid.h"
#include "spool.h"
#include "stream.h"
#include "xtext.h"

#define LINE_MAX_TEXT 998	/* RFC 5322 2.1.1, without the CRLF */
#define RCPT_FIELD_MAX 65536	/* an unfolded To:, Cc: or Bcc: field */
#define UNIT_MAX 1024		/* one address as written in a list */
#define FULLNAME_MAX 256	/* -F */
#define EWORD_OCTETS 36		/* UTF-8 octets in one RFC 2047 encoded-word */
#define EWORD_LINE 76		/* RFC 2047 2: a line holding encoded-words */

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

static const char *qualify;	/* qualify_domain */
static int smtputf8;		/* an address has UTF-8 in it */

static void __attribute__((noreturn))
usage(void)
{
	die(EX_USAGE, "usage: sendmail [-t] [-i] [-f sender] [-F name] "
	    "[-N dsn] [-R ret] [-V envid] [-B type] [-bm|-bs|-bp|-bi] [-q|-qRdomain] "
	    "[-v] [recipient ...]");
}

/* ---- addresses ---------------------------------------------------- */

/*
 * s[0..n) for a message on the terminal: control octets as C escapes
 * (\0, \r, \n, \t, \xHH), so that what cut or broke a line shows.
 */
static const char *
shown(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 32 && c != 127) {
			buf[k++] = (char)c;
			continue;
		}
		buf[k++] = '\\';
		if (c == 0 || c == '\r' || c == '\n' || c == '\t')
			buf[k++] = c == 0 ? '0' : c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		else
			k += (size_t)snprintf(buf + k, size - k, "x%02x", c);
	}
	buf[k] = '\0';
	return buf;
}

/*
 * Parse one address (the text of a path, brackets removed), qualify it,
 * and write it in normal form into out.  Returns 0 or -1 with *why set.
 */
static int
addr_qualify(const char *s, size_t n, unsigned flags, char *out, size_t size,
    const char **why)
{
	struct addr a;
	struct addr_err e;

	if (addr_parse(s, n, flags | ADDR_UNQUAL_OK | ADDR_UTF8, &a, &e) < 0) {
		*why = e.msg;
		return -1;
	}
	if (!a.null && a.domain[0] == '\0') {
		if (strlen(qualify) > ADDR_DOMAIN_MAX) {
			*why = "qualify_domain is too long";
			return -1;
		}
		strcpy(a.domain, qualify);
		addr_lower(a.domain);
	}
	if (addr_format(&a, out, size) >= size) {
		*why = "address too long";
		return -1;
	}
	if (strlen(out) > ADDR_MAILBOX_MAX) {
		*why = "address longer than 254 octets";
		return -1;
	}
	for (; *s && n > 0; s++, n--)
		if ((unsigned char)*s >= 0x80)
			smtputf8 = 1;
	return 0;
}

static int
rcpt_add(struct txn *t, const char *addr, unsigned notify)
{
	struct rcpt *r;
	size_t i;

	/* Like Postfix, a recipient named twice gets one copy. */
	for (i = 0; i < t->nrcpt; i++)
		if (strcmp(t->rcpt[i].addr, addr) == 0)
			return 0;
	if (t->nrcpt == STREAM_RCPT_MAX)
		die(EX_DATAERR, "more than %d recipients", STREAM_RCPT_MAX);
	if ((r = txn_add_rcpt(t, addr)) == NULL)
		die(EX_TEMPFAIL, "out of memory");
	r->notify = notify;
	return 0;
}

struct unit {
	char text[UNIT_MAX];
	size_t len;
	int overflow;
	char angle[UNIT_MAX];
	size_t alen;
	int has_angle, in_angle;
};

static int
unit_end(struct unit *u, struct txn *t, unsigned notify, const char **why)
{
	char out[ADDR_PATH_MAX + 8];
	const char *s = u->has_angle ? u->angle : u->text;
	size_t n = u->has_angle ? u->alen : u->len;
	int rc = 0;

	if (u->in_angle) {
		*why = "unclosed <";
		return -1;
	}
	if (!u->has_angle && u->overflow) {
		*why = "address too long";
		return -1;
	}
	if (n > 0) {
		rc = addr_qualify(s, n, 0, out, sizeof out, why);
		if (rc == 0)
			rcpt_add(t, out, notify);
		else {
			/* Name the address: a header field may hold many. */
			static char msg[UNIT_MAX * 4 + 200];
			char buf[UNIT_MAX * 4 + 8];

			snprintf(msg, sizeof msg, "<%s>: %s",
			    shown(s, n, buf, sizeof buf), *why);
			*why = msg;
		}
	}
	memset(u, 0, sizeof *u);
	return rc;
}

static void
unit_put(struct unit *u, char c)
{
	if (u->in_angle) {
		if (u->alen < UNIT_MAX - 1)
			u->angle[u->alen++] = c;
		else
			u->overflow = 1;
	} else if (u->len < UNIT_MAX - 1) {
		u->text[u->len++] = c;
	} else {
		u->overflow = 1;
	}
}

/*
 * Add each mailbox of an RFC 5322 address list (display names, comments,
 * groups, obsolete white space) to t.  Returns 0 or -1 with *why set.
 */
static int
addrlist_parse(const char *s, size_t n, struct txn *t, unsigned notify,
    const char **why)
{
	struct unit u;
	int comment = 0, quote = 0, bracket = 0;
	size_t i;

	memset(&u, 0, sizeof u);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (comment > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
			continue;
		}
		if (quote) {
			unit_put(&u, c);
			if (c == '\\' && i + 1 < n)
				unit_put(&u, s[++i]);
			else if (c == '"')
				quote = 0;
			continue;
		}
		switch (c) {
		case '"':
			quote = 1;
			unit_put(&u, c);
			break;
		case '(':
			comment = 1;
			break;
		case ' ': case '\t': case '\r': case '\n':
			break;
		case '[':
			bracket = 1;
			unit_put(&u, c);
			break;
		case ']':
			bracket = 0;
			unit_put(&u, c);
			break;
		case '<':
			if (u.in_angle || u.has_angle) {
				*why = "second < in one address";
				return -1;
			}
			u.in_angle = u.has_angle = 1;
			break;
		case '>':
			if (!u.in_angle) {
				*why = "> without <";
				return -1;
			}
			u.in_angle = 0;
			break;
		case ':':
			/* A group's display name, unless part of a route or literal. */
			if (u.in_angle || bracket) {
				unit_put(&u, c);
				break;
			}
			if (u.has_angle) {
				*why = "':' after an address";
				return -1;
			}
			u.len = 0;
			u.overflow = 0;
			break;
		case ',': case ';':
			if (u.in_angle || bracket) {
				unit_put(&u, c);
				break;
			}
			if (unit_end(&u, t, notify, why) < 0)
				return -1;
			break;
		default:
			if (u.has_angle && !u.in_angle) {
				*why = "text after <address>";
				return -1;
			}
			unit_put(&u, c);
		}
	}
	if (comment || quote) {
		*why = comment ? "unclosed comment" : "unclosed quoted string";
		return -1;
	}
	return unit_end(&u, t, notify, why);
}

/* ---- options ------------------------------------------------------ */

static unsigned
parse_notify(const char *s)
{
	unsigned f = 0;
	char buf[64], *w, *save;

	if (strlen(s) >= sizeof buf)
		usage();
	strcpy(buf, s);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(w, "never") == 0)
			f |= NOTIFY_NEVER;
		else if (strcasecmp(w, "success") == 0)
			f |= NOTIFY_SUCCESS;
		else if (strcasecmp(w, "failure") == 0)
			f |= NOTIFY_FAILURE;
		else if (strcasecmp(w, "delay") == 0)
			f |= NOTIFY_DELAY;
		else
			die(EX_USAGE, "-N: unknown notification %s", w);
	}
	if (f == 0 || ((f & NOTIFY_NEVER) && f != NOTIFY_NEVER))
		die(EX_USAGE, "-N: use never, or success, failure, delay");
	return f;
}

static int
sort_key(const char *s, struct opts *o)
{
	if (strcmp(s, "time") == 0)
		o->sort = SORT_TIME;
	else if (strcmp(s, "size") == 0)
		o->sort = SORT_SIZE;
	else if (strcmp(s, "priority") == 0)
		o->sort = SORT_PRIO;
	else
		return -1;
	return 0;
}

static void
set_mode(struct opts *o, const char *m)
{
	if (strcmp(m, "m") == 0)
		o->mode = M_DELIVER;
	else if (strcmp(m, "p") == 0)
		o->mode = M_QUEUE;
	else if (strcmp(m, "s") == 0)
		o->mode = M_SMTP;
	else if (strcmp(m, "i") == 0)
		o->mode = M_ALIASES;
	else if (strcmp(m, "d") == 0 || strcmp(m, "D") == 0)
		die(EX_USAGE, "-b%s: run sluice-smtpd under tcpserver instead, "
		    "see sluice-smtpd(8)", m);
	else
		die(EX_USAGE, "-b%s: unsupported mode", m);
}

/*
 * The options of Sendmail and Postfix.  Those that make no sense here are
 * accepted and ignored, so that no caller breaks; see sendmail(8).
 */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	const char *base = strrchr(argv[0], '/');
	int c;

	base = base ? base + 1 : argv[0];
	memset(o, 0, sizeof *o);
	o->dot_ends = 1;
	o->fullname = getenv("NAME");
	if (strcmp(base, "mailq") == 0)
		o->mode = M_QUEUE;
	else if (strcmp(base, "newaliases") == 0)
		o->mode = M_ALIASES;
	opterr = 0;
	while ((c = getopt(argc, argv,
	    "+A:B:C:F:GIL:N:O:R:S:UV:X:b:e:f:h:imno:p:q::r:tvx")) != -1) {
		switch (c) {
		case 'B':
			if (strcasecmp(optarg, "8BITMIME") == 0)
				o->body = BODY_8BITMIME;
			else if (strcasecmp(optarg, "7BIT") == 0)
				o->body = BODY_7BIT;
			else
				die(EX_USAGE, "-B: use 7BIT or 8BITMIME");
			break;
		case 'C':
			/* The configuration folder, as with Postfix's -C. */
			if (setenv("SLUICE_CONF", optarg, 1) < 0)
				die(EX_TEMPFAIL, "out of memory");
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'I':
			o->mode = M_ALIASES;
			break;
		case 'N':
			o->notify = parse_notify(optarg);
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				o->ret = RET_FULL;
			else if (strcasecmp(optarg, "hdrs") == 0)
				o->ret = RET_HDRS;
			else
				die(EX_USAGE, "-R: use full or hdrs");
			break;
		case 'S':
			if (sort_key(optarg, o) < 0)
				die(EX_USAGE, "-S: use time, size or priority");
			break;
		case 'V':
			o->envid = optarg;
			break;
		case 'b':
			set_mode(o, optarg);
			break;
		case 'f': case 'r':
			o->sender = optarg;
			break;
		case 'i':
			o->dot_ends = 0;
			break;
		case 'o':
			/* -oi is -i; "-o size" sorts mailq; other -oX are ignored. */
			if (strcmp(optarg, "i") == 0)
				o->dot_ends = 0;
			else
				(void)sort_key(optarg, o);
			break;
		case 'q':
			/*
			 * -qRdomain flushes one destination, as sendmail's
			 * -qRsubstr and Postfix's -qRsite do; -q15m (an
			 * interval) runs the queue once.
			 */
			o->mode = M_RUNQ;
			if (optarg != NULL && (*optarg == 'R' || *optarg == 'r')) {
				o->flush = optarg + 1;
				if (*o->flush == '\0' && optind < argc)
					o->flush = argv[optind++];
				if (*o->flush == '\0')
					die(EX_USAGE, "-qR needs a domain");
			} else if (optarg != NULL && !isdigit((unsigned char)*optarg))
				die(EX_USAGE, "-q%s: unsupported; use -q or -qRdomain",
				    optarg);
			break;
		case 't':
			o->extract = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'A': case 'G': case 'L': case 'O': case 'U': case 'X':
		case 'e': case 'h': case 'm': case 'n': case 'p': case 'x':
			break;
		default:
			if (optopt && strchr("ABCFLNORSVXbefhopr", optopt))
				die(EX_USAGE, "-%c needs an argument", optopt);
			die(EX_USAGE, "unknown option -%c; see sendmail(8)",
			    optopt ? optopt : '?');
		}
	}
	return optind;
}

/* ---- reading the message ------------------------------------------ */

enum field { F_OTHER, F_RCPT, F_RESENT_RCPT, F_BCC, F_RESENT_BCC };

struct msg {
	const struct opts *o;
	struct rbuf in;
	unsigned long lineno;
	unsigned long long size, limit;
	const char *rest;	/* the input line's text after a bare CR, or NULL */
	size_t restlen;
	int ended;		/* the lone "." or end of input was seen */
	int first;
	/* header state */
	enum field cur;		/* the field being read, for continuations */
	char *rcptbuf;		/* its unfolded value, when it names recipients */
	size_t rcptlen;
	int have_from, have_date, have_msgid;
	int resent;		/* any Resent- field: a resent message */
	int have_rfrom, have_rdate, have_rmsgid;
	int have_resent;	/* a Resent-To/Cc/Bcc field, under -t */
	struct txn hdr_rcpt, resent_rcpt;
};

/*
 * The next input line up to its LF, which and every CR before it are
 * removed; 0 at EOF.  It may be longer than a line of the message, which
 * its bare CRs cut (msg_line checks each), up to the buffer's size: text
 * with CR line ends only is taken up to 64 KB.
 */
static int
msg_rawline(struct msg *m, const char **line, size_t *len)
{
	const char *l;
	size_t n;
	int rc;

	rc = rbuf_getline(&m->in, &l, &n, BUF_SIZE);
	if (rc == -1) {
		errno = m->in.err;
		die(EX_TEMPFAIL, "unable to read the message: %s", strerror(errno));
	}
	m->lineno++;
	if (rc == -2)
		die(EX_DATAERR, "line %lu is longer than %d octets (RFC 5322 2.1.1)%s",
		    m->lineno, LINE_MAX_TEXT, memchr(l, '\r', n) ?
		    ", and no LF within 64 KB" : "");
	if (rc == 0) {
		m->ended = 1;
		return 0;
	}
	if (n > 0 && l[n - 1] == '\n')
		n--;
	while (n > 0 && l[n - 1] == '\r')
		n--;
	*line = l;
	*len = n;
	return 1;
}

/*
 * Next input line, without its line end, LF or CRLF.  The CRs just before
 * an LF are part of the line end.  Any other CR ends a line too (old Mac
 * text; "x\r.\rMAIL FROM:" smuggles commands past servers that disagree
 * about it), so that no bare CR goes into the queue and no text is lost:
 * the text after it is a line of its own, dot-stuffed by the stream writer
 * like any other, and never the lone "." that ends the input.  Returns 1,
 * or 0 at the end of the message (end of input, or a lone "." unless -i).
 */
static int
msg_line(struct msg *m, const char **line, size_t *len)
{
	const char *l, *cr;
	size_t n;
	int whole = 0;

	if (m->ended)
		return 0;
	if (m->rest == NULL) {
		if (msg_rawline(m, &l, &n) == 0)
			return 0;
		whole = 1;
	} else {
		l = m->rest;
		n = m->restlen;
	}
	m->rest = NULL;
	if ((cr = memchr(l, '\r', n)) != NULL) {
		m->rest = cr + 1;
		m->restlen = n - (size_t)(cr + 1 - l);
		n = (size_t)(cr - l);
		whole = 0;
	}
	if (n > LINE_MAX_TEXT)
		die(EX_DATAERR, "line %lu is longer than %d octets (RFC 5322 2.1.1)",
		    m->lineno, LINE_MAX_TEXT);
	if (whole && m->o->dot_ends && n == 1 && l[0] == '.') {
		m->ended = 1;
		return 0;
	}
	m->size += n + 2;
	if (m->size > m->limit)
		die(EX_DATAERR, "message larger than %llu octets "
		    "(message_size_limit)", m->limit);
	*line = l;
	*len = n;
	return 1;
}

/* Length of the field name if line starts a header field, else 0. */
static size_t
field_name(const char *l, size_t n)
{
	size_t i = 0, k;

	while (i < n && l[i] > ' ' && l[i] < 127 && l[i] != ':')
		i++;
	if (i == 0)
		return 0;
	k = i;
	while (k < n && (l[k] == ' ' || l[k] == '\t'))
		k++;
	return (k < n && l[k] == ':') ? i : 0;
}

static int
name_is(const char *l, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(l, name, n) == 0;
}

static enum field
field_kind(struct msg *m, const char *l, size_t n)
{
	if (n > 7 && strncasecmp(l, "Resent-", 7) == 0)
		m->resent = 1;
	if (name_is(l, n, "Resent-From"))
		m->have_rfrom = 1;
	else if (name_is(l, n, "Resent-Date"))
		m->have_rdate = 1;
	else if (name_is(l, n, "Resent-Message-ID"))
		m->have_rmsgid = 1;
	else if (name_is(l, n, "From"))
		m->have_from = 1;
	else if (name_is(l, n, "Date"))
		m->have_date = 1;
	else if (name_is(l, n, "Message-ID"))
		m->have_msgid = 1;
	else if (name_is(l, n, "Bcc"))
		return F_BCC;
	else if (name_is(l, n, "Resent-Bcc"))
		return F_RESENT_BCC;
	else if (name_is(l, n, "To") || name_is(l, n, "Cc"))
		return F_RCPT;
	else if (name_is(l, n, "Resent-To") || name_is(l, n, "Resent-Cc"))
		return F_RESENT_RCPT;
	return F_OTHER;
}

static void
rcptbuf_add(struct msg *m, const char *s, size_t n)
{
	if (!m->o->extract)
		return;
	if (m->rcptlen + n + 1 > RCPT_FIELD_MAX)
		die(EX_DATAERR, "line %lu: a recipient field longer than %d octets",
		    m->lineno, RCPT_FIELD_MAX);
	memcpy(m->rcptbuf + m->rcptlen, s, n);
	m->rcptlen += n;
	m->rcptbuf[m->rcptlen++] = ' ';
}

/* The field just read is complete: take its recipients under -t. */
static void
field_done(struct msg *m)
{
	const char *why;
	struct txn *t;

	if (m->cur == F_OTHER || !m->o->extract) {
		m->rcptlen = 0;
		m->cur = F_OTHER;
		return;
	}
	t = (m->cur == F_RCPT || m->cur == F_BCC) ? &m->hdr_rcpt : &m->resent_rcpt;
	if (t == &m->resent_rcpt)
		m->have_resent = 1;
	if (addrlist_parse(m->rcptbuf, m->rcptlen, t, m->o->notify, &why) < 0)
		die(EX_DATAERR, "header ending at line %lu: bad address: %s",
		    m->lineno, why);
	m->rcptlen = 0;
	m->cur = F_OTHER;
}

typedef void (*emit_fn)(void *ctx, const char *s, size_t n);

static size_t
base64(const unsigned char *s, size_t n, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, k = 0;

	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[k] = '\0';
	return k;
}

/*
 * "field: name <addr>" with the name as RFC 2047 encoded-words: a quoted
 * string may not hold 8-bit octets (RFC 5322 3.2.4), and an encoded-word
 * may not be quoted (RFC 2047 5).  Each word holds whole UTF-8 characters,
 * and every line stays within the 76 columns RFC 2047 allows.
 */
static void
emit_from_encoded(const char *field, const char *name, size_t len,
    const char *addr, emit_fn emit, void *ctx)
{
	char buf[1200], word[100];
	size_t i = 0, k, take;

	k = (size_t)snprintf(buf, sizeof buf, "%s:", field);
	while (i < len) {
		take = len - i < EWORD_OCTETS ? len - i : EWORD_OCTETS;
		while (i + take < len && ((unsigned char)name[i + take] & 0xc0) == 0x80)
			take--;
		base64((const unsigned char *)name + i, take, word);
		if (i > 0) {
			emit(ctx, buf, k);
			k = 0;
		}
		k += (size_t)snprintf(buf + k, sizeof buf - k, " =?UTF-8?B?%s?=", word);
		i += take;
	}
	if (k + 3 + strlen(addr) > EWORD_LINE) {
		emit(ctx, buf, k);
		k = 0;
	}
	k += (size_t)snprintf(buf + k, sizeof buf - k, " <%s>", addr);
	emit(ctx, buf, k);
}

/*
 * The added From: or Resent-From: field: the sender, with the -F name as
 * its display name.  An ASCII name is a quoted string (RFC 5322 3.2.4),
 * whatever specials it has; a UTF-8 one is encoded; a name with 8-bit
 * octets that are not UTF-8 names no charset and is left out.
 */
static void
emit_from(const char *field, const char *fullname, const char *sender,
    emit_fn emit, void *ctx)
{
	char buf[1200], name[FULLNAME_MAX + 1], addr[ADDR_PATH_MAX + 8];
	size_t i, k = 0, n;
	int eight = 0;

	snprintf(addr, sizeof addr, "%s%s%s", *sender ? sender : "MAILER-DAEMON",
	    *sender ? "" : "@", *sender ? "" : qualify);
	/* Control characters have no place in a phrase, quoted or not. */
	if (fullname != NULL && strlen(fullname) <= FULLNAME_MAX)
		for (i = 0; fullname[i]; i++) {
			unsigned char c = (unsigned char)fullname[i];

			if (c < ' ' || c == 127)
				continue;
			eight |= c >= 0x80;
			name[k++] = (char)c;
		}
	name[k] = '\0';
	if (eight && !utf8_valid(name, k))
		k = 0;
	if (k == 0) {
		n = (size_t)snprintf(buf, sizeof buf, "%s: %s", field, addr);
		emit(ctx, buf, n);
		return;
	}
	if (eight) {
		emit_from_encoded(field, name, k, addr, emit, ctx);
		return;
	}
	n = (size_t)snprintf(buf, sizeof buf, "%s: \"", field);
	for (i = 0; i < k; i++) {
		if (name[i] == '"' || name[i] == '\\')
			buf[n++] = '\\';
		buf[n++] = name[i];
	}
	n += (size_t)snprintf(buf + n, sizeof buf - n, "\" <%s>", addr);
	emit(ctx, buf, n);
}

/*
 * The fields RFC 5322 3.6 requires, when missing.  A resent message (one
 * with Resent- fields) gets its own Resent-From:, Resent-Date: and
 * Resent-Message-ID: instead (3.6.6), as with Postfix: its From:, Date:
 * and Message-ID: are the original's and stay as they are.
 */
static void
emit_added(struct msg *m, const char *qid, const char *from, emit_fn emit,
    void *ctx)
{
	const char *pre = m->resent ? "Resent-" : "";
	char buf[1200], date[64];
	time_t now = time(NULL);
	int n;

	if (!(m->resent ? m->have_rfrom : m->have_from)) {
		snprintf(buf, sizeof buf, "%sFrom", pre);
		emit_from(buf, m->o->fullname, from, emit, ctx);
	}
	if (!(m->resent ? m->have_rdate : m->have_date)) {
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z",
		    localtime(&now));
		n = snprintf(buf, sizeof buf, "%sDate: %s", pre, date);
		emit(ctx, buf, (size_t)n);
	}
	if (!(m->resent ? m->have_rmsgid : m->have_msgid)) {
		n = snprintf(buf, sizeof buf, "%sMessage-ID: <%s@%s>", pre, qid,
		    conf_hostname());
		emit(ctx, buf, (size_t)n);
	}
}

static int
word_end(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '<' || c == '>' ||
	    c == ';';
}

/*
 * A NUL has no place in a header field (RFC 5322 2.2), and readers of a
 * field's text would take it as its end: refuse the message, naming the
 * word (the address, in a To: field) that holds it.
 */
static void
header_nul(const struct msg *m, const char *l, size_t n)
{
	const char *z = memchr(l, '\0', n);
	char buf[LINE_MAX_TEXT * 4 + 8];
	size_t a, b;

	if (z == NULL)
		return;
	for (a = (size_t)(z - l); a > 0 && !word_end(l[a - 1]); a--)
		;
	for (b = (size_t)(z - l) + 1; b < n && !word_end(l[b]); b++)
		;
	die(EX_DATAERR, "line %lu: NUL octet in the header, in %s", m->lineno,
	    shown(l + a, b - a, buf, sizeof buf));
}

/*
 * Read the header block, passing each line to emit, without Bcc: fields
 * and with Date:, From: and Message-ID: added when missing.  Returns 1 if
 * a body follows (its separating empty line already emitted), 0 if the
 * message ended within the header.  *pending gets a first body line that
 * was not separated from the header by an empty line.
 */
static int
read_header(struct msg *m, const char *qid, const char *from, emit_fn emit,
    void *ctx, const char **pending, size_t *plen)
{
	const char *l;
	size_t n, k;
	int skip = 0, field_seen = 0;

	*pending = NULL;
	while (msg_line(m, &l, &n) == 1) {
		/* An mbox "From " line before the header is dropped, as Postfix does. */
		if (m->first && n >= 5 && memcmp(l, "From ", 5) == 0) {
			m->first = 0;
			continue;
		}
		/* A continuation needs a field before it, not just a From_ line. */
		if (field_seen && n > 0 && (l[0] == ' ' || l[0] == '\t')) {
			header_nul(m, l, n);
			if (m->cur != F_OTHER)
				rcptbuf_add(m, l, n);
			if (!skip)
				emit(ctx, l, n);
			continue;
		}
		m->first = 0;
		field_seen = 1;
		field_done(m);
		if ((k = field_name(l, n)) == 0) {
			emit_added(m, qid, from, emit, ctx);
			emit(ctx, "", 0);
			if (n == 0)
				return 1;
			*pending = l;
			*plen = n;
			return 1;
		}
		header_nul(m, l, n);
		m->cur = field_kind(m, l, k);
		if (m->cur != F_OTHER) {
			const char *c = memchr(l, ':', n);

			rcptbuf_add(m, c + 1, n - (size_t)(c + 1 - l));
		}
		/* Bcc: is for the envelope only: like Postfix, never sent on. */
		skip = (m->cur == F_BCC || m->cur == F_RESENT_BCC);
		if (!skip)
			emit(ctx, l, n);
	}
	field_done(m);
	emit_added(m, qid, from, emit, ctx);
	return 0;
}

/* ---- writing the stream ------------------------------------------- */

struct queue {
	pid_t pid;
	struct stream_writer w;
	int fd;
	int broken;	/* the queue program stopped reading */
};

static void
queue_start(struct queue *q)
{
	const char *name = getenv("SLUICE_QUEUE");
	char *argv[2];
	int p[2];

	if (name == NULL || *name == '\0')
		name = "sluice-enqueue";
	argv[0] = (char *)name;
	argv[1] = NULL;
	if (pipe(p) < 0)
		die(EX_TEMPFAIL, "unable to make a pipe: %s", strerror(errno));
	q->pid = fork();
	if (q->pid < 0)
		die(EX_TEMPFAIL, "unable to fork: %s", strerror(errno));
	if (q->pid == 0) {
		if (dup2(p[0], 0) < 0)
			die(EX_TEMPFAIL, "unable to dup: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		signal(SIGPIPE, SIG_DFL);
		prog_exec(argv);
		die(EXIT_TEMP, "unable to run %s: %s", name, strerror(errno));
	}
	close(p[0]);
	q->fd = p[1];
	if (stream_writer_init(&q->w, q->fd, 0) < 0)
		die(EX_TEMPFAIL, "out of memory");
}

/* The queue program's verdict, as a sysexits code. */
static int
queue_finish(struct queue *q, int complete)
{
	int st;

	if (complete && (stream_flush(&q->w) < 0))
		complete = 0;
	close(q->fd);
	st = prog_wait(q->pid);
	if (st == 0 && complete)
		return EX_OK;
	if (st == EXIT_PERM)
		return EX_UNAVAILABLE;
	return EX_TEMPFAIL;
}

static void
emit_stream(void *ctx, const char *s, size_t n)
{
	struct queue *q = ctx;

	if (!q->broken && stream_write_line(&q->w, s, n) < 0)
		q->broken = 1;
}

static void
emit_file(void *ctx, const char *s, size_t n)
{
	struct wbuf *w = ctx;

	if (wbuf_put(w, s, n) < 0 || wbuf_putc(w, '\n') < 0)
		die(EX_TEMPFAIL, "unable to write a temporary file: %s",
		    strerror(w->err));
}

static int
spool_tmp(void)
{
	const char *dir = spool_tmpdir();
	int fd = spool_tmpfile(dir);

	if (fd < 0)
		die(EX_TEMPFAIL, "unable to create a file in %s: %s", dir,
		    strerror(errno));
	return fd;
}

static void
login_sender(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	const char *name = pw ? pw->pw_name : getenv("USER");
	const char *why;

	if (name == NULL || *name == '\0')
		die(EX_TEMPFAIL, "unable to find the login name of uid %ld",
		    (long)getuid());
	if (addr_qualify(name, strlen(name), 0, out, size, &why) < 0)
		die(EX_DATAERR, "login name %s is not a valid address: %s; use -f",
		    name, why);
}

static void
set_sender(const struct opts *o, char *from, size_t size)
{
	const char *s = o->sender, *why;
	size_t n;

	if (s == NULL) {
		login_sender(from, size);
		return;
	}
	n = strlen(s);
	/* -f "<alice@example.org>" and -f "<>" are common; take the brackets off. */
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n == 0) {
		from[0] = '\0';
		return;
	}
	if (addr_qualify(s, n, 0, from, size, &why) < 0)
		die(EX_DATAERR, "-f %s: %s", o->sender, why);
}

static int
deliver(const struct opts *o, int argc, char **argv)
{
	static struct msg m;
	struct queue q;
	struct txn t;
	struct rbuf tr;
	struct wbuf tw;
	char qid[QID_LEN + 1], from[ADDR_PATH_MAX + 8], envid[STREAM_ENVID_MAX * 3 + 1];
	char recv[1200], date[64];
	const char *why, *pending = NULL, *l;
	size_t plen = 0, n, i;
	int body = 0, tfd = -1, rc, st;
	time_t now = time(NULL);

	qualify = conf_get("qualify_domain", conf_hostname());
	txn_init(&t);
	set_sender(o, from, sizeof from);
	if (txn_set_from(&t, from) < 0)
		die(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < (size_t)argc; i++)
		if (addrlist_parse(argv[i], strlen(argv[i]), &t, o->notify, &why) < 0)
			die(EX_DATAERR, "recipient %s: %s", argv[i], why);
	if (t.nrcpt == 0 && !o->extract)
		die(EX_USAGE, "no recipients: name them, or use -t to take them "
		    "from the header");
	if (o->envid) {
		if (strlen(o->envid) > STREAM_ENVID_MAX)
			die(EX_USAGE, "-V: longer than %d octets", STREAM_ENVID_MAX);
		if (xtext_encode(o->envid, strlen(o->envid), envid, sizeof envid) < 0)
			die(EX_USAGE, "-V: cannot be encoded");
		if ((t.envid = strdup(envid)) == NULL)
			die(EX_TEMPFAIL, "out of memory");
	}
	t.body = o->body;
	t.ret = o->ret;
	qid_make(qid);
	if (txn_set_xf(&t, XF_IDENT, qid) < 0 || txn_set_xf(&t, XF_PROTO, "LOCAL") < 0 ||
	    txn_set_xf(&t, XF_SOURCE, "LOCAL") < 0)
		die(EX_TEMPFAIL, "out of memory");

	m.o = o;
	m.first = 1;
	m.limit = (unsigned long long)conf_size("message_size_limit", 35LL << 20);
	txn_init(&m.hdr_rcpt);
	txn_init(&m.resent_rcpt);
	if (rbuf_init(&m.in, 0, BUF_SIZE) < 0 ||
	    (m.rcptbuf = malloc(RCPT_FIELD_MAX)) == NULL)
		die(EX_TEMPFAIL, "out of memory");

	/* Where this message entered, like Postfix's pickup: by whom, when. */
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", localtime(&now));
	snprintf(recv, sizeof recv, "Received: by %s (sluice sendmail, from userid %ld)",
	    conf_hostname(), (long)getuid());

	if (o->extract) {
		/*
		 * The recipients come before the message in the stream, so with
		 * -t the header is read first, into a temporary file.
		 */
		tfd = spool_tmp();
		if (wbuf_init(&tw, tfd, BUF_SIZE) < 0)
			die(EX_TEMPFAIL, "out of memory");
		emit_file(&tw, recv, strlen(recv));
		wbuf_printf(&tw, "\tid %s; %s\n", qid, date);
		body = read_header(&m, qid, from, emit_file, &tw, &pending, &plen);
		if (pending) {
			emit_file(&tw, pending, plen);
			pending = NULL;
		}
		if (wbuf_flush(&tw) < 0 || lseek(tfd, 0, SEEK_SET) < 0)
			die(EX_TEMPFAIL, "unable to write a temporary file: %s",
			    strerror(errno));
		wbuf_free(&tw);
		for (i = 0; i < (m.have_resent ? m.resent_rcpt : m.hdr_rcpt).nrcpt; i++)
			rcpt_add(&t, (m.have_resent ? m.resent_rcpt :
			    m.hdr_rcpt).rcpt[i].addr, o->notify);
		if (t.nrcpt == 0)
			die(EX_USAGE, "no recipients in the header (-t) nor on "
			    "the command line");
	}
	t.smtputf8 = smtputf8;

	signal(SIGPIPE, SIG_IGN);
	memset(&q, 0, sizeof q);
	queue_start(&q);
	if (stream_write_head(&q.w, &t) < 0)
		q.broken = 1;
	if (o->extract) {
		if (rbuf_init(&tr, tfd, BUF_SIZE) < 0)
			die(EX_TEMPFAIL, "out of memory");
		while ((rc = rbuf_getline(&tr, &l, &n, BUF_SIZE)) == 1) {
			if (n > 0 && l[n - 1] == '\n')
				n--;
			emit_stream(&q, l, n);
		}
		if (rc < 0)
			die(EX_TEMPFAIL, "unable to read a temporary file");
		rbuf_free(&tr);
		close(tfd);
	} else {
		emit_stream(&q, recv, strlen(recv));
		snprintf(recv, sizeof recv, "\tid %s; %s", qid, date);
		emit_stream(&q, recv, strlen(recv));
		body = read_header(&m, qid, from, emit_stream, &q, &pending, &plen);
		if (pending)
			emit_stream(&q, pending, plen);
	}
	if (body)
		while (msg_line(&m, &l, &n) == 1)
			emit_stream(&q, l, n);
	if (!q.broken && stream_write_end(&q.w) < 0)
		q.broken = 1;
	st = queue_finish(&q, !q.broken);
	if (o->verbose || st != EX_OK)
		log_info("qid=%s from=<%s> nrcpt=%zu size=%llu status=%s", qid, from,
		    t.nrcpt, m.size, st == EX_OK ? "queued" : "failed");
	return st;
}

/* ---- other modes -------------------------------------------------- */

static void __attribute__((noreturn))
run(char *const argv[])
{
	prog_exec(argv);
	die(EX_UNAVAILABLE, "unable to run %s: %s", argv[0], strerror(errno));
}

int
main(int argc, char **argv)
{
	struct opts o;
	int i;

	log_init("sendmail");
	/*
	 * A caller that ignores SIGCHLD (swaks --pipe does) would have the
	 * queue program reaped behind our back, and its status lost; the
	 * setting is inherited across exec, so it is reset for -bs as well.
	 */
	signal(SIGCHLD, SIG_DFL);
	i = parse_opts(argc, argv, &o);
	switch (o.mode) {
	case M_QUEUE: {
		/* mailq is a program of its own, installed beside sendmail. */
		char self[4096];
		char *av[] = { "mailq", "-S", o.sort == SORT_SIZE ? "size" :
		    o.sort == SORT_PRIO ? "priority" : "time", NULL };

		switch (prog_sibling("mailq", self, sizeof self)) {
		case 0:
			av[0] = self;
			break;
		case -2:
			die(EX_SOFTWARE, "%s is a link to sendmail, as before "
			    "mailq was a program of its own: install it again", self);
		}
		run(av);
	}
	case M_SMTP: {
		/* A local user is trusted as a relay client, as with Postfix. */
		char *av[] = { "sluice-smtpd", NULL };

		if (setenv("RELAYCLIENT", "", 1) < 0)
			die(EX_TEMPFAIL, "out of memory");
		run(av);
	}
	case M_RUNQ: {
		char *av[] = { "sluice-runq", "-1", NULL, NULL, NULL };

		if (o.flush != NULL) {
			av[2] = "-D";
			av[3] = o.flush;
		}
		run(av);
	}
	case M_ALIASES: {
		char src[4096], dst[4200];
		char *av[] = { "sluice-mkcdb", "-o", dst, src, NULL };

		char self[4096], *slash;
		ssize_t n;

		snprintf(src, sizeof src, "%s/aliases", conf_dir());
		snprintf(dst, sizeof dst, "%s.cdb", src);
		/* sluice-mkcdb is installed next to sendmail, maybe not on PATH. */
		n = readlink("/proc/self/exe", self, sizeof self - 16);
		if (n > 0) {
			self[n] = '\0';
			if ((slash = strrchr(self, '/')) != NULL) {
				strcpy(slash + 1, "sluice-mkcdb");
				if (access(self, X_OK) == 0)
					av[0] = self;
			}
		}
		run(av);
	}
	case M_DELIVER:
		break;
	}
	return deliver(&o, argc - i, argv + i);
}
