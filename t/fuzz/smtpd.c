/*
 * Fuzz target: a whole session of sluice-smtpd (libexec/smtpd/), its
 * command parser, transactions, DATA and AUTH dialogues, against a client
 * that is the input.  Its real main runs (sluice-smtpd.c is included with
 * main renamed), over lib/buf's transport hook instead of descriptors 0
 * and 1: the input arrives all at once, line by line, an octet at a time
 * or in pieces, with a delay per piece on a clock of the target's own
 * (clock_now_ms, wrapped: no sleeping), and ends in EOF or in silence,
 * a timeout.  The first two octets pick that, the client (plain, relay,
 * refused by the access table, listed by SLUICE_DNSBL; TLS; an
 * authenticated submission session) and what the queue program says.
 *
 * The queue program is a stand-in in this process (smtpd_queue.c is
 * included with start, end and abort renamed): it reads back the stream
 * the server wrote, checks the envelope and body through the stream's
 * round trip, and answers with the status picked.  Where the server
 * would end (_exit, die) the target jumps back (--wrap=_exit); fork
 * fails in a session (--wrap=fork), so STARTTLS, AUTH and ETRN take
 * their refusal paths without a child (FUZZ_LDFLAGS_smtpd).
 *
 * After the session, every reply line must be well-formed (three
 * digits, space or dash, printable text, CRLF, 512 octets at most, the
 * same code throughout a reply), and the replies must match the client's
 * lines in order, as a client sees them: one reply per command (the
 * pipelining of RFC 2920), none after 221 or 421, the data read up to
 * the CRLF.CRLF a client means and no further, 354 only after an
 * accepted MAIL and RCPT, 250 after DATA exactly when the stand-in was
 * handed a whole transaction with those recipients and that body and
 * said yes.  No reply may wait unsent while the server reads.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smtpd.h"

int smtpd_main(int, char **);
void fuzz_session_init(struct session *);
#define main smtpd_main
#define smtpd_session_init fuzz_session_init
#include "sluice-smtpd.c"
#undef main
#undef smtpd_session_init

int queue_start_prog(struct queue *, char[QID_LEN + 1]);
int queue_end_prog(struct queue *, int, char *, size_t);
void queue_abort_prog(struct queue *);
#define smtpd_queue_start queue_start_prog
#define smtpd_queue_end queue_end_prog
#define smtpd_queue_abort queue_abort_prog
#include "smtpd_queue.c"
#undef smtpd_queue_start
#undef smtpd_queue_end
#undef smtpd_queue_abort

#include "fuzz.h"
#include "txncheck.h"

#define REPLY_MAX 512		/* RFC 5321 4.5.3.1.5, with CRLF */

static jmp_buf ended;
static int in_session;
static struct session *sess;
static long long now_ms;

/* The client: its octets, and how they arrive. */
static struct {
	const uint8_t *p;
	size_t len, off, piece;
	int by_line, silent;
	long long delay;
} feed;

/* What the server wrote to the client. */
static struct {
	char *buf;
	size_t len, size;
} out;

/* What the queue stand-in was handed, one record per DATA started. */
struct qrec {
	int complete, status;
	size_t nrcpt, received;	/* recipients; lines of the Received: field */
	struct lines body;
};
static struct {
	struct qrec *r;
	size_t n, size;
	int status;
	const char *reason;
} queue;

void __real__exit(int) __attribute__((noreturn));
void __wrap__exit(int) __attribute__((noreturn));
pid_t __real_fork(void);
pid_t __wrap_fork(void);
long long __wrap_clock_now_ms(void);

void
__wrap__exit(int code)
{
	if (in_session)
		longjmp(ended, 1);
	__real__exit(code);
}

/* No child in a session: as when the process limit is reached. */
pid_t
__wrap_fork(void)
{
	if (in_session) {
		errno = EAGAIN;
		return -1;
	}
	return __real_fork();
}

long long
__wrap_clock_now_ms(void)
{
	return now_ms;
}

