/*
 * -bm, what sendmail does by default: read one message, complete its
 * envelope and header, and hand it to the queue program.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bodyfile.h"
#include "conf.h"
#include "log.h"
#include "qid.h"
#include "submit.h"
#include "xtext.h"

/* One submission: the envelope, and where the message is read. */
struct deliver {
	const struct opts *o;
	struct names names;
	struct txn t;
	struct input in;
	struct msghead h;
	char qid[QID_LEN + 1];
	char from[ADDR_PATH_MAX + 8];
	char recv[1200];	/* the first line of our Received: field */
	char date[64];
};

static void
login_sender(struct deliver *d)
{
	struct passwd *pw = getpwuid(getuid());
	const char *name = pw ? pw->pw_name : getenv("USER");
	const char *why;

	if (name == NULL || *name == '\0')
		die(EX_TEMPFAIL, "unable to find the login name of uid %ld",
		    (long)getuid());
	if (addrlist_qualify(&d->names, name, strlen(name), d->from,
	    sizeof d->from, &why) < 0)
		die(EX_DATAERR, "login name %s is not a valid address: %s; use -f",
		    name, why);
}

static void
set_sender(struct deliver *d)
{
	const char *s = d->o->sender, *why;
	size_t n;

	if (s == NULL) {
		login_sender(d);
		return;
	}
	n = strlen(s);
	/* -f "<alice@example.org>" and -f "<>" are common; take the brackets off. */
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n == 0) {
		d->from[0] = '\0';
		return;
	}
	if (addrlist_qualify(&d->names, s, n, d->from, sizeof d->from, &why) < 0)
		die(EX_DATAERR, "-f %s: %s", d->o->sender, why);
}

/* The envelope the options and operands give, with a fresh queue id. */
static void
set_envelope(struct deliver *d, int argc, char **argv)
{
	const struct opts *o = d->o;
	char envid[STREAM_ENVID_MAX * 3 + 1];
	const char *why;
	size_t i;

	set_sender(d);
	if (txn_set_from(&d->t, d->from) < 0)
		die(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < (size_t)argc; i++)
		if (addrlist_parse(&d->names, argv[i], strlen(argv[i]), &d->t,
		    o->notify, &why) < 0)
			die(EX_DATAERR, "recipient %s: %s", argv[i], why);
	if (d->t.nrcpt == 0 && !o->extract)
		die(EX_USAGE, "no recipients: name them, or use -t to take them "
		    "from the header");
	if (o->envid) {
		if (strlen(o->envid) > STREAM_ENVID_MAX)
			die(EX_USAGE, "-V: longer than %d octets", STREAM_ENVID_MAX);
		if (xtext_encode(o->envid, strlen(o->envid), envid, sizeof envid) < 0)
			die(EX_USAGE, "-V: cannot be encoded");
		if ((d->t.envid = strdup(envid)) == NULL)
			die(EX_TEMPFAIL, "out of memory");
	}
	d->t.body = o->body;
	d->t.ret = o->ret;
	qid_make(d->qid);
	if (txn_set_xf(&d->t, XF_IDENT, d->qid) < 0 ||
	    txn_set_xf(&d->t, XF_PROTO, "LOCAL") < 0 ||
	    txn_set_xf(&d->t, XF_SOURCE, "LOCAL") < 0)
		die(EX_TEMPFAIL, "out of memory");
}

static void
emit_file(void *ctx, const char *s, size_t n)
{
	struct wbuf *w = ctx;

	if (wbuf_put(w, s, n) < 0 || wbuf_putc(w, '\n') < 0)
		die(EX_TEMPFAIL, "unable to write a temporary file: %s",
		    strerror(w->err));
}

/*
 * -t: the recipients come before the message in the stream, so the
 * header is read first, into a temporary file; its descriptor, rewound.
 * *body says whether a body follows in the input.
 */
