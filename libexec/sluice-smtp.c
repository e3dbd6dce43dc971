/*
 * sluice-smtp: deliver the recipients routed to "smtp" to other mail
 * servers over SMTP, and pass everything else through.  See sluice-smtp(8).
 *
 * The parent reads the whole input, spooling each body once in wire form
 * (CRLF, dot-stuffed) to one unlinked file, and groups the recipients by
 * destination.  One worker process per destination (more when the
 * destination allows several connections) resolves it, connects and
 * delivers its messages over reused connections, and reports each
 * recipient's outcome on a pipe.  A slow destination so only holds up its
 * own worker.  At the end the parent writes what is left: deferred
 * recipients with X-DEFER, bounces and success notices (lib/dsn).
 *
 * A chain run by sluice-runq lasts as long as its slowest worker, so a
 * destination found unreachable is remembered in the spool for a while
 * (spool/unreachable/), and later runs defer its recipients at once.
 */
#include "addr.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "delivered.h"
#include "dest.h"
#include "dns.h"
#include "dsn.h"
#include "fsutil.h"
#include "log.h"
#include "prog.h"
#include "qid.h"
#include "spool.h"
#include "stream.h"
#include "table.h"
#include "text.h"
#include "tls.h"
#include "xtext.h"
#include "usage.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 2048		/* one reply line we accept */
#define TEXT_MAX 600		/* reply text kept for logs and DSNs */
#define TARGET_MAX 12		/* addresses tried per destination */
#define HOSTS_VAL_MAX 1024	/* a smtp_hosts or smtp_auth value */

/*
 * snprintf for messages that may be cut: a reply or a host name is
 * allowed to be shortened in a log line or a DSN.
 */
static void fmt(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	(void)vsnprintf(buf, size, f, ap);
	va_end(ap);
}

/* ---- settings ---------------------------------------------------------- */

enum phase { PH_CONNECT, PH_HELO, PH_MAIL, PH_RCPT, PH_DATA_INIT,
	PH_DATA_BLOCK, PH_DATA_DONE, PH_QUIT, PH_COUNT };
static const char *const phase_key[PH_COUNT] = {
	"smtp_connect_timeout", "smtp_helo_timeout", "smtp_mail_timeout",
	"smtp_rcpt_timeout", "smtp_data_init_timeout", "smtp_data_block_timeout",
	"smtp_data_done_timeout", "smtp_quit_timeout",
};
/* RFC 5321 4.5.3.2; connect as Postfix's smtp_connect_timeout. */
static const long long phase_def[PH_COUNT] = { 30, 300, 300, 300, 120, 180,
	600, 300 };
static const char *const phase_words[PH_COUNT] = {
	"connecting", "greeting or EHLO", "MAIL FROM", "RCPT TO", "DATA",
	"the message body", "end of data", "QUIT",
};

static struct {
	int timeout_ms[PH_COUNT];
	unsigned port;
	long concurrency, dest_concurrency, reuse, per_conn;
	int hosts_first;
	int data554_temp;
	long long unreach_ttl;	/* seconds; 0: no memory of dead destinations */
	const char *relay, *relay_backup, *tls_ca, *tls_level, *helo;
} cf;

static void
settings(void)
{
	long long v;
	int i;

	for (i = 0; i < PH_COUNT; i++) {
		v = conf_time(phase_key[i], phase_def[i]);
		if (v <= 0 || v > 86400)
			v = phase_def[i];
		cf.timeout_ms[i] = (int)(v * 1000);
	}
	v = conf_num("smtp_port", 25);
	cf.port = v > 0 && v < 65536 ? (unsigned)v : 25;
	v = conf_num("smtp_concurrency", 20);
	cf.concurrency = v > 0 && v <= 1000 ? (long)v : 20;
	v = conf_num("smtp_destination_concurrency", 4);
	cf.dest_concurrency = v > 0 && v <= 1000 ? (long)v : 4;
	v = conf_num("smtp_messages_per_connection", 5);
	cf.per_conn = v > 0 && v <= 1000000 ? (long)v : 5;
	v = conf_num("smtp_reuse_max", 100);
	cf.reuse = v > 0 && v <= 1000000 ? (long)v : 100;
	cf.hosts_first = strcasecmp(conf_get("smtp_hosts_order", "last"),
	    "first") == 0;
	cf.data554_temp = strcasecmp(conf_get("smtp_554_data_temporary", "yes"),
	    "yes") == 0;
	cf.relay = conf_get("relayhost", "");
	cf.relay_backup = conf_get("relayhost_backup", "");
	cf.tls_ca = conf_get("smtp_tls_ca", "");
	cf.tls_level = conf_get("smtp_tls_level", "may");
	cf.helo = conf_hostname();
	v = conf_time("smtp_unreachable_ttl", 60);
	cf.unreach_ttl = v <= 86400 ? v : 60;
}

/* ---- the messages ------------------------------------------------------ */

enum rstat { R_NONE = 0, R_PENDING, R_SENT, R_DEFERRED, R_BOUNCED };

struct rstate {
	int dest;		/* index into dests, -1: not ours */
	enum rstat st;
	int dsn_passed;		/* the remote took NOTIFY: no success notice */
	char status[16];	/* "4.4.1" */
	char *text;		/* reply or reason */
	char *mta;		/* Remote-MTA, or NULL */
};

struct msg {
	struct txn t;
	off_t off;		/* wire body in the spool file */
	unsigned long long len;
	int eight;		/* body has 8-bit octets or BODY=8BITMIME */
	struct rstate *rs;
};

static struct msg *msgs;
static size_t nmsgs, amsgs;
static int spool_fd = -1;
static struct timeval t_start;

/* ---- destinations ------------------------------------------------------ */

struct dest {
	char key[300];		/* "example.org" or "[host]:port" */
	char host[256];		/* domain or host, no brackets */
	int mx;			/* look up MX of host */
	unsigned port;		/* 0: smtp_port */
	int relay;		/* relayhost: also try relayhost_backup */
	struct dest_opts o;
	size_t *m;		/* message indices */
	size_t nm, am;
	size_t nworkers, started;
};

static struct dest *dests;
static size_t ndests, adests;
static size_t *dhash;		/* open addressing: index + 1 */
static size_t dhsize;

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die_nomem();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die_nomem();
	return p;
}

static size_t
hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void
dhash_grow(void)
{
	size_t i, j;

	free(dhash);
	dhsize = dhsize ? dhsize * 2 : 256;
	dhash = calloc(dhsize, sizeof *dhash);
	if (dhash == NULL)
		die_nomem();
	for (i = 0; i < ndests; i++) {
		for (j = hash(dests[i].key) & (dhsize - 1); dhash[j];
		    j = (j + 1) & (dhsize - 1))
			;
		dhash[j] = i + 1;
	}
}

/*
 * Parse a nexthop in the route's form: "" (the recipient's MX), "host"
 * or "host:port" (MX of host), "[host]" or "[host]:port" (no MX lookup).
 */