/* A piece of the input, or a timeout when it comes too late (or never). */
static ssize_t
feed_read(void *ctx, void *p, size_t n, long long deadline)
{
	size_t k = feed.len - feed.off;

	(void)ctx;
	if (sess->out.len != 0)
		fuzz_fail("the server waits for input with replies unsent");
	if (k == 0 && !feed.silent)
		return 0;
	if (deadline != 0 && (k == 0 || now_ms + feed.delay >= deadline)) {
		now_ms = deadline;
		errno = ETIMEDOUT;
		return -1;
	}
	if (k == 0)
		return 0;
	now_ms += feed.delay;
	return (ssize_t)fuzz_piece(feed.p, feed.len, &feed.off, p, n, feed.piece,
	    feed.by_line);
}

static ssize_t
out_write(void *ctx, const void *p, size_t n, long long deadline)
{
	(void)ctx;
	(void)deadline;
	out.buf = fuzz_grow(out.buf, &out.size, out.len + n, 1);
	memcpy(out.buf + out.len, p, n);
	out.len += n;
	return (ssize_t)n;
}

static const struct buf_io in_io = { feed_read, NULL, NULL };
static const struct buf_io out_io = { NULL, out_write, NULL };

/* The real initialisation, then the transport instead of 0 and 1. */
void
fuzz_session_init(struct session *s)
{
	/*
	 * main's session is static and sluice-smtpd relies on exec to leave it
	 * zero (smtpd_session_init does not clear it): here one process runs
	 * session after session, so the last input's state is cleared first.
	 */
	memset(s, 0, sizeof *s);
	smtpd_session_io(s);
	smtpd_session_init(s);
	sess = s;
	s->in.io = &in_io;
	s->out.io = &out_io;
	if (getenv("FUZZ_AUTH_USER") != NULL) {
		/* As after a successful AUTH, which needs a child here. */
		snprintf(s->auth_user, sizeof s->auth_user, "%s", getenv("FUZZ_AUTH_USER"));
		s->authenticated = 1;
	}
}

/* ---- the queue stand-in ---- */

int
smtpd_queue_start(struct queue *q, char qid[QID_LEN + 1])
{
	int fd = memfd_create("queue", MFD_CLOEXEC);

	(void)qid;

	if (fd < 0 || (q->err = dup(fd)) < 0)
		fuzz_fail("memfd");
	q->pid = 1;		/* running, for smtpd_session_read_failed */
	q->in = fd;
	q->w.out.fd = q->in;
	q->w.out.len = 0;
	q->w.out.err = 0;
	q->w.out.total = 0;
	return 0;
}

static struct qrec *
qrec_new(void)
{
	queue.r = fuzz_grow(queue.r, &queue.size, queue.n + 1, sizeof *queue.r);
	memset(&queue.r[queue.n], 0, sizeof queue.r[0]);
	return &queue.r[queue.n++];
}

/* Read back what the server wrote, as sluice-enqueue would. */
static void
qrec_read(struct qrec *rec, int fd)
{
	struct stream_reader r;
	struct txn t, u;
	const char *l;
	size_t n;
	int rc;

	if (lseek(fd, 0, SEEK_SET) < 0 || stream_reader_init(&r, fd, "queue") < 0)
		fuzz_fail("queue stand-in");
	txn_init(&t);
	txn_init(&u);
	if (stream_read_txn(&r, &t) == 1) {
		while ((rc = stream_read_line(&r, &l, &n)) == 1)
			lines_add(&rec->body, l, n);
		rec->complete = rc == 0 && stream_read_txn(&r, &u) == 0;
	}
	if (rec->complete) {
		if (t.nrcpt == 0 || t.from == NULL || t.xf[XF_IDENT] == NULL)
			fuzz_fail("the queue was handed a transaction without "
			    "recipient, sender or queue id");
		rec->nrcpt = t.nrcpt;
		txncheck_roundtrip(&t, &rec->body);
	}
	txn_free(&t);
	txn_free(&u);
	stream_reader_free(&r);
}

int
smtpd_queue_end(struct queue *q, int complete, char *reason, size_t rsz)
{
	struct qrec *rec = qrec_new();

	if (!complete)
		smtpd_queue_close_input(q);
	reason[0] = '\0';
	qrec_read(rec, q->err);
	rec->received = 3 + (sess->tls != 0) + (sess->auth_user[0] != '\0');
	/* A stream cut short makes sluice-enqueue fail and commit nothing. */
	rec->status = rec->complete ? queue.status : EXIT_TEMP;
	if (rec->status != 0)
		snprintf(reason, rsz, "%s", queue.reason);
	close(q->err);
	q->err = -1;
	q->pid = -1;
	return rec->status;
}