static int
extract_to_file(struct deliver *d, int *body)
{
	const char *dir = bodyfile_tmpdir(), *pending;
	const struct txn *r;
	struct wbuf tw;
	size_t plen, i;
	int tfd = bodyfile_tmpfile(dir);

	if (tfd < 0)
		die(EX_TEMPFAIL, "unable to create a file in %s: %s", dir,
		    strerror(errno));
	if (wbuf_init(&tw, tfd, BUF_SIZE) < 0)
		die(EX_TEMPFAIL, "out of memory");
	emit_file(&tw, d->recv, strlen(d->recv));
	wbuf_printf(&tw, "\tid %s; %s\n", d->qid, d->date);
	*body = msghead_read(&d->h, d->qid, d->from, emit_file, &tw, &pending,
	    &plen);
	if (pending)
		emit_file(&tw, pending, plen);
	if (wbuf_flush(&tw) < 0 || lseek(tfd, 0, SEEK_SET) < 0)
		die(EX_TEMPFAIL, "unable to write a temporary file: %s",
		    strerror(errno));
	wbuf_free(&tw);
	r = msghead_rcpts(&d->h);
	for (i = 0; i < r->nrcpt; i++)
		addrlist_add(&d->t, r->rcpt[i].addr, d->o->notify);
	if (d->t.nrcpt == 0)
		die(EX_USAGE, "no recipients in the header (-t) nor on "
		    "the command line");
	return tfd;
}

/* The header written before -t read the input, from its file. */
static void
file_to_queue(int tfd, struct queue *q)
{
	struct rbuf tr;
	const char *l;
	size_t n;
	int rc;

	if (rbuf_init(&tr, tfd, BUF_SIZE) < 0)
		die(EX_TEMPFAIL, "out of memory");
	while ((rc = rbuf_getline(&tr, &l, &n, BUF_SIZE)) == 1) {
		if (n > 0 && l[n - 1] == '\n')
			n--;
		queue_emit(q, l, n);
	}
	if (rc < 0)
		die(EX_TEMPFAIL, "unable to read a temporary file");
	rbuf_free(&tr);
	close(tfd);
}

/* Without -t: the header, read and completed on its way to the queue. */
static int
head_to_queue(struct deliver *d, struct queue *q)
{
	const char *pending;
	char line[200];
	size_t plen;
	int body;

	queue_emit(q, d->recv, strlen(d->recv));
	snprintf(line, sizeof line, "\tid %s; %s", d->qid, d->date);
	queue_emit(q, line, strlen(line));
	body = msghead_read(&d->h, d->qid, d->from, queue_emit, q, &pending,
	    &plen);
	if (pending)
		queue_emit(q, pending, plen);
	return body;
}

int
deliver(const struct opts *o, int argc, char **argv)
{
	static struct deliver d;	/* large: kept off the stack */
	struct queue q;
	const char *l;
	size_t n;
	int body = 0, tfd = -1, st;
	time_t now = time(NULL);

	d.o = o;
	d.names.domain = conf_get("qualify_domain", conf_hostname());
	txn_init(&d.t);
	set_envelope(&d, argc, argv);
	input_init(&d.in, 0, (unsigned long long)conf_size("message_size_limit",
	    35LL << 20), o->dot_ends);
	msghead_init(&d.h, o, &d.names, &d.in);

	/* Where this message entered, like Postfix's pickup: by whom, when. */
	strftime(d.date, sizeof d.date, "%a, %d %b %Y %H:%M:%S %z", localtime(&now));
	snprintf(d.recv, sizeof d.recv, "Received: by %.900s (sluice sendmail, "
	    "from userid %ld)", conf_hostname(), (long)getuid());
	if (o->extract)
		tfd = extract_to_file(&d, &body);
	d.t.smtputf8 = d.names.utf8;

	signal(SIGPIPE, SIG_IGN);
	memset(&q, 0, sizeof q);
	queue_start(&q);
	if (stream_write_head(&q.w, &d.t) < 0)
		q.broken = 1;
	if (o->extract)
		file_to_queue(tfd, &q);
	else
		body = head_to_queue(&d, &q);
	if (body)
		while (input_line(&d.in, &l, &n) == 1)
			queue_emit(&q, l, n);
	if (!q.broken && stream_write_end(&q.w) < 0)
		q.broken = 1;
	st = queue_finish(&q, !q.broken);
	if (o->verbose || st != EX_OK)
		log_info("qid=%s from=<%s> nrcpt=%zu size=%llu status=%s", d.qid,
		    d.from, d.t.nrcpt, d.in.size, st == EX_OK ? "queued" : "failed");
	return st;
}