static int
nexthop_parse(const char *s, const char *domain, struct dest *d)
{
	const char *e, *colon;
	size_t n;

	memset(d, 0, sizeof *d);
	if (*s == '\0') {
		if (*domain == '[') {	/* an address literal: no MX */
			s = domain;
		} else {
			d->mx = 1;
			if (strlen(domain) >= sizeof d->host)
				return -1;
			strcpy(d->host, domain);
			snprintf(d->key, sizeof d->key, "%s", domain);
			return 0;
		}
	}
	if (*s == '[') {
		if ((e = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(e - s - 1);
		colon = e[1] == ':' ? e + 1 : NULL;
		if (e[1] != '\0' && colon == NULL)
			return -1;
		s++;
		if (strncasecmp(s, "ipv6:", 5) == 0) {
			s += 5;
			n -= 5;
		}
	} else {
		d->mx = 1;
		colon = strrchr(s, ':');
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= sizeof d->host)
		return -1;
	memcpy(d->host, s, n);
	d->host[n] = '\0';
	addr_lower(d->host);
	if (colon != NULL) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (*end != '\0' || p <= 0 || p > 65535)
			return -1;
		d->port = (unsigned)p;
	}
	snprintf(d->key, sizeof d->key, "%s%s%s:%u", d->mx ? "" : "[", d->host,
	    d->mx ? "" : "]", d->port);
	return 0;
}

static int
dest_find(const struct dest *proto)
{
	struct dest *d;
	size_t j;
	char err[256];

	if (ndests * 2 >= dhsize)
		dhash_grow();
	for (j = hash(proto->key) & (dhsize - 1); dhash[j];
	    j = (j + 1) & (dhsize - 1))
		if (strcmp(dests[dhash[j] - 1].key, proto->key) == 0)
			return (int)(dhash[j] - 1);
	if (ndests == adests) {
		adests = adests ? adests * 2 : 16;
		dests = xrealloc(dests, adests * sizeof *dests);
	}
	d = &dests[ndests];
	*d = *proto;
	d->o.reuse = cf.reuse;
	d->o.concurrency = cf.dest_concurrency;
	d->o.lifetime = -1;
	d->o.queue_first = -1;
	if (dest_lookup(d->host, &d->o, err, sizeof err) < 0)
		log_warn("smtp_dest: %s: %s", d->host, err);
	dhash[j] = ndests + 1;
	return (int)ndests++;
}

/* Which destination takes this recipient, or -1 when it is not ours. */
static int
rcpt_dest(const struct rcpt *r, struct rstate *rs)
{
	const char *v = xparam_get(r->x, r->nx, "X-ROUTE"), *at, *hop;
	char route[1024];
	struct dest d;
	long n;

	if (v == NULL)
		return -1;
	n = xtext_decode(v, strlen(v), route, sizeof route);
	if (n < 0 || strncasecmp(route, "smtp", 4) != 0 ||
	    (route[4] != '\0' && route[4] != ':'))
		return -1;
	at = strrchr(r->addr, '@');
	hop = route[4] == ':' ? route + 5 : "";
	if (*cf.relay != '\0') {
		hop = cf.relay;
	} else if (*hop == '\0' && (at == NULL || at[1] == '\0')) {
		rs->st = R_BOUNCED;
		strcpy(rs->status, "5.1.3");
		rs->text = xstrdup("recipient address has no domain");
		return -2;
	}
	if (nexthop_parse(hop, at ? at + 1 : "", &d) < 0) {
		char t[1100];

		rs->st = R_DEFERRED;
		strcpy(rs->status, "4.3.5");
		fmt(t, sizeof t, "malformed nexthop \"%s\"", hop);
		rs->text = xstrdup(t);
		return -2;
	}
	d.relay = *cf.relay != '\0';
	return dest_find(&d);
}

static void
dest_add_msg(struct dest *d, size_t mi)
{
	if (d->nm > 0 && d->m[d->nm - 1] == mi)
		return;
	if (d->nm == d->am) {
		d->am = d->am ? d->am * 2 : 16;
		d->m = xrealloc(d->m, d->am * sizeof *d->m);
	}
	d->m[d->nm++] = mi;
}

/* ---- reading the input ------------------------------------------------- */

/*
 * One body line in wire form.  No bare CR or LF goes on the wire, whatever
 * the queue holds (a stream line has no LF): CRs at the end of the line
 * belong to its line end, and any other CR ends a line, as sendmail(1)
 * reads one.  The text after it is a line of its own, dot-stuffed, so that
 * "x\r.\rMAIL FROM:" can neither end the data nor smuggle commands at a
 * next hop that takes a bare CR for a line end.
 */
static void
spool_line(struct wbuf *w, const char *l, size_t n)
{
	const char *cr;
	size_t k;

	while (n > 0 && l[n - 1] == '\r')
		n--;
	for (;;) {
		cr = memchr(l, '\r', n);
		k = cr != NULL ? (size_t)(cr - l) : n;
		if ((k > 0 && l[0] == '.' && wbuf_putc(w, '.') < 0) ||
		    wbuf_put(w, l, k) < 0 || wbuf_put(w, "\r\n", 2) < 0)
			die_sys("unable to write the body spool");
		if (cr == NULL)
			return;
		l = cr + 1;
		n -= k + 1;
	}
}

/* Spool the body in wire form: CRLF, dot-stuffed, with the final ".". */
static void
spool_body(struct stream_reader *r, struct wbuf *w, struct msg *m)
{
	const char *l;
	size_t n;
	int rc;

	m->off = (off_t)w->total;
	while ((rc = stream_read_line(r, &l, &n)) == 1) {
		if (!m->eight && text_has8bit(l, n))
			m->eight = 1;
		spool_line(w, l, n);
	}
	if (rc < 0)
		die(r->exit_code, "%s", r->err);
	if (wbuf_put(w, ".\r\n", 3) < 0)
		die_sys("unable to write the body spool");
	m->len = w->total - (unsigned long long)m->off;
}

/*
 * A recipient that the record of delivered recipients holds was sent by
 * an earlier run of this batch (a later stage failed, or the chain was
 * killed): it is reported sent again, notices and all, and not sent.
 */
static double delay_of(const struct msg *);

static int
already_sent(struct msg *m, size_t i, const struct delivered *rec)
{
	struct rstate *rs = &m->rs[i];
	const char *id = m->t.xf[XF_IDENT];
	int flags = delivered_find(rec, m->t.rcpt[i].addr, NULL);

	if (flags < 0)
		return 0;
	rs->st = R_SENT;
	rs->dsn_passed = (flags & DELIVERED_FLAG_DSN_PASSED) != 0;
	strcpy(rs->status, "2.0.0");
	rs->text = xstrdup("delivered by an earlier attempt (the record of "
	    "delivered recipients says so)");
	log_info("qid=%s to=<%s> relay=none delay=%.2f dsn=2.0.0 status=sent "
	    "reply=\"%s\"", id ? id : "-", m->t.rcpt[i].addr, delay_of(m),
	    rs->text);
	return 1;
}

/* No room to note a delivery: the recipient waits rather than risk a repeat. */
static int
no_record(struct msg *m, size_t i, int err)
{
	struct rstate *rs = &m->rs[i];
	const char *id = m->t.xf[XF_IDENT];
	char t[256];

	rs->st = R_DEFERRED;
	strcpy(rs->status, "4.3.1");
	fmt(t, sizeof t, "unable to record deliveries in the queue: %s",
	    strerror(err));
	rs->text = xstrdup(t);
	log_info("qid=%s to=<%s> relay=none delay=%.2f dsn=4.3.1 "
	    "status=deferred reply=\"%s\"", id ? id : "-", m->t.rcpt[i].addr,
	    delay_of(m), rs->text);
	return 1;
}

static void
read_input(struct stream_writer *out)
{
	struct delivered rec = { 0 };
	struct stream_reader r;
	struct wbuf w;
	struct msg *m;
	size_t i;
	int rc, ours, rd, noroom;

	if (stream_reader_init(&r, 0, "stdin") < 0 || wbuf_init(&w, spool_fd, BUF_SIZE) < 0)
		die_nomem();
	for (;;) {
		if (nmsgs == amsgs) {
			amsgs = amsgs ? amsgs * 2 : 64;
			msgs = xrealloc(msgs, amsgs * sizeof *msgs);
		}
		m = &msgs[nmsgs];
		memset(m, 0, sizeof *m);
		txn_init(&m->t);
		if ((rc = stream_read_txn(&r, &m->t)) == 0)
			break;
		if (rc < 0)
			die(r.exit_code, "%s", r.err);
		m->rs = calloc(m->t.nrcpt ? m->t.nrcpt : 1, sizeof *m->rs);
		if (m->rs == NULL)
			die_nomem();
		for (i = ours = 0; i < m->t.nrcpt; i++) {
			struct rstate *rs = &m->rs[i];

			rs->dest = rcpt_dest(&m->t.rcpt[i], rs);
			if (rs->dest != -1)
				ours = 1;
			if (rs->dest == -2)
				log_info("qid=%s to=<%s> relay=none delay=0 dsn=%s "
				    "status=%s reply=\"%s\"", m->t.xf[XF_IDENT] ?
				    m->t.xf[XF_IDENT] : "-", m->t.rcpt[i].addr,
				    rs->status, rs->st == R_BOUNCED ? "bounced" :
				    "deferred", rs->text);
		}
		if (!ours) {
			/* Nothing for us: straight through, no spool. */
			if (stream_write_head(out, &m->t) < 0 ||
			    stream_copy_body(&r, out, &rd) < 0) {
				if (rd)
					die(r.exit_code, "%s", r.err);
				die_sys("unable to write the output");
			}
			free(m->rs);
			txn_free(&m->t);
			continue;
		}
		m->eight = m->t.body == BODY_8BITMIME;
		spool_body(&r, &w, m);
		if (delivered_load(&rec, m->t.xf[XF_IDENT]) < 0)
			die_sys("qid=%s unable to read the record of delivered "
			    "recipients", m->t.xf[XF_IDENT]);
		noroom = delivered_room(m->t.xf[XF_IDENT]) < 0 ? errno : 0;
		for (i = 0; i < m->t.nrcpt; i++) {
			if (m->rs[i].dest < 0)
				continue;
			if (already_sent(m, i, &rec) || (noroom && no_record(m, i,
			    noroom)))
				continue;
			m->rs[i].st = R_PENDING;
			dest_add_msg(&dests[m->rs[i].dest], nmsgs);
		}
		nmsgs++;
	}
	txn_free(&m->t);
	delivered_free(&rec);
	if (wbuf_flush(&w) < 0)
		die_sys("unable to write the body spool");
	wbuf_free(&w);
	stream_reader_free(&r);
}

/* ---- a connection ------------------------------------------------------ */

struct conn {
	int fd;
	struct tls *tls;
	char in[8192];
	size_t ip, il;
	char out[16384];
	size_t ol;
	int broken;		/* no further I/O */
	int timed_out;		/* it broke by a timeout */
	char err[TEXT_MAX];	/* why it broke */
	/* session_open failed before EHLO was answered; and by a timeout */
	int dead, slow;
	/* the server */
	char name[256], ip_s[64];
	unsigned port;
	/* EHLO capabilities */
	int esmtp, pipelining, eightbit, utf8, dsn, starttls, auth_plain,
	    auth_login;
	unsigned long long size_max;
	long sent;		/* messages on this connection */
};

static void
conn_fail(struct conn *c, enum phase ph, const char *what)
{
	if (c->broken)
		return;
	c->broken = 1;
	c->timed_out = strcmp(what, "conversation timed out") == 0;
	fmt(c->err, sizeof c->err, "%s with %s[%s] while %s", what,
	    c->name, c->ip_s, phase_words[ph]);
}

static int
conn_rawwrite(struct conn *c, const char *p, size_t n, enum phase ph)
{
	long long deadline = clock_now_ms() + cf.timeout_ms[ph];
	ssize_t k;

	while (n > 0 && !c->broken) {
		if (c->tls)
			k = tls_write(c->tls, p, n,
			    (int)(deadline - clock_now_ms()));
		else
			k = write(c->fd, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (c->tls || (errno != EAGAIN && errno != EINTR)) {
			conn_fail(c, ph, errno == ETIMEDOUT ? "conversation timed out" :
			    "lost connection");
			return -1;
		}
		if (clock_wait_fd(c->fd, POLLOUT, deadline) < 0)
			conn_fail(c, ph, "conversation timed out");
	}
	return c->broken ? -1 : 0;
}

static int
conn_flush(struct conn *c, enum phase ph)
{
	int rc = conn_rawwrite(c, c->out, c->ol, ph);

	c->ol = 0;
	return rc;
}

static int
conn_put(struct conn *c, const char *s, size_t n, enum phase ph)
{
	if (c->ol + n > sizeof c->out && conn_flush(c, ph) < 0)
		return -1;
	if (n > sizeof c->out)
		return conn_rawwrite(c, s, n, ph);
	memcpy(c->out + c->ol, s, n);
	c->ol += n;
	return 0;
}

static int
conn_printf(struct conn *c, enum phase ph, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
conn_printf(struct conn *c, enum phase ph, const char *fmt, ...)
{
	char b[STREAM_CMD_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof b) {
		conn_fail(c, ph, "command too long");
		return -1;
	}
	return conn_put(c, b, (size_t)n, ph);
}

/* One reply line (without CRLF) into line; 0 or -1. */
static int
conn_getline(struct conn *c, char *line, size_t max, enum phase ph)
{
	long long deadline = clock_now_ms() + cf.timeout_ms[ph];
	size_t n = 0;
	ssize_t k;
	char ch;

	for (;;) {
		while (c->ip < c->il) {
			ch = c->in[c->ip++];
			if (ch == '\n') {
				if (n > 0 && line[n - 1] == '\r')
					n--;
				line[n] = '\0';
				return 0;
			}
			if (n + 1 < max)
				line[n++] = ch;
		}
		if (c->broken)
			return -1;
		c->ip = c->il = 0;
		if (c->tls)
			k = tls_read(c->tls, c->in, sizeof c->in,
			    (int)(deadline - clock_now_ms()));
		else
			k = read(c->fd, c->in, sizeof c->in);
		if (k > 0) {
			c->il = (size_t)k;
			continue;
		}
		if (k == 0) {
			conn_fail(c, ph, "lost connection");
			return -1;
		}
		if (!c->tls && (errno == EAGAIN || errno == EINTR)) {
			if (clock_wait_fd(c->fd, POLLIN, deadline) < 0) {
				conn_fail(c, ph, "conversation timed out");
				return -1;
			}
			continue;
		}
		conn_fail(c, ph, errno == ETIMEDOUT ? "conversation timed out" :
		    "lost connection");
		return -1;
	}
}

struct reply {
	int code;		/* 250; 0 when the connection broke */
	char text[TEXT_MAX];	/* "250 2.0.0 Ok" (lines joined by spaces) */
	char status[16];	/* enhanced status, from the reply or made up */
};

/* Read a whole (multi-line) reply.  A malformed one breaks the connection. */
static int
reply_read(struct conn *c, struct reply *r, enum phase ph,
    void (*each)(struct conn *, const char *))
{
	char line[REPLY_MAX];
	size_t tl = 0;
	const char *p;
	int n;

	r->code = 0;
	r->text[0] = '\0';
	for (;;) {
		if (conn_getline(c, line, sizeof line, ph) < 0)
			return -1;
		if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    (line[3] != ' ' && line[3] != '-' && line[3] != '\0') ||
		    line[0] < '2' || line[0] > '5') {
			conn_fail(c, ph, "malformed reply");
			return -1;
		}
		r->code = atoi(line);
		if (each)
			each(c, line + 4 - (line[3] == '\0'));
		for (p = line; *p && tl + 2 < sizeof r->text; p++)
			r->text[tl++] = (*p >= ' ' && *p < 127) ? *p : '?';
		r->text[tl] = '\0';
		if (line[3] != '-')
			break;
		if (tl + 2 < sizeof r->text)
			r->text[tl++] = ' ';
	}
	/* The enhanced status code, when the server gave one (RFC 3463). */
	p = r->text + 4;
	n = 0;
	if (strlen(r->text) > 4 && p[0] == r->text[0] && p[1] == '.' &&
	    sscanf(p, "%*1[245].%*3[0-9].%*3[0-9]%n", &n) >= 0 && n > 0 &&
	    (p[n] == ' ' || p[n] == '\0') && (size_t)n < sizeof r->status) {
		memcpy(r->status, p, (size_t)n);
		r->status[n] = '\0';
	} else {
		snprintf(r->status, sizeof r->status, "%c.0.0", r->text[0]);
	}
	return 0;
}

/* ---- a worker: one destination, some of its messages ------------------- */

enum { TLS_NONE, TLS_MAY, TLS_REQUIRE, TLS_VERIFY };

struct target {
	char name[256];		/* host name, for logs, SNI and smtp_auth */
	struct dns_addr a;
	unsigned port;
	int notls;		/* STARTTLS failed here once: go plain */
};

struct job {
	struct dest *d;
	size_t *m;		/* message indices */
	size_t nm;
	int tls_level;
	struct target t[TARGET_MAX];
	size_t nt;
	struct tls_client *tc;
	struct wbuf rep;	/* results to the parent */
	/* servers tried; of them found dead, by a timeout; answered */
	size_t tried, dead, slow, answered;
};

static int
tls_level_of(const char *s)
{
	if (strcasecmp(s, "none") == 0)
		return TLS_NONE;
	if (strcasecmp(s, "require") == 0 || strcasecmp(s, "encrypt") == 0)
		return TLS_REQUIRE;
	if (strcasecmp(s, "verify") == 0)
		return TLS_VERIFY;
	return TLS_MAY;
}

/* Printable, without tabs: a field of a result line. */
static void
clean_field(char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s >= 127)
			*s = '?';
}

static double
delay_of(const struct msg *m)
{
	struct timeval tv;
	const char *id = m->t.xf[XF_IDENT];
	time_t arr = id ? qid_time(id) : 0;

	gettimeofday(&tv, NULL);
	if (arr > 0 && arr <= tv.tv_sec)
		return (double)(tv.tv_sec - arr) + tv.tv_usec / 1e6;
	return (double)(tv.tv_sec - t_start.tv_sec) +
	    (tv.tv_usec - t_start.tv_usec) / 1e6;
}

/*
 * A recipient's outcome: logged, and sent to the parent as
 * "msg TAB rcpt TAB kind TAB dsn_passed TAB status TAB mta TAB text".
 */
static void
rcpt_done(struct job *j, size_t mi, size_t ri, enum rstat st,
    const char *status, const char *text, const struct conn *c, int passed)
{
	static const char *const stname[] = { "", "", "sent", "deferred",
		"bounced" };
	struct msg *m = &msgs[mi];
	struct rstate *rs = &m->rs[ri];
	char t[TEXT_MAX], relay[400];
	const char *id = m->t.xf[XF_IDENT];

	rs->st = st;
	fmt(t, sizeof t, "%s", text);
	clean_field(t);
	if (c != NULL)
		fmt(relay, sizeof relay, "%s[%s]:%u", c->name, c->ip_s, c->port);
	else
		fmt(relay, sizeof relay, "%s", rs->mta ? rs->mta : "none");
	log_info("qid=%s to=<%s> relay=%s delay=%.2f dsn=%s status=%s reply=\"%s\"",
	    id ? id : "-", m->t.rcpt[ri].addr, relay, delay_of(m), status,
	    stname[st], t);
	wbuf_printf(&j->rep, "%zu\t%zu\t%d\t%d\t%s\t%s\t%s\n", mi, ri, (int)st,
	    passed, status, c ? c->name : "", t);
}

/* The text for X-DEFER and DSNs: "host mx[ip] said: 450 ... (in reply to X)". */
static void
said(char *buf, size_t size, const struct conn *c, const struct reply *r,
    const char *cmd)
{
	fmt(buf, size, "host %s[%s] said: %s (in reply to %s)", c->name,
	    c->ip_s, r->text, cmd);
}

static void
ehlo_line(struct conn *c, const char *kw)
{
	if (strncasecmp(kw, "PIPELINING", 10) == 0 && !isalnum((unsigned char)kw[10]))
		c->pipelining = 1;
	else if (strncasecmp(kw, "8BITMIME", 8) == 0 && !isalnum((unsigned char)kw[8]))
		c->eightbit = 1;
	else if (strncasecmp(kw, "SMTPUTF8", 8) == 0 && !isalnum((unsigned char)kw[8]))
		c->utf8 = 1;
	else if (strncasecmp(kw, "DSN", 3) == 0 && (kw[3] == '\0' || kw[3] == ' '))
		c->dsn = 1;
	else if (strncasecmp(kw, "STARTTLS", 8) == 0 && !isalnum((unsigned char)kw[8]))
		c->starttls = 1;
	else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == ' ' || kw[4] == '\0'))
		c->size_max = strtoull(kw + 4, NULL, 10);
	else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
		char b[REPLY_MAX], *w, *save = NULL;

		snprintf(b, sizeof b, "%s", kw + 5);
		for (w = strtok_r(b, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (strcasecmp(w, "PLAIN") == 0)
				c->auth_plain = 1;
			else if (strcasecmp(w, "LOGIN") == 0)
				c->auth_login = 1;
		}
	}
}