void
smtpd_queue_abort(struct queue *q)
{
	char reason[REASON_MAX + 1];

	if (q->pid > 0)
		(void)smtpd_queue_end(q, 0, reason, sizeof reason);
}

/* ---- what the client saw ---- */

struct reply {
	int code;
	const char *text;	/* of its last line */
	size_t tl;
};
static struct {
	struct reply *r;
	size_t n, size;
} rep;

/* One reply line, checked; its code, and whether it is the last. */
static int
reply_line(const char *l, size_t n, int *last)
{
	size_t i;

	if (n > REPLY_MAX)
		fuzz_fail("a reply line longer than 512 octets");
	if (n < 5 || l[n - 2] != '\r')
		fuzz_fail("a reply line that does not end in CRLF");
	if (l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
	    l[2] < '0' || l[2] > '9')
		fuzz_fail("a reply line without a reply code");
	if (n > 5 && l[3] != ' ' && l[3] != '-')
		fuzz_fail("a reply code followed by neither space nor dash");
	for (i = 4; i + 2 < n; i++)
		if ((unsigned char)l[i] < 32 || l[i] == 127)
			fuzz_fail("a control octet in a reply");
	*last = n == 5 || l[3] == ' ';
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

static void
replies_parse(void)
{
	size_t off = 0, n;
	const char *l, *e;
	int code, cont = -1, last;

	rep.n = 0;
	for (; off < out.len; off += n) {
		l = out.buf + off;
		if ((e = memchr(l, '\n', out.len - off)) == NULL)
			fuzz_fail("a reply line cut short");
		n = (size_t)(e - l) + 1;
		code = reply_line(l, n, &last);
		if (cont != -1 && code != cont)
			fuzz_fail("a multi-line reply changes its code");
		cont = last ? -1 : code;
		if (!last)
			continue;
		rep.r = fuzz_grow(rep.r, &rep.size, rep.n + 1, sizeof *rep.r);
		rep.r[rep.n].code = code;
		rep.r[rep.n].text = n > 5 ? l + 4 : "";
		rep.r[rep.n++].tl = n > 5 ? n - 6 : 0;
	}
	if (cont != -1)
		fuzz_fail("a multi-line reply without its last line");
}

static size_t
line_at(const struct lines *b, size_t off, const char **l, size_t *n)
{
	memcpy(n, b->buf + off, sizeof *n);
	*l = b->buf + off + sizeof *n;
	return off + sizeof *n + *n;
}

static int
starts(const char *l, size_t n, const char *with)
{
	size_t k = strlen(with);

	return n >= k && memcmp(l, with, k) == 0;
}

/*
 * The body the queue got: the Received: field, then the lines the client
 * sent, dot-stuffing undone (submission adds Date: and Message-ID:).
 */
static void
body_check(const struct qrec *rec, const struct lines *data, int submission)
{
	size_t off = 0, doff = 0, i, n, dn;
	const char *l, *d;
	int extra = 0;

	for (i = 0; i < rec->received; i++) {
		if (off == rec->body.len)
			fuzz_fail("the queue was handed a body without Received:");
		off = line_at(&rec->body, off, &l, &n);
		if (i == 0 ? !starts(l, n, "Received: from ") : !starts(l, n, "\t"))
			fuzz_fail("the queue was handed a malformed Received: field");
	}
	while (off < rec->body.len) {
		size_t next = line_at(&rec->body, off, &l, &n);

		if (doff < data->len) {
			size_t dnext = line_at(data, doff, &d, &dn);

			if (dn == n && memcmp(d, l, n) == 0) {
				off = next;
				doff = dnext;
				continue;
			}
		}
		if (!submission || extra++ == 2 ||
		    !(starts(l, n, "Date: ") || starts(l, n, "Message-ID: <")))
			fuzz_fail("the queue was handed another body than the client sent");
		off = next;
	}
	if (doff != data->len)
		fuzz_fail("the queue was handed a body cut short");
}

/* The reply to the end of the data, and what the queue was handed. */
static void
data_end_check(const struct reply *r, const struct qrec *rec,
    const struct lines *data, size_t nacc, int submission)
{
	int took = rec->complete && rec->status == 0;

	if (r->code == 250 && !took)
		fuzz_fail("250 after DATA for a message the queue did not take");
	if (took && r->code != 250)
		fuzz_fail("a message the queue took was not answered 250");
	if (r->code == 250 && !starts(r->text, r->tl, "2.0.0 Ok: queued as "))
		fuzz_fail("250 after DATA without its queue id");
	if (r->code != 250 && r->code < 400)
		fuzz_fail("after DATA, neither 250 nor a refusal");
	if (rec->complete) {
		if (rec->nrcpt > nacc)
			fuzz_fail("the queue was handed more recipients than were accepted");
		body_check(rec, data, submission);
	}
}

static int
verb(const char *l, size_t n, const char *v)
{
	return n >= 4 && strncasecmp(l, v, 4) == 0 && (n == 4 || l[4] == ' ');
}

/* The verb alone (the server takes one space after it as no argument). */
static int
bare(const char *l, size_t n, const char *v)
{
	return verb(l, n, v) && (n == 4 || n == 5);
}

enum { M_CMD, M_DATA, M_AUTH };

/* A client's count of the session, as it reads the replies. */
struct model {
	int mode, have_mail, after_crlf, submission;
	size_t ri, nacc, nq;	/* next reply; recipients taken; 354s seen */
	struct lines data;	/* of the current DATA */
};

/* One line of the data (n with its line end), or its end. */
static void
data_line(struct model *m, const char *p, size_t n, size_t tn)
{
	if (m->after_crlf && n == 3 && p[0] == '.' && p[1] == '\r') {
		if (m->ri == rep.n)
			fuzz_fail("the end of the data went unanswered");
		data_end_check(&rep.r[m->ri++], &queue.r[m->nq - 1], &m->data,
		    m->nacc, m->submission);
		m->mode = M_CMD;
		m->have_mail = 0;
		m->data.len = 0;
		return;
	}
	m->after_crlf = n >= 2 && p[n - 2] == '\r';
	lines_add(&m->data, p + (p[0] == '.'), tn - (p[0] == '.'));
}

/* What a positive reply to a command line (tn octets) says. */
static void
reply_positive(struct model *m, const struct reply *r, const char *p, size_t tn)
{
	if (r->code == 334) {
		if (!verb(p, tn, "AUTH"))
			fuzz_fail("334 to something else than AUTH");
		m->mode = M_AUTH;
	} else if (r->code == 354) {
		if (!bare(p, tn, "DATA"))
			fuzz_fail("354 to something else than DATA");
		if (!m->have_mail || m->nacc == 0)
			fuzz_fail("354 without an accepted sender and recipient");
		if (m->nq++ == queue.n)
			fuzz_fail("354 without the queue program started");
		m->mode = M_DATA;
		m->after_crlf = 1;
	} else if (verb(p, tn, "MAIL")) {
		if (m->have_mail)
			fuzz_fail("250 to a second MAIL");
		m->have_mail = 1;
		m->nacc = 0;
	} else if (verb(p, tn, "RCPT")) {
		if (!m->have_mail)
			fuzz_fail("250 to RCPT without MAIL");
		m->nacc++;
	} else if (verb(p, tn, "DATA"))
		fuzz_fail("250 to DATA before the data");
	else if (verb(p, tn, "RSET") || verb(p, tn, "EHLO") || verb(p, tn, "HELO"))
		m->have_mail = 0;
}

/* One command line (or AUTH response) and its reply; last: no line after. */
static void
command_line(struct model *m, const char *p, size_t tn, int last)
{
	const struct reply *r;

	if (m->ri == rep.n)
		fuzz_fail("a command went unanswered");
	r = &rep.r[m->ri++];
	if ((r->code == 421 || r->code == 221) && (m->ri != rep.n || !last))
		fuzz_fail("a reply or a command taken after the session's end");
	if (r->code == 221 && !bare(p, tn, "QUIT"))
		fuzz_fail("221 to something else than QUIT");
	if (r->code == 220)
		fuzz_fail("220 after the greeting");
	if (m->mode == M_AUTH) {
		if (r->code != 334)
			m->mode = M_CMD;
	} else if (r->code == 334 || r->code == 354 || r->code == 250)
		reply_positive(m, r, p, tn);
	else if (r->code == 451 && verb(p, tn, "DATA"))
		m->have_mail = 0;	/* no queue program: the transaction is gone */
}

/*
 * Walk the client's whole lines (those the server took) beside the
 * replies, as a client keeping count of a pipelined session would.
 */
static void
session_check(size_t consumed, int submission)
{
	const char *p = (const char *)feed.p, *end = p + consumed, *nl;
	struct model m = { M_CMD, 0, 1, submission, 1, 0, 0, { 0 } };
	size_t n, tn;

	replies_parse();
	if (rep.n == 0 || (rep.r[0].code != 220 && rep.r[0].code != 554 &&
	    rep.r[0].code != 421))
		fuzz_fail("no greeting");
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		n = (size_t)(nl - p) + 1;
		tn = n - 1 - (n >= 2 && p[n - 2] == '\r');
		if (m.mode == M_DATA)
			data_line(&m, p, n, tn);
		else
			command_line(&m, p, tn, nl + 1 == end);
	}
	/* A timeout, the time limit or too many errors: 421, then the end. */
	if (m.ri < rep.n && !(m.ri + 1 == rep.n && rep.r[m.ri].code == 421))
		fuzz_fail("a reply to no command");
	if (m.nq != queue.n)
		fuzz_fail("the queue program started without 354");
	lines_free(&m.data);
}