static void
caps_clear(struct conn *c)
{
	c->esmtp = c->pipelining = c->eightbit = c->utf8 = c->dsn = 0;
	c->starttls = c->auth_plain = c->auth_login = 0;
	c->size_max = 0;
}

/* EHLO, else HELO.  0, or -1 with err (status and words). */
static int
greet(struct conn *c, struct reply *r, char *status, char *err, size_t errsz)
{
	caps_clear(c);
	if (conn_printf(c, PH_HELO, "EHLO %s\r\n", cf.helo) < 0 ||
	    conn_flush(c, PH_HELO) < 0 || reply_read(c, r, PH_HELO, ehlo_line) < 0)
		return -1;
	if (r->code == 250) {
		c->esmtp = 1;
		return 0;
	}
	caps_clear(c);
	if (r->code >= 500 && r->code != 554) {
		if (conn_printf(c, PH_HELO, "HELO %s\r\n", cf.helo) < 0 ||
		    conn_flush(c, PH_HELO) < 0 || reply_read(c, r, PH_HELO, NULL) < 0)
			return -1;
		if (r->code == 250)
			return 0;
	}
	snprintf(status, 16, "%s", r->status);
	said(err, errsz, c, r, "EHLO");
	return -1;
}

static void
conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	if (c->tls)
		tls_close(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
}