/* ---- set-up ---- */

static void
cdb_write(const char *dir, const char *name, const char *const *kv)
{
	char path[4200];
	struct cdb_make cm;
	size_t i;
	int fd;

	snprintf(path, sizeof path, "%s/%s.cdb", dir, name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    cdb_make_start(&cm, fd) < 0)
		fuzz_fail("cdb");
	for (i = 0; kv[i] != NULL; i += 2)
		if (cdb_make_add(&cm, kv[i], (unsigned)strlen(kv[i]), kv[i + 1],
		    (unsigned)strlen(kv[i + 1])) < 0)
			fuzz_fail("cdb");
	if (cdb_make_finish(&cm) < 0)
		fuzz_fail("cdb");
	close(fd);
}

/*
 * Short limits, so that the fuzzer reaches them: timeouts on the
 * target's clock, few recipients and Received: fields, small messages.
 * STARTTLS and AUTH are offered; their children cannot start here.
 */
static const char *const config[] = {
	"hostname", "mx.example.org", "log", "stderr",
	"smtpd_timeout", "10", "smtpd_session_time_limit", "60",
	"smtpd_data_time_limit", "20", "smtpd_error_delay", "0",
	"smtpd_client_connection_limit", "0",
	"smtpd_client_net_connection_limit", "0",
	"message_size_limit", "10000", "max_recipients", "5", "max_received", "5",
	"smtpd_tls_cert", "/nonexistent/cert.pem", "smtpd_auth", "yes",
	"smtpd_auth_program", "/bin/true", "smtpd_auth_failure_delay", "0",
	NULL
};
static const char *const access_tab[] = { "192.0.2.66", "reject", NULL };
static const char *const domains[] = { "example.org", "local", NULL };
static const char *const users[] = {
	"alice@example.org", "alice", "bob", "bob", NULL
};
static const char *const aliases[] = {
	"info@example.org", "alice@example.org", NULL
};