/* QUIT politely, without caring for the answer beyond its timeout. */
static void
conn_quit(struct conn *c)
{
	struct reply r;

	if (!c->broken && conn_printf(c, PH_QUIT, "QUIT\r\n") == 0 &&
	    conn_flush(c, PH_QUIT) == 0)
		(void)reply_read(c, &r, PH_QUIT, NULL);
	conn_close(c);
}

static int
b64(const char *s, size_t n, char *out, size_t outsz)
{
	if ((n + 2) / 3 * 4 + 1 > outsz)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return 0;
}

/* SMTP AUTH with user:password from smtp_auth; 0, or -1 with err. */
static int
authenticate(struct conn *c, const char *cred, char *status, char *err,
    size_t errsz)
{
	char buf[HOSTS_VAL_MAX * 2], enc[HOSTS_VAL_MAX * 3];
	const char *colon = strchr(cred, ':');
	size_t ul, pl;
	struct reply r;

	if (colon == NULL) {
		snprintf(status, 16, "4.7.0");
		fmt(err, errsz, "smtp_auth entry for %s is not user:password",
		    c->name);
		return -1;
	}
	ul = (size_t)(colon - cred);
	pl = strlen(colon + 1);
	if (c->auth_plain) {
		buf[0] = '\0';
		memcpy(buf + 1, cred, ul);
		buf[ul + 1] = '\0';
		memcpy(buf + ul + 2, colon + 1, pl);
		if (b64(buf, ul + pl + 2, enc, sizeof enc) < 0 ||
		    conn_printf(c, PH_HELO, "AUTH PLAIN %s\r\n", enc) < 0 ||
		    conn_flush(c, PH_HELO) < 0 || reply_read(c, &r, PH_HELO, NULL) < 0)
			goto broken;
	} else {
		if (conn_printf(c, PH_HELO, "AUTH LOGIN\r\n") < 0 ||
		    conn_flush(c, PH_HELO) < 0 || reply_read(c, &r, PH_HELO, NULL) < 0)
			goto broken;
		if (r.code == 334) {
			if (b64(cred, ul, enc, sizeof enc) < 0 ||
			    conn_printf(c, PH_HELO, "%s\r\n", enc) < 0 ||
			    conn_flush(c, PH_HELO) < 0 ||
			    reply_read(c, &r, PH_HELO, NULL) < 0)
				goto broken;
		}
		if (r.code == 334) {
			if (b64(colon + 1, pl, enc, sizeof enc) < 0 ||
			    conn_printf(c, PH_HELO, "%s\r\n", enc) < 0 ||
			    conn_flush(c, PH_HELO) < 0 ||
			    reply_read(c, &r, PH_HELO, NULL) < 0)
				goto broken;
		}
	}
	explicit_bzero(buf, sizeof buf);
	explicit_bzero(enc, sizeof enc);
	if (r.code == 235)
		return 0;
	/* A refused login is our configuration's fault: defer, never bounce. */
	snprintf(status, 16, "4.7.0");
	fmt(err, errsz, "authentication failed: ");
	said(err + strlen(err), errsz - strlen(err), c, &r, "AUTH");
	return -1;
broken:
	explicit_bzero(buf, sizeof buf);
	explicit_bzero(enc, sizeof enc);
	snprintf(status, 16, "4.4.2");
	fmt(err, errsz, "%s", c->err);
	return -1;
}

static int
tcp_connect(struct conn *c, const struct target *t, char *err, size_t errsz)
{
	struct sockaddr_storage sa = t->a.sa;
	long long deadline = clock_now_ms() + cf.timeout_ms[PH_CONNECT];
	socklen_t sl = sizeof(int);
	int e = 0, one = 1;

	if (t->a.family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)t->port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)t->port);
	c->fd = socket(t->a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fmt(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&sa, t->a.len) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
		} else if (clock_wait_fd(c->fd, POLLOUT, deadline) < 0) {
			e = ETIMEDOUT;
		} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0) {
			e = errno;
		}
	}
	if (e != 0) {
		c->dead = 1;
		c->slow = e == ETIMEDOUT;
		fmt(err, errsz, "connect to %s[%s]:%u: %s", t->name, c->ip_s,
		    t->port, e == ETIMEDOUT ? "Connection timed out" : strerror(e));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Open a session with target t: connect, greeting, EHLO, STARTTLS, AUTH.
 * 0, or -1 with status and err, and c->dead when no server answered
 * there (c->slow: a timeout); -2 when opportunistic TLS failed and the
 * caller should try this target again in the clear.
 */
static int
session_open(struct job *j, struct target *t, struct conn *c, char *status,
    char *err, size_t errsz)
{
	static struct table auth;
	static int auth_open;
	char cred[HOSTS_VAL_MAX], e2[TEXT_MAX];
	struct reply r;
	int rc;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	snprintf(c->name, sizeof c->name, "%s", t->name);
	dns_ntop(&t->a, c->ip_s, sizeof c->ip_s);
	c->port = t->port;
	snprintf(status, 16, "4.4.1");
	if (tcp_connect(c, t, err, errsz) < 0)
		return -1;
	snprintf(status, 16, "4.4.2");
	if (reply_read(c, &r, PH_HELO, NULL) < 0) {
		c->dead = 1;
		c->slow = c->timed_out;
		goto broken;
	}
	if (r.code != 220) {
		snprintf(status, 16, "%c.0.0", r.text[0] == '5' ? '4' : r.text[0]);
		said(err, errsz, c, &r, "initial greeting");
		goto fail;
	}
	if (greet(c, &r, status, err, errsz) < 0) {
		c->dead = c->broken;
		c->slow = c->broken && c->timed_out;
		goto broken_or_fail;
	}
	/* OpenSSL is set up only when a server first offers STARTTLS. */
	if (c->starttls && j->tls_level != TLS_NONE && !t->notls && j->tc == NULL) {
		j->tc = tls_client_new(j->tls_level == TLS_VERIFY ? cf.tls_ca : NULL,
		    e2, sizeof e2);
		if (j->tc == NULL)
			log_warn("TLS: %s", e2);
	}
	if (c->starttls && j->tls_level != TLS_NONE && !t->notls && j->tc) {
		if (conn_printf(c, PH_HELO, "STARTTLS\r\n") < 0 ||
		    conn_flush(c, PH_HELO) < 0 || reply_read(c, &r, PH_HELO, NULL) < 0)
			goto broken;
		if (r.code == 220) {
			c->tls = tls_connect(j->tc, c->fd, t->name,
			    j->tls_level == TLS_VERIFY, cf.timeout_ms[PH_HELO], e2,
			    sizeof e2);
			if (c->tls == NULL) {
				snprintf(status, 16, "4.7.5");
				fmt(err, errsz, "TLS with %s[%s]: %s", c->name,
				    c->ip_s, e2);
				conn_close(c);
				if (j->tls_level == TLS_MAY) {
					t->notls = 1;
					return -2;
				}
				return -1;
			}
			if (greet(c, &r, status, err, errsz) < 0)
				goto broken_or_fail;
		}
	}
	if (j->tls_level >= TLS_REQUIRE && c->tls == NULL) {
		snprintf(status, 16, "4.7.4");
		fmt(err, errsz, "TLS is required, but was not offered by host "
		    "%s[%s]", c->name, c->ip_s);
		goto fail;
	}
	if (!auth_open) {
		auth_open = 1;
		if (table_open(&auth, "smtp_auth") < 0)
			auth.fd = -1;
	}
	rc = table_get(&auth, c->name, cred, sizeof cred);
	if (rc == 1) {
		if (c->tls == NULL) {
			snprintf(status, 16, "4.7.0");
			fmt(err, errsz, "not sending the password for %s without "
			    "TLS (%s[%s] did not offer STARTTLS)", c->name, c->name,
			    c->ip_s);
			explicit_bzero(cred, sizeof cred);
			goto fail;
		}
		if (c->auth_plain || c->auth_login) {
			rc = authenticate(c, cred, status, err, errsz);
			explicit_bzero(cred, sizeof cred);
			if (rc < 0)
				goto fail;
		}
		explicit_bzero(cred, sizeof cred);
	}
	return 0;
broken_or_fail:
	if (!c->broken)
		goto fail;
broken:
	snprintf(status, 16, "4.4.2");
	fmt(err, errsz, "%s", c->err);
	conn_close(c);
	return -1;
fail:
	conn_quit(c);
	return -1;
}

/* ---- one message over an open session ---------------------------------- */

/*
 * The remote took the message: note its recipients in the record of
 * delivered recipients (lib/delivered.h) before anything else, in one
 * write, so that a retry of this batch does not send it again.
 */
static void
record_sent(const struct msg *m, const size_t *P, const unsigned char *acc,
    size_t np, int dsn)
{
	const char *addr[STREAM_RCPT_MAX], *id = m->t.xf[XF_IDENT];
	size_t k, n = 0;

	for (k = 0; k < np && n < STREAM_RCPT_MAX; k++)
		if (acc[k])
			addr[n++] = m->t.rcpt[P[k]].addr;
	if (delivered_mark_all(id, addr, n, NULL, dsn ?
	    DELIVERED_FLAG_DSN_PASSED : 0) < 0)
		log_warn("qid=%s unable to record the delivery of %zu recipients "
		    "(a retry may send them again): %s", id ? id : "-", n,
		    strerror(errno));
}

/* A temporary failure: the recipient stays pending for the next server. */
static void
soft(struct rstate *rs, const char *status, const char *text, const struct conn *c)
{
	char relay[400];

	fmt(rs->status, sizeof rs->status, "%s", status);
	rs->status[0] = '4';	/* whatever the server said, we try again */
	free(rs->text);
	rs->text = xstrdup(text);
	free(rs->mta);
	rs->mta = NULL;
	if (c != NULL) {
		fmt(relay, sizeof relay, "%s[%s]:%u", c->name, c->ip_s, c->port);
		rs->mta = xstrdup(relay);
	}
}

/* Status and reply for a recipient, from a reply: 2xx, soft or bounce. */
static void
reply_outcome(struct job *j, size_t mi, size_t ri, const struct conn *c,
    const struct reply *r, const char *cmd, int temp554)
{
	char t[TEXT_MAX + 300], st[16];

	said(t, sizeof t, c, r, cmd);
	snprintf(st, sizeof st, "%s", r->status);
	if (r->code >= 500 && !(temp554 && r->code == 554)) {
		rcpt_done(j, mi, ri, R_BOUNCED, st, t, c, 0);
		return;
	}
	if (st[0] != '4')
		st[0] = '4';
	soft(&msgs[mi].rs[ri], st, t, c);
}

static int
send_body(struct conn *c, const struct msg *m)
{
	long long deadline;
	off_t off = m->off;
	unsigned long long left = m->len;
	char buf[65536];
	ssize_t k;

	if (conn_flush(c, PH_DATA_BLOCK) < 0)
		return -1;
	while (left > 0) {
		deadline = clock_now_ms() + cf.timeout_ms[PH_DATA_BLOCK];
		if (c->tls == NULL) {
			k = sendfile(c->fd, spool_fd, &off,
			    left > (1u << 30) ? (1u << 30) : (size_t)left);
			if (k > 0) {
				left -= (unsigned long long)k;
				continue;
			}
			if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (clock_wait_fd(c->fd, POLLOUT, deadline) < 0) {
					conn_fail(c, PH_DATA_BLOCK, "conversation timed out");
					return -1;
				}
				continue;
			}
			if (k == 0) {
				errno = EIO;	/* the spool is shorter than it said */
				die_sys("unable to read the body spool");
			}
			conn_fail(c, PH_DATA_BLOCK, "lost connection");
			return -1;
		}
		k = pread(spool_fd, buf, left > sizeof buf ? sizeof buf : (size_t)left,
		    off);
		if (k <= 0)
			die_sys("unable to read the body spool");
		if (conn_rawwrite(c, buf, (size_t)k, PH_DATA_BLOCK) < 0)
			return -1;
		off += k;
		left -= (unsigned long long)k;
	}
	return 0;
}

static int
notify_param(char *b, size_t size, unsigned n)
{
	if (n & NOTIFY_NEVER)
		return snprintf(b, size, " NOTIFY=NEVER");
	return snprintf(b, size, " NOTIFY=%s%s%s%s%s",
	    n & NOTIFY_SUCCESS ? "SUCCESS" : "",
	    (n & NOTIFY_SUCCESS) && (n & (NOTIFY_FAILURE | NOTIFY_DELAY)) ? "," : "",
	    n & NOTIFY_FAILURE ? "FAILURE" : "",
	    (n & NOTIFY_FAILURE) && (n & NOTIFY_DELAY) ? "," : "",
	    n & NOTIFY_DELAY ? "DELAY" : "");
}

/*
 * The DSN parameters of RCPT TO for rc into p, "" when the server does
 * not offer DSN.  With add_orcpt, a recipient that came without ORCPT
 * and has a 7-bit address gets ORCPT=rfc822;address (RFC 3461 4.2 lets
 * a relay add it).
 */
static void
rcpt_params(const struct conn *c, const struct rcpt *rc, int add_orcpt,
    char *p, size_t size)
{
	char o[STREAM_ORCPT_MAX + 16];
	size_t pl = 0;

	p[0] = '\0';
	if (!c->dsn)
		return;
	if (rc->notify)
		pl = (size_t)notify_param(p, size, rc->notify);
	if (rc->orcpt)
		snprintf(p + pl, size - pl, " ORCPT=%s", rc->orcpt);
	else if (add_orcpt && !text_has8bit(rc->addr, strlen(rc->addr)) &&
	    xtext_encode(rc->addr, strlen(rc->addr), o, sizeof o) >= 0)
		snprintf(p + pl, size - pl, " ORCPT=rfc822;%s", o);
}

static void
rset(struct conn *c)
{
	struct reply r;

	if (!c->broken && conn_printf(c, PH_MAIL, "RSET\r\n") == 0 &&
	    conn_flush(c, PH_MAIL) == 0)
		(void)reply_read(c, &r, PH_MAIL, NULL);
}

/* After a 421 the server is gone whatever it says next. */
static void
check421(struct conn *c, const struct reply *r)
{
	if (r->code == 421 && !c->broken) {
		c->broken = 1;
		fmt(c->err, sizeof c->err, "host %s[%s] said: %s", c->name,
		    c->ip_s, r->text);
	}
}

/*
 * Deliver message mi's pending recipients for this job over c.  Outcomes
 * go to rcpt_done (final) or soft() (try the next server).  Returns 0, or
 * -1 when the connection is no longer usable.
 */
static int
send_msg(struct job *j, struct conn *c, size_t mi)
{
	struct msg *m = &msgs[mi];
	size_t P[STREAM_RCPT_MAX], np = 0, k, nacc = 0;
	unsigned char acc[STREAM_RCPT_MAX];
	unsigned long long size = m->t.has_size && m->t.size > m->len ?
	    m->t.size : m->len;
	char t[TEXT_MAX + 300], p[STREAM_ORCPT_MAX + 64];
	struct reply r, mr, dr;
	int di = (int)(j->d - dests), mail_ok;

	for (k = 0; k < m->t.nrcpt && np < STREAM_RCPT_MAX; k++)
		if (m->rs[k].dest == di && m->rs[k].st == R_PENDING)
			P[np++] = k;
	if (np == 0)
		return 0;
	memset(acc, 0, np);
	t[0] = '\0';
	if (m->t.smtputf8 && !c->utf8)
		fmt(t, sizeof t, "5.6.7 SMTPUTF8 is required, but was not "
		    "offered by host %s[%s]", c->name, c->ip_s);
	else if (m->eight && !c->eightbit)
		fmt(t, sizeof t, "5.6.3 the message has 8-bit content, host "
		    "%s[%s] does not offer 8BITMIME, and sluice does not convert "
		    "it", c->name, c->ip_s);
	else if (c->size_max > 0 && size > c->size_max)
		fmt(t, sizeof t, "5.3.4 message size %llu exceeds the size "
		    "limit %llu of host %s[%s]", size, c->size_max, c->name, c->ip_s);
	if (t[0] != '\0') {
		char st[8];

		memcpy(st, t, 5);
		st[5] = '\0';
		for (k = 0; k < np; k++)
			rcpt_done(j, mi, P[k], R_BOUNCED, st, t + 6, c, 0);
		return 0;
	}

	conn_printf(c, PH_MAIL, "MAIL FROM:<%s>", m->t.from ? m->t.from : "");
	if (c->size_max > 0 || c->esmtp)
		conn_printf(c, PH_MAIL, " SIZE=%llu", size);
	if (m->eight)
		conn_printf(c, PH_MAIL, " BODY=8BITMIME");
	if (m->t.smtputf8)
		conn_printf(c, PH_MAIL, " SMTPUTF8");
	if (c->dsn && m->t.ret != RET_NONE)
		conn_printf(c, PH_MAIL, " RET=%s", m->t.ret == RET_FULL ? "FULL" : "HDRS");
	if (c->dsn && m->t.envid)
		conn_printf(c, PH_MAIL, " ENVID=%s", m->t.envid);
	conn_printf(c, PH_MAIL, "\r\n");
	if (!c->pipelining && conn_flush(c, PH_MAIL) < 0)
		goto broken;
	for (k = 0; k < np && c->pipelining; k++) {
		const struct rcpt *rc = &m->t.rcpt[P[k]];

		rcpt_params(c, rc, 1, p, sizeof p);
		conn_printf(c, PH_RCPT, "RCPT TO:<%s>%s\r\n", rc->addr, p);
	}
	if (c->pipelining) {
		conn_printf(c, PH_DATA_INIT, "DATA\r\n");
		if (conn_flush(c, PH_MAIL) < 0)
			goto broken;
	}
	if (reply_read(c, &mr, PH_MAIL, NULL) < 0)
		goto broken;
	check421(c, &mr);
	mail_ok = mr.code / 100 == 2;
	for (k = 0; k < np && (mail_ok || c->pipelining); k++) {
		if (!c->pipelining) {
			const struct rcpt *rc = &m->t.rcpt[P[k]];

			rcpt_params(c, rc, 0, p, sizeof p);
			if (conn_printf(c, PH_RCPT, "RCPT TO:<%s>%s\r\n", rc->addr, p) < 0 ||
			    conn_flush(c, PH_RCPT) < 0)
				goto broken;
		}
		if (reply_read(c, &r, PH_RCPT, NULL) < 0)
			goto broken;
		if (!mail_ok)
			continue;
		check421(c, &r);
		if (r.code / 100 == 2) {
			acc[k] = 1;
			nacc++;
		} else {
			reply_outcome(j, mi, P[k], c, &r, "RCPT TO", 0);
		}
	}
	if (!mail_ok)
		for (k = 0; k < np; k++)
			reply_outcome(j, mi, P[k], c, &mr, "MAIL FROM", 0);
	if (!c->pipelining && nacc > 0) {
		if (conn_printf(c, PH_DATA_INIT, "DATA\r\n") < 0 ||
		    conn_flush(c, PH_DATA_INIT) < 0)
			goto broken;
	}
	if (c->pipelining || nacc > 0) {
		if (reply_read(c, &dr, PH_DATA_INIT, NULL) < 0)
			goto broken;
		check421(c, &dr);
	}
	if (nacc == 0) {
		/* Nobody to send to; a 354 anyway gets an empty message. */
		if (c->pipelining && dr.code == 354 &&
		    (conn_printf(c, PH_DATA_DONE, ".\r\n") < 0 ||
		    conn_flush(c, PH_DATA_DONE) < 0 ||
		    reply_read(c, &dr, PH_DATA_DONE, NULL) < 0))
			goto broken;
		if (mail_ok)
			rset(c);
		return c->broken ? -1 : 0;
	}
	if (dr.code != 354) {
		for (k = 0; k < np; k++)
			if (acc[k])
				reply_outcome(j, mi, P[k], c, &dr, "DATA",
				    cf.data554_temp);
		rset(c);
		return c->broken ? -1 : 0;
	}
	if (send_body(c, m) < 0 || reply_read(c, &r, PH_DATA_DONE, NULL) < 0)
		goto broken;
	check421(c, &r);
	c->sent++;
	if (r.code / 100 == 2)
		record_sent(m, P, acc, np, c->dsn);
	for (k = 0; k < np; k++) {
		if (!acc[k])
			continue;
		if (r.code / 100 == 2)
			rcpt_done(j, mi, P[k], R_SENT, r.status, r.text, c, c->dsn);
		else
			reply_outcome(j, mi, P[k], c, &r, "end of DATA",
			    cf.data554_temp);
	}
	return c->broken ? -1 : 0;
broken:
	for (k = 0; k < np; k++)
		if (m->rs[P[k]].st == R_PENDING)
			soft(&m->rs[P[k]], "4.4.2", c->err, c);
	return -1;
}