static void
setup(void)
{
	char conf[4200], spool[4200];

	snprintf(conf, sizeof conf, "%s/conf", fuzz_tmpdir());
	snprintf(spool, sizeof spool, "%s/spool", fuzz_tmpdir());
	if (mkdir(conf, 0700) < 0 || mkdir(spool, 0700) < 0)
		fuzz_fail("configuration folder");
	cdb_write(conf, "config", config);
	cdb_write(conf, "access", access_tab);
	cdb_write(conf, "domains", domains);
	cdb_write(conf, "users", users);
	cdb_write(conf, "aliases", aliases);
	/*
	 * A queue program, so that the stand-in is what runs (without one,
	 * the server would write the spool itself); it is never exec'd.
	 */
	if (setenv("SLUICE_CONF", conf, 1) < 0 || setenv("SLUICE_SPOOL", spool, 1) < 0 ||
	    setenv("SLUICE_QUEUE", "/bin/true", 1) < 0 ||
	    setenv("SLUICE_ALLOW_ROOT", "1", 1) < 0 ||
	    setenv("TCPREMOTEPORT", "25000", 1) < 0 ||
	    setenv("TCPREMOTEHOST", "client.example.net", 1) < 0)
		fuzz_fail("setenv");
}

static void
env(const char *name, const char *val)
{
	if (val != NULL ? setenv(name, val, 1) < 0 : unsetenv(name) < 0)
		fuzz_fail("setenv");
}

/* The client and the queue's answer, from the first two octets. */
static void
choose(uint8_t o0, uint8_t o1)
{
	static const long long delay[4] = { 0, 0, 2000, 7000 };
	static const int status[4] = { 0, EXIT_PERM, EXIT_TEMP, 0 };
	static const char *const reason[4] = {
		"",
		"sluice-enqueue: fatal: 5.7.1 Refused by the test's policy",
		"sluice-enqueue: fatal: 4.3.2 Queue full \001\177 try later",
		"sluice-enqueue: fatal: 5.1.1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	int kind = (o0 >> 5) & 3, tls = (o0 & 0x80) || (o1 & 0x80);

	feed.by_line = (o0 & 3) == 1;
	feed.piece = (o0 & 3) == 2 ? 1 : (o0 & 3) == 3 ? 2 + ((o1 >> 4) & 7) * 9u : 0;
	feed.delay = delay[(o0 >> 2) & 3];
	feed.silent = (o0 & 0x10) != 0;
	queue.status = status[o1 & 3];
	queue.reason = reason[(o1 >> 2) & 3];
	env("TCPREMOTEIP", kind == 2 ? "192.0.2.66" : "192.0.2.1");
	env("RELAYCLIENT", kind == 1 || (o1 & 0x80) ? "" : NULL);
	env("SLUICE_DNSBL", kind == 3 ? "554 5.7.1 Service unavailable; client listed" : NULL);
	env("SSL_PROTOCOL", tls ? "TLSv1.3" : NULL);
	env("SSL_CIPHER", tls ? "TLS_AES_256_GCM_SHA384" : NULL);
	env("SSL_CIPHER_USEKEYSIZE", tls ? "256" : NULL);
	env("SLUICE_SMTPD_MODE", o1 & 0x80 ? "submission" : NULL);
	env("FUZZ_AUTH_USER", o1 & 0x80 ? "alice@example.org" : NULL);
}

static void
session_free(struct session *s)
{
	txn_free(&s->t);
	rbuf_free(&s->in);
	wbuf_free(&s->out);
	stream_writer_free(&s->q.w);
	table_close(&s->domains);
	table_close(&s->users);
	table_close(&s->aliases);
	table_close(&s->senders);
	if (s->dns != NULL)
		dns_close(s->dns);
	if (s->q.in >= 0)
		close(s->q.in);
	if (s->q.err >= 0)
		close(s->q.err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static char name[] = "sluice-smtpd";
	static char *argv[] = { name, NULL };
	size_t i;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 2 || size > 65536)
		return 0;
	memset(&feed, 0, sizeof feed);
	choose(data[0], data[1]);
	feed.p = data + 2;
	feed.len = size - 2;
	now_ms = 1000000000000LL;
	out.len = 0;
	queue.n = 0;
	sess = NULL;
	in_session = 1;
	if (setjmp(ended) == 0)
		smtpd_main(1, argv);
	in_session = 0;
	if (sess == NULL)
		fuzz_fail("the session ended before it began");
	session_check(feed.off - rbuf_pending(&sess->in), (data[1] & 0x80) != 0);
	session_free(sess);
	for (i = 0; i < queue.n; i++)
		lines_free(&queue.r[i].body);
	return 0;
}