/* ---- resolving a destination ------------------------------------------- */

static int
target_add(struct job *j, const char *name, const struct dns_addr *a,
    unsigned port)
{
	struct target *t;
	size_t i;

	for (i = 0; i < j->nt; i++)
		if (j->t[i].port == port && j->t[i].a.len == a->len &&
		    memcmp(&j->t[i].a.sa, &a->sa, a->len) == 0)
			return 0;	/* the same server twice: once is enough */
	if (j->nt >= TARGET_MAX)
		return 0;
	t = &j->t[j->nt++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->a = *a;
	t->port = port;
	return 1;
}

/* Addresses from the smtp_hosts table: 1 found, 0 not there. */
static int
hosts_table(struct job *j, const char *name, unsigned port)
{
	static struct table tab;
	static int opened;
	char val[HOSTS_VAL_MAX], *w, *save = NULL;
	struct dns_addr a;
	int found = 0;

	if (!opened) {
		opened = 1;
		if (table_open(&tab, "smtp_hosts") < 0)
			tab.fd = -1;
	}
	if (table_get(&tab, name, val, sizeof val) != 1)
		return 0;
	for (w = strtok_r(val, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		if (dns_pton(w, &a) < 0) {
			log_warn("smtp_hosts: %s: not an address: %s", name, w);
			continue;
		}
		target_add(j, name, &a, port);
		found = 1;
	}
	return found;
}

/* The addresses of one host: table and DNS in the configured order. */
static int
host_addrs(struct job *j, struct dns *dns, const char *name, unsigned port,
    char *err, size_t errsz)
{
	struct dns_addr a[DNS_ADDR_MAX];
	size_t n = 0, i;
	int rc;

	if (dns_pton(name, &a[0]) == 0) {
		target_add(j, name, &a[0], port);
		return DNS_OK;
	}
	if (cf.hosts_first && hosts_table(j, name, port))
		return DNS_OK;
	if (dns == NULL) {
		fmt(err, errsz, "no DNS resolver");
		rc = DNS_TEMP;
	} else {
		rc = dns_addrs(dns, name, a, DNS_ADDR_MAX, &n, err, errsz);
	}
	for (i = 0; i < n; i++)
		target_add(j, name, &a[i], port);
	if (rc != DNS_OK && !cf.hosts_first && hosts_table(j, name, port))
		return DNS_OK;
	return rc;
}

/*
 * The servers of a destination, in the order to try them.  0, or -1 with
 * status and err: a permanent status bounces every recipient.
 */
static int
resolve_one(struct job *j, struct dns *dns, const struct dest *d, char *status,
    char *err, size_t errsz)
{
	struct dns_mx mx[DNS_MX_MAX];
	char e2[TEXT_MAX];
	unsigned port = d->port ? d->port : cf.port;
	size_t n = 0, i;
	int rc, temp = 0;

	if (!d->mx) {
		rc = host_addrs(j, dns, d->host, port, err, errsz);
		if (rc == DNS_OK)
			return 0;
		snprintf(status, 16, rc == DNS_TEMP ? "4.4.3" : "5.4.4");
		return -1;
	}
	if (cf.hosts_first && hosts_table(j, d->host, port))
		return 0;
	rc = dns ? dns_mx(dns, d->host, mx, DNS_MX_MAX, &n, err, errsz) : DNS_TEMP;
	if (rc == DNS_OK) {
		/* RFC 7505: a null MX says the domain takes no mail at all. */
		for (i = 0; i < n; i++)
			if (mx[i].host[0] == '\0') {
				snprintf(status, 16, "5.1.10");
				fmt(err, errsz, "domain %s does not accept mail "
				    "(null MX)", d->host);
				return -1;
			}
		for (i = 0; i < n; i++) {
			rc = host_addrs(j, dns, mx[i].host, port, e2, sizeof e2);
			if (rc == DNS_TEMP)
				temp = 1;
			if (rc != DNS_OK)
				fmt(err, errsz, "MX host %s of %s: %s", mx[i].host,
				    d->host, e2);
		}
		if (j->nt > 0)
			return 0;
		snprintf(status, 16, temp ? "4.4.3" : "5.4.4");
		return -1;
	}
	if (rc == DNS_NODATA || rc == DNS_NXDOMAIN) {
		/* No MX: the domain's own addresses (RFC 5321 5.1). */
		rc = host_addrs(j, dns, d->host, port, err, errsz);
		if (rc == DNS_OK)
			return 0;
		if (rc == DNS_NXDOMAIN)
			fmt(err, errsz, "Host or domain name not found: %s "
			    "(NXDOMAIN)", d->host);
		snprintf(status, 16, rc == DNS_TEMP ? "4.4.3" :
		    rc == DNS_NXDOMAIN ? "5.1.2" : "5.4.4");
		return -1;
	}
	if (!cf.hosts_first && hosts_table(j, d->host, port))
		return 0;
	snprintf(status, 16, rc == DNS_TEMP ? "4.4.3" : "5.1.2");
	return -1;
}

static int
resolve(struct job *j, const struct dest *d, char *status, char *err,
    size_t errsz)
{
	struct dns *dns;
	char e2[TEXT_MAX];
	struct dest b;
	int rc;

	dns = dns_open(NULL, e2, sizeof e2);
	if (dns == NULL)
		log_warn("DNS: %s", e2);
	rc = resolve_one(j, dns, d, status, err, errsz);
	if (d->relay && *cf.relay_backup != '\0' &&
	    nexthop_parse(cf.relay_backup, "", &b) == 0) {
		char st2[16];

		if (resolve_one(j, dns, &b, st2, e2, sizeof e2) == 0)
			rc = 0;
	}
	dns_close(dns);
	if (rc < 0 && status[0] == '5' && d->relay)
		status[0] = '4';	/* a relay host we cannot find is our fault */
	return rc;
}

/* ---- the memory of unreachable destinations ------------------------------ */

/*
 * sluice-runq runs the chain over batches, a few at once, and a chain ends
 * only when its slowest worker does: every batch with a message for a dead
 * destination would wait for its timeouts again, and a few such batches
 * would hold up all other mail.  So a destination whose every address timed
 * out (or failed otherwise, one at least by a timeout) before a session is
 * remembered as a file spool/unreachable/NAME, whose mtime is when, holding
 * the last error; for smtp_unreachable_ttl, runs defer its recipients at
 * once.  It is a cache: no fsync, and without a usable folder (a run by hand
 * on a file) there is simply no memory.
 */

static char unreach_dir[PATH_MAX];	/* "": no memory */

static void
unreach_init(void)
{
	struct stat st;

	unreach_dir[0] = '\0';
	if (cf.unreach_ttl <= 0 || path_join(unreach_dir, sizeof unreach_dir,
	    conf_spool(), "unreachable") < 0)
		goto off;
	/* Only inside an existing spool: mkdir, not mkdir -p. */
	if (mkdir(unreach_dir, 0700) < 0 && errno != EEXIST)
		goto off;
	if (stat(unreach_dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(unreach_dir, W_OK | X_OK) < 0)
		goto off;
	return;
off:
	unreach_dir[0] = '\0';
}

/*
 * The record's path for destination d.  The key ("example.org",
 * "[192.0.2.1]:25") is lower-cased and every octet outside [a-z0-9-_.:[]]
 * written %XX, a leading dot too: one name per key, none hidden or "..",
 * no "/".  -1 when the name would be too long (the destination is then
 * not remembered).
 */
static int
unreach_path(const struct dest *d, char *buf, size_t size)
{
	char name[NAME_MAX + 1];
	const char *k;
	size_t n = 0;
	int ch;

	if (unreach_dir[0] == '\0')
		return -1;
	for (k = d->key; *k; k++) {
		ch = tolower((unsigned char)*k);
		if (n + 4 > sizeof name)
			return -1;
		if ((isalnum(ch) && ch < 128) || strchr("-_:[]", ch) != NULL ||
		    (ch == '.' && n > 0))
			name[n++] = (char)ch;
		else
			n += (size_t)snprintf(name + n, 4, "%%%02X", ch);
	}
	name[n] = '\0';
	return n == 0 ? -1 : path_join(buf, size, unreach_dir, name);
}

/* In a worker: remember d as unreachable now, with why. */
static void
unreach_record(const struct dest *d, const char *why)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[TEXT_MAX + 1];
	int fd, n;

	if (unreach_path(d, path, sizeof path) < 0)
		return;
	if (snprintf(tmp, sizeof tmp, "%s/.tmp.%ld", unreach_dir,
	    (long)getpid()) >= (int)sizeof tmp)
		return;
	n = snprintf(line, sizeof line, "%s\n", why);
	if (n < 0 || (size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	/* A reader sees the old record or the new one, never half of it. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		log_warn("unable to remember %s as unreachable in %s: %s", d->key,
		    unreach_dir, strerror(errno));
		if (fd >= 0)
			(void)unlink(tmp);
		return;
	}
	log_info("qid=- dest=%s status=unreachable remembered=%llds reason=\"%s\"",
	    d->key, cf.unreach_ttl, why);
}

/* In a worker: a server of d answered, so forget that it was unreachable. */
static void
unreach_forget(const struct dest *d)
{
	char path[PATH_MAX];

	if (unreach_path(d, path, sizeof path) == 0 && unlink(path) == 0)
		log_info("qid=- dest=%s status=reachable", d->key);
}

/*
 * The age of d's record when it is younger than smtp_unreachable_ttl, with
 * the error it holds in why; -1 when d is to be tried.
 */
static long long
unreach_age(const struct dest *d, time_t now, char *why, size_t whysz)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t k;
	int fd;

	if (unreach_path(d, path, sizeof path) < 0)
		return -1;
	/* O_NONBLOCK: something other than a file there must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_mtime > now ||
	    now - st.st_mtime >= cf.unreach_ttl) {
		close(fd);
		return -1;	/* a clock set back must not keep it forever */
	}
	k = read(fd, why, whysz - 1);
	close(fd);
	why[k > 0 ? k : 0] = '\0';
	why[strcspn(why, "\n")] = '\0';
	clean_field(why);
	return (long long)(now - st.st_mtime);
}

/*
 * In the parent, before any worker starts: the recipients of a destination
 * remembered as unreachable are deferred at once, and it gets no worker.
 */
static void
unreach_skip(void)
{
	char why[TEXT_MAX], text[TEXT_MAX + 400], until[64];
	time_t now = time(NULL), t;
	long long age;
	struct tm tm;
	size_t di, i, k;

	for (di = 0; di < ndests; di++) {
		struct dest *d = &dests[di];

		if (d->nm == 0 || (age = unreach_age(d, now, why, sizeof why)) < 0)
			continue;
		t = now - (time_t)age + (time_t)cf.unreach_ttl;
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(until, sizeof until, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
			snprintf(until, sizeof until, "%lld s", cf.unreach_ttl - age);
		fmt(text, sizeof text, "destination %s was unreachable %llds ago "
		    "(not tried again until %s)%s%s", d->key, age, until,
		    why[0] ? ": " : "", why);
		for (i = 0; i < d->nm; i++) {
			struct msg *m = &msgs[d->m[i]];
			const char *id = m->t.xf[XF_IDENT];

			for (k = 0; k < m->t.nrcpt; k++) {
				struct rstate *rs = &m->rs[k];

				if (rs->dest != (int)di || rs->st != R_PENDING)
					continue;
				rs->st = R_DEFERRED;
				snprintf(rs->status, sizeof rs->status, "4.4.1");
				free(rs->text);
				rs->text = xstrdup(text);
				log_info("qid=%s to=<%s> relay=none delay=%.2f dsn=4.4.1 "
				    "status=deferred reply=\"%s\"", id ? id : "-",
				    m->t.rcpt[k].addr, delay_of(m), text);
			}
		}
		d->nm = 0;	/* no worker */
	}
}

/* ---- the worker's loop --------------------------------------------------- */

static int
msg_pending(const struct job *j, size_t mi)
{
	const struct msg *m = &msgs[mi];
	int di = (int)(j->d - dests);
	size_t k;

	for (k = 0; k < m->t.nrcpt; k++)
		if (m->rs[k].dest == di && m->rs[k].st == R_PENDING)
			return 1;
	return 0;
}

/* Give every pending recipient of messages [from, nm) this soft error. */
static void
soft_all(struct job *j, size_t from, const char *status, const char *text)
{
	int di = (int)(j->d - dests);
	size_t i, k;

	for (i = from; i < j->nm; i++) {
		struct msg *m = &msgs[j->m[i]];

		for (k = 0; k < m->t.nrcpt; k++)
			if (m->rs[k].dest == di && m->rs[k].st == R_PENDING)
				soft(&m->rs[k], status, text, NULL);
	}
}

static void
finish_all(struct job *j, enum rstat st, const char *status, const char *text)
{
	int di = (int)(j->d - dests);
	size_t i, k;

	for (i = 0; i < j->nm; i++) {
		struct msg *m = &msgs[j->m[i]];

		for (k = 0; k < m->t.nrcpt; k++) {
			struct rstate *rs = &m->rs[k];

			if (rs->dest != di || rs->st != R_PENDING)
				continue;
			if (st == R_DEFERRED && rs->text != NULL)
				rcpt_done(j, j->m[i], k, st, rs->status, rs->text, NULL, 0);
			else
				rcpt_done(j, j->m[i], k, st, status, text, NULL, 0);
		}
	}
}

static void
run_job(struct job *j)
{
	char status[16], err[TEXT_MAX];
	struct conn c;
	size_t ti, i;
	int rc, open;

	j->tls_level = tls_level_of(cf.tls_level);
	{
		static struct table tt;
		char v[64];

		if (table_open(&tt, "smtp_tls") == 0 &&
		    table_lookup_domain(&tt, j->d->host, v, sizeof v) == 1)
			j->tls_level = tls_level_of(v);
	}
	if (resolve(j, j->d, status, err, sizeof err) < 0) {
		finish_all(j, status[0] == '5' ? R_BOUNCED : R_DEFERRED, status, err);
		return;
	}
	snprintf(status, sizeof status, "4.4.1");
	fmt(err, sizeof err, "no server of %s could be reached", j->d->host);
	for (ti = 0; ti < j->nt; ti++) {
		for (i = 0; i < j->nm && !msg_pending(j, j->m[i]); i++)
			;
		if (i == j->nm)
			break;
		open = 0;
		for (; i < j->nm; i++) {
			if (!msg_pending(j, j->m[i]))
				continue;
			if (open && c.sent >= j->d->o.reuse) {
				conn_quit(&c);
				open = 0;
			}
			if (!open) {
				rc = session_open(j, &j->t[ti], &c, status, err, sizeof err);
				if (rc == -2)
					rc = session_open(j, &j->t[ti], &c, status, err,
					    sizeof err);
				j->tried++;
				j->dead += rc < 0 && c.dead;
				j->slow += rc < 0 && c.slow;
				if ((rc == 0 || !c.dead) && j->answered++ == 0)
					unreach_forget(j->d);
				if (rc < 0) {
					log_info("qid=- relay=%s[%s]:%u status=unreachable "
					    "reason=\"%s\"", j->t[ti].name, c.ip_s,
					    j->t[ti].port, err);
					soft_all(j, i, status, err);
					break;
				}
				open = 1;
			}
			if (send_msg(j, &c, j->m[i]) < 0) {
				conn_close(&c);
				open = 0;
				break;
			}
			if (wbuf_flush(&j->rep) < 0)
				_exit(EXIT_TEMP);
		}
		if (open)
			conn_quit(&c);
		wbuf_flush(&j->rep);
	}
	/*
	 * Every server failed before a session, one at least by a timeout:
	 * remember it, so that the next runs do not wait for it again.
	 * Refused connections cost no time and are not remembered.
	 */
	if (j->tried > 0 && j->dead == j->tried && j->slow > 0)
		unreach_record(j->d, err);
	finish_all(j, R_DEFERRED, status, err);
}

/* ---- the parent: workers and their reports ------------------------------- */

struct worker {
	pid_t pid;
	int fd;
	struct rbuf in;
	size_t dest;
	size_t *m, nm;
};

static void
report(const char *line, size_t len)
{
	char b[TEXT_MAX * 2 + 600], *f[7], *p;
	size_t mi, ri, i;
	struct rstate *rs;

	if (len >= sizeof b)
		return;
	memcpy(b, line, len);
	b[len] = '\0';
	b[strcspn(b, "\n")] = '\0';
	for (i = 0, p = b; i < 7; i++) {
		f[i] = p;
		p = i < 6 ? strchr(p, '\t') : NULL;
		if (i < 6 && p == NULL)
			return;
		if (p)
			*p++ = '\0';
	}
	mi = strtoul(f[0], NULL, 10);
	ri = strtoul(f[1], NULL, 10);
	if (mi >= nmsgs || ri >= msgs[mi].t.nrcpt)
		return;
	rs = &msgs[mi].rs[ri];
	rs->st = (enum rstat)atoi(f[2]);
	rs->dsn_passed = atoi(f[3]);
	fmt(rs->status, sizeof rs->status, "%s", f[4]);
	free(rs->mta);
	rs->mta = f[5][0] ? xstrdup(f[5]) : NULL;
	free(rs->text);
	rs->text = xstrdup(f[6]);
}

static pid_t
start_worker(struct worker *w, size_t di, size_t *m, size_t nm)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die_sys("unable to make a pipe");
	if ((pid = fork()) < 0)
		die_sys("unable to fork");
	if (pid == 0) {
		struct job j;

		close(p[0]);
		memset(&j, 0, sizeof j);
		j.d = &dests[di];
		j.m = m;
		j.nm = nm;
		if (wbuf_init(&j.rep, p[1], BUF_SIZE) < 0)
			_exit(EXIT_TEMP);
		run_job(&j);
		if (wbuf_flush(&j.rep) < 0)
			_exit(EXIT_TEMP);
		_exit(0);
	}
	close(p[1]);
	w->pid = pid;
	w->fd = p[0];
	w->dest = di;
	w->m = m;
	w->nm = nm;
	if (rbuf_init(&w->in, p[0], 16384) < 0)
		die_nomem();
	return pid;
}

/* A worker is gone: whatever it did not report is deferred. */
static void
worker_done(struct worker *w)
{
	int status = prog_wait(w->pid);
	size_t i, k;

	for (i = 0; i < w->nm; i++) {
		struct msg *m = &msgs[w->m[i]];

		for (k = 0; k < m->t.nrcpt; k++) {
			struct rstate *rs = &m->rs[k];

			if (rs->dest != (int)w->dest || rs->st != R_PENDING)
				continue;
			rs->st = R_DEFERRED;
			fmt(rs->status, sizeof rs->status, "4.3.0");
			free(rs->text);
			rs->text = xstrdup(status ? "delivery worker failed" :
			    "delivery worker ended early");
		}
	}
	rbuf_free(&w->in);
	close(w->fd);
	w->pid = 0;
}

static void
schedule(void)
{
	struct worker *w;
	struct pollfd *pf;
	size_t chunk, di, running = 0, i, next_chunk = 0, next_dest = 0;
	size_t maxw = (size_t)cf.concurrency;
	int more = 1;

	for (di = 0; di < ndests; di++) {
		struct dest *d = &dests[di];

		/*
		 * Another connection for every smtp_messages_per_connection
		 * messages, up to the destination's concurrency: a handful of
		 * messages share one session instead of opening one each.
		 */
		size_t want = (d->nm + (size_t)cf.per_conn - 1) / (size_t)cf.per_conn;

		d->nworkers = (size_t)d->o.concurrency < want ?
		    (size_t)d->o.concurrency : want;
	}
	w = calloc(maxw, sizeof *w);
	pf = calloc(maxw, sizeof *pf);
	if (w == NULL || pf == NULL)
		die_nomem();
	for (;;) {
		/* Start workers: the first of every destination before any second. */
		while (more && running < maxw) {
			struct dest *d;
			size_t lo, hi;

			if (next_dest == ndests) {
				next_dest = 0;
				next_chunk++;
				for (di = 0, more = 0; di < ndests; di++)
					if (dests[di].nworkers > next_chunk)
						more = 1;
				if (!more)
					break;
			}
			d = &dests[next_dest++];
			chunk = next_chunk;
			if (chunk >= d->nworkers)
				continue;
			lo = d->nm * chunk / d->nworkers;
			hi = d->nm * (chunk + 1) / d->nworkers;
			for (i = 0; i < maxw && w[i].pid != 0; i++)
				;
			start_worker(&w[i], (size_t)(d - dests), d->m + lo, hi - lo);
			running++;
		}
		if (running == 0)
			break;
		for (i = 0; i < maxw; i++) {
			pf[i].fd = w[i].pid ? w[i].fd : -1;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, maxw, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_sys("poll");
		}
		for (i = 0; i < maxw; i++) {
			const char *l;
			size_t n;
			int rc;

			if (w[i].pid == 0 || pf[i].revents == 0)
				continue;
			do {
				rc = rbuf_getline(&w[i].in, &l, &n, TEXT_MAX * 2 + 500);
				if (rc == 1 || rc == -2)
					report(l, n);
			} while ((rc == 1 || rc == -2) && memchr(w[i].in.buf +
			    w[i].in.start, '\n', rbuf_pending(&w[i].in)) != NULL);
			if (rc == 0 || rc == -1) {
				worker_done(&w[i]);
				running--;
			}
		}
	}
	free(w);
	free(pf);
}

/* ---- the output ---------------------------------------------------------- */

/* Read message m's wire body back as lines: to a stream, or a spool. */
static void
wire_lines(const struct msg *m, struct stream_writer *w, struct spool *s)
{
	char buf[65536], line[STREAM_TEXT_MAX + 8];
	unsigned long long left = m->len;
	off_t off = m->off;
	size_t ln = 0, i;
	ssize_t k;

	while (left > 0) {
		k = pread(spool_fd, buf, left > sizeof buf ? sizeof buf : (size_t)left,
		    off);
		if (k <= 0)
			die_sys("unable to read the body spool");
		off += k;
		left -= (unsigned long long)k;
		for (i = 0; i < (size_t)k; i++) {
			const char *l = line;
			size_t n;

			if (buf[i] != '\n') {
				if (ln < sizeof line)
					line[ln++] = buf[i];
				continue;
			}
			n = ln > 0 && line[ln - 1] == '\r' ? ln - 1 : ln;
			ln = 0;
			if (n == 1 && line[0] == '.')
				return;		/* the end: the caller writes its "." */
			if (n > 0 && line[0] == '.') {
				l++;
				n--;
			}
			if ((w && stream_write_line(w, l, n) < 0) ||
			    (s && spool_write_line(s, l, n) < 0))
				die_sys("unable to write the output");
		}
	}
}

/* The remote's own reply inside our words, for Diagnostic-Code: smtp. */
static const char *
diag_of(const char *text, char *buf, size_t size)
{
	const char *p = strstr(text, " said: "), *e;

	if (p == NULL)
		return text;
	p += 7;
	e = strstr(p, " (in reply to ");
	fmt(buf, size, "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
	return buf;
}

static void
notices(struct stream_writer *out, struct msg *m)
{
	struct dsn_rcpt *r = calloc(m->t.nrcpt, sizeof *r);
	char (*diag)[TEXT_MAX] = calloc(m->t.nrcpt, TEXT_MAX);
	struct spool s;
	struct dsn d;
	size_t k, n;
	int pass, spooled = 0, rc;

	if (r == NULL || diag == NULL)
		die_nomem();
	for (pass = 0; pass < 2; pass++) {
		enum rstat want = pass == 0 ? R_BOUNCED : R_SENT;

		for (k = n = 0; k < m->t.nrcpt; k++) {
			struct rstate *rs = &m->rs[k];

			if (rs->st != want || (want == R_SENT && rs->dsn_passed))
				continue;
			if (!dsn_wanted(m->t.rcpt[k].notify, pass == 0 ? DSN_FAILED :
			    DSN_RELAYED))
				continue;
			r[n].rcpt = &m->t.rcpt[k];
			r[n].status = rs->status;
			r[n].diag = diag_of(rs->text ? rs->text : "", diag[n], TEXT_MAX);
			r[n].remote_mta = rs->mta;
			n++;
		}
		if (n == 0)
			continue;
		if (!spooled) {
			if (spool_open(&s, spool_tmpdir()) < 0)
				die_sys("unable to make a spool file");
			wire_lines(m, NULL, &s);
			spooled = 1;
		}
		memset(&d, 0, sizeof d);
		d.orig = &m->t;
		d.qid = m->t.xf[XF_IDENT];
		d.action = pass == 0 ? DSN_FAILED : DSN_RELAYED;
		d.body = &s;
		rc = dsn_write(out, &d, r, n);
		if (rc < 0)
			die_sys("unable to write a delivery status notice");
		if (rc == DSN_DEAD)
			log_warn("qid=%s a bounce of a bounce to the postmaster "
			    "failed; dropped", d.qid ? d.qid : "-");
	}
	if (spooled)
		spool_close(&s);
	free(r);
	free(diag);
}

static void
write_output(struct stream_writer *out)
{
	char v[TEXT_MAX + 32], enc[STREAM_XVAL_MAX + 1];
	size_t i, k, vl;

	for (i = 0; i < nmsgs; i++) {
		struct msg *m = &msgs[i];

		/*
		 * A failed double bounce has nobody to go back to: keep its
		 * recipients with their 5.x.x X-DEFER, and sluice-runq puts the
		 * message in dead/ for the postmaster, as sluice-local does.
		 */
		if (dsn_is_double(&m->t))
			for (k = 0; k < m->t.nrcpt; k++)
				if (m->rs[k].st == R_BOUNCED)
					m->rs[k].st = R_DEFERRED;
		notices(out, m);
		for (k = m->t.nrcpt; k-- > 0;) {
			struct rstate *rs = &m->rs[k];

			if (rs->st == R_SENT || rs->st == R_BOUNCED) {
				free(rs->text);
				free(rs->mta);
				txn_del_rcpt(&m->t, k);
				memmove(&m->rs[k], &m->rs[k + 1],
				    (m->t.nrcpt - k) * sizeof *m->rs);
			} else if (rs->st == R_DEFERRED) {
				snprintf(v, sizeof v, "%s %s", rs->status,
				    rs->text ? rs->text : "");
				/* Cut the text until its xtext fits the stream's limit. */
				for (vl = strlen(v); xtext_encode(v, vl, enc,
				    sizeof enc) < 0; vl -= vl / 8 + 1)
					;
				if (xparam_set(m->t.rcpt[k].x, &m->t.rcpt[k].nx,
				    "X-DEFER", enc) < 0)
					die_nomem();
			}
		}
		if (m->t.nrcpt == 0)
			continue;
		if (stream_write_head(out, &m->t) < 0)
			die_sys("unable to write the output");
		wire_lines(m, out, NULL);
		if (stream_write_end(out) < 0)
			die_sys("unable to write the output");
	}
}

int
main(int argc, char **argv)
{
	struct stream_writer out;
	const char *tmp = spool_tmpdir();

	usage_none(argc, argv, "usage: sluice-smtp < stream > stream\nSee sluice-smtp(8).\n");
	log_init(argv[0]);
	gettimeofday(&t_start, NULL);
	signal(SIGPIPE, SIG_IGN);
	settings();
	if ((spool_fd = spool_tmpfile(tmp)) < 0)
		die_sys("unable to make a spool file in %s", tmp);
	if (stream_writer_init(&out, 1, 0) < 0)
		die_nomem();
	unreach_init();
	read_input(&out);
	unreach_skip();
	/* Workers must not inherit unwritten output. */
	if (stream_flush(&out) < 0)
		die_sys("unable to write the output");
	schedule();
	write_output(&out);
	if (stream_flush(&out) < 0)
		die_sys("unable to write the output");
	stream_writer_free(&out);
	return 0;
}
