/*
 * sluice-bsmtp-encode: the sending end of a BSMTP tunnel (RFC 2442).  A
 * chain stage: it takes the recipients that sluice-route sent to
 * bsmtp:MAILBOX, wraps their transaction, envelope and all, into an
 * application/batch-SMTP message addressed to MAILBOX, and adds that
 * message to the stream as a new transaction.  See sluice-bsmtp-encode(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "b64.h"
#include "bodyfile.h"
#include "bsmtp.h"
#include "conf.h"
#include "dsn.h"
#include "fmt.h"
#include "log.h"
#include "qid.h"
#include "route.h"
#include "stage.h"
#include "stream.h"
#include "table.h"
#include "text.h"
#include "xtext.h"
#include "usage.h"

#define TUNNEL_OPEN_MAX 32	/* tunnels filled at once in batch mode */
#define HEADER_RESERVE 1024	/* the tunnel message's header, at most */
#define LINE_7BIT_MAX 998	/* a line a 7bit body may hold (RFC 5322 2.1.1) */

struct opts {
	int plain;		/* form=plain: no ESMTP parameters inside */
	int batch;		/* batch=yes: one message per mailbox per run */
	unsigned long long max;	/* max_size: the tunnel message as mailed */
	char secret[BSMTP_OPT_MAX];
};

struct tunnel {
	char mailbox[ADDR_PATH_MAX + 1];
	char id[BSMTP_ID_MAX + 1];	/* its Message-ID, without brackets */
	struct opts o;
	struct stream_writer w;	/* the batch, CRLF, into an unlinked file */
	unsigned ntxn;
	int clean7;		/* every line fits a 7bit body as it is */
};

/* Recipients that fail here, with why: each transaction's bounce. */
struct fail {
	struct txn t;
	const char *status[STREAM_RCPT_MAX];
	char diag[STREAM_RCPT_MAX][400];
};

struct enc {
	struct stream_writer out;
	struct bodyfile sp;	/* the current body */
	struct tunnel *tun[TUNNEL_OPEN_MAX];
	size_t ntun;
	struct table tunnels;
	const char *sender;
	struct opts defaults;
	struct fail fail;
	struct txn relayed;	/* plain form: NOTIFY=SUCCESS recipients */
	unsigned long seq;
};

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

static void
opts_parse(struct opts *o, const char *val, const char *where)
{
	char v[BSMTP_OPT_MAX];
	long long n;

	if (bsmtp_opt(val, "form", v, sizeof v) == 1) {
		if (strcmp(v, "plain") != 0 && strcmp(v, "sluice") != 0)
			die(EXIT_TEMP, "4.3.5 %s: form must be sluice or plain", where);
		o->plain = strcmp(v, "plain") == 0;
	}
	if (bsmtp_opt(val, "batch", v, sizeof v) == 1)
		o->batch = strcmp(v, "yes") == 0;
	if (bsmtp_opt(val, "max_size", v, sizeof v) == 1) {
		if ((n = conf_parse_size(v)) < 4096)
			die(EXIT_TEMP, "4.3.5 %s: max_size must be a size of 4k or more", where);
		o->max = (unsigned long long)n;
	}
	if (bsmtp_opt(val, "secret", o->secret, sizeof o->secret) < 0)
		die(EXIT_TEMP, "4.3.5 %s: secret too long", where);
}

/* The options of a tunnel: the settings, then its bsmtp_tunnels entry. */
static void
opts_for(struct enc *e, const char *mailbox, struct opts *o)
{
	char val[TABLE_VAL_MAX], key[TABLE_KEY_MAX];
	int rc;

	*o = e->defaults;
	rc = table_lookup_addr(&e->tunnels, mailbox, val, sizeof val, key,
	    sizeof key);
	if (rc < 0)
		die_sys("unable to read table bsmtp_tunnels");
	if (rc == 1)
		opts_parse(o, val, "table bsmtp_tunnels");
}

/* The bsmtp mailbox of a recipient, or NULL. */
static const char *
tunnel_of(const struct rcpt *rc, struct route *r)
{
	const char *err;

	if (route_get(rc, r, &err) != 1 || r->ch != ROUTE_BSMTP)
		return NULL;
	return r->arg;
}

/* A new id and an empty batch, begun as an SMTP client would (EHLO). */
static void
tunnel_start(struct enc *e, struct tunnel *tn)
{
	char qid[QID_LEN + 1];

	qid_make(qid);
	if (snprintf(tn->id, sizeof tn->id, "bsmtp.%s.%lu@%s", qid, ++e->seq,
	    conf_hostname()) >= (int)sizeof tn->id)
		die(EXIT_TEMP, "hostname too long for a Message-ID");
	tn->ntxn = 0;
	tn->clean7 = 1;
	if (wbuf_printf(&tn->w.out, "EHLO %s\r\n", conf_hostname()) < 0)
		die_sys("unable to write a temporary file");
}

static struct tunnel *
tunnel_open(struct enc *e, const char *mailbox)
{
	struct tunnel *tn;
	int fd;

	if ((tn = calloc(1, sizeof *tn)) == NULL)
		die_nomem();
	snprintf(tn->mailbox, sizeof tn->mailbox, "%s", mailbox);
	opts_for(e, mailbox, &tn->o);
	if ((fd = bodyfile_tmpfile(bodyfile_tmpdir())) < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	if (stream_writer_init(&tn->w, fd, STREAM_W_CRLF |
	    (tn->o.plain ? STREAM_W_PLAIN : STREAM_W_EXPORT)) < 0)
		die_nomem();
	tunnel_start(e, tn);
	return tn;
}

static void
tunnel_free(struct tunnel *tn)
{
	close(tn->w.out.fd);
	stream_writer_free(&tn->w);
	free(tn);
}

/* The size of the tunnel message as mailed, when the batch is size octets. */
static unsigned long long
mailed_size(unsigned long long size, int clean7)
{
	size += 6;	/* QUIT */
	return HEADER_RESERVE + (clean7 ? size : b64_encoded_size(size));
}

/* Go back to offset off of the batch, forgetting what was written after. */
static void
tunnel_cut(struct tunnel *tn, unsigned long long off)
{
	if (stream_flush(&tn->w) < 0 || ftruncate(tn->w.out.fd, (off_t)off) < 0 ||
	    lseek(tn->w.out.fd, (off_t)off, SEEK_SET) < 0)
		die_sys("unable to write a temporary file");
	tn->w.out.total = off;
}

/*
 * Write transaction t (the body in the spool) into the batch.  Returns 1
 * when every line fits a 7bit body, 0 when not, -1 when the body holds
 * NUL or a CR outside CRLF, which an RFC 2442 batch cannot carry.
 */
static int
tunnel_put(struct tunnel *tn, const struct txn *t, struct bodyfile *sp)
{
	unsigned long long before = tn->w.out.total;
	const char *l;
	size_t n, i;
	int rc, clean = 1;

	if (stream_write_head(&tn->w, t) < 0)
		die_sys("unable to write a temporary file");
	if (tn->w.out.total - before > LINE_7BIT_MAX || text_has8bit(t->from,
	    strlen(t->from)))
		clean = 0;
	for (i = 0; i < t->nrcpt; i++)
		if (text_has8bit(t->rcpt[i].addr, strlen(t->rcpt[i].addr)))
			clean = 0;
	if (bodyfile_rewind(sp) < 0)
		die_sys("unable to read the spooled message");
	while ((rc = bodyfile_getline(sp, &l, &n)) == 1) {
		if (memchr(l, '\0', n) != NULL || memchr(l, '\r', n) != NULL)
			return -1;
		if (n + (n > 0 && l[0] == '.') > LINE_7BIT_MAX || text_has8bit(l, n))
			clean = 0;
		if (stream_write_line(&tn->w, l, n) < 0)
			die_sys("unable to write a temporary file");
	}
	if (rc < 0)
		die_sys("unable to read the spooled message");
	if (stream_write_end(&tn->w) < 0)
		die_sys("unable to write a temporary file");
	return clean;
}

static void tunnel_emit(struct enc *e, struct tunnel *tn);

static struct tunnel *
tunnel_find(struct enc *e, const char *mailbox)
{
	size_t i;

	for (i = 0; i < e->ntun; i++)
		if (strcasecmp(e->tun[i]->mailbox, mailbox) == 0)
			return e->tun[i];
	if (e->ntun == TUNNEL_OPEN_MAX) {
		/* Too many at once: send the oldest as it is. */
		tunnel_emit(e, e->tun[0]);
		tunnel_free(e->tun[0]);
		memmove(e->tun, e->tun + 1, (e->ntun - 1) * sizeof e->tun[0]);
		e->ntun--;
	}
	return e->tun[e->ntun++] = tunnel_open(e, mailbox);
}

/*
 * Add transaction part to the tunnel for mailbox.  A transaction that
 * would take the tunnel message over its size gets a message of its own;
 * 0, or the status of the failure ("5.3.4" too big, "5.6.0" unfit
 * octets) with the reason in diag.
 */
static const char *
tunnel_add(struct enc *e, const char *mailbox, const struct txn *part,
    char *diag, size_t dsz)
{
	struct tunnel *tn = tunnel_find(e, mailbox);
	unsigned long long off = tn->w.out.total;
	int clean, again = 0;

	for (;;) {
		if ((clean = tunnel_put(tn, part, &e->sp)) < 0) {
			tunnel_cut(tn, off);
			snprintf(diag, dsz, "the message holds NUL or a CR outside "
			    "CRLF, which a BSMTP tunnel (RFC 2442) cannot carry");
			return "5.6.0";
		}
		if (mailed_size(tn->w.out.total, tn->clean7 && clean) <= tn->o.max)
			break;
		tunnel_cut(tn, off);
		if (tn->ntxn == 0 || again) {
			snprintf(diag, dsz, "message too big for the BSMTP tunnel to "
			    "%s (limit %llu octets)", mailbox, tn->o.max);
			return "5.3.4";
		}
		/* Send what the tunnel holds, and start a new one with this. */
		tunnel_emit(e, tn);
		off = tn->w.out.total;
		again = 1;
	}
	tn->ntxn++;
	tn->clean7 &= clean;
	return NULL;
}

/* Write the header of the tunnel message, MAC included. */
static void
emit_header(struct enc *e, struct tunnel *tn, const char *mac)
{
	char date[64], line[1100];
	int n;

	dsn_date(time(NULL), date, sizeof date);
	n = snprintf(line, sizeof line,
	    "From: BSMTP tunnel <%s>\nTo: <%s>\nSubject: BSMTP tunnel from %s: "
	    "%u message%s\nDate: %s\nMessage-ID: <%s>\nAuto-Submitted: "
	    "auto-generated\nMIME-Version: 1.0\nContent-Type: application/batch-SMTP\n"
	    "Content-Transfer-Encoding: %s", e->sender, tn->mailbox,
	    conf_hostname(), tn->ntxn, tn->ntxn == 1 ? "" : "s", date, tn->id,
	    tn->clean7 ? "7bit" : "base64");
	if (n < 0 || (size_t)n >= sizeof line)
		die(EXIT_TEMP, "4.3.5 tunnel header too long");
	for (char *p = line, *q; p != NULL; p = q) {
		if ((q = strchr(p, '\n')) != NULL)
			*q++ = '\0';
		if (stream_write_line(&e->out, p, strlen(p)) < 0)
			die_sys("unable to write");
	}
	if (mac != NULL) {
		n = snprintf(line, sizeof line, "%s: %s", BSMTP_MAC_FIELD, mac);
		if (stream_write_line(&e->out, line, (size_t)n) < 0)
			die_sys("unable to write");
	}
	if (stream_write_line(&e->out, "", 0) < 0)
		die_sys("unable to write");
}

/* The MAC of the batch in tn's file (every line ends in CRLF). */
static void
batch_mac(struct tunnel *tn, char *out, size_t size)
{
	struct sha256_hmac m;
	char buf[BUF_SIZE];
	ssize_t k;
	int fd = tn->w.out.fd;

	bsmtp_mac_init(&m, tn->o.secret, tn->id);
	if (lseek(fd, 0, SEEK_SET) < 0)
		die_sys("unable to read a temporary file");
	while ((k = read(fd, buf, sizeof buf)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die_sys("unable to read a temporary file");
		sha256_hmac_update(&m, buf, (size_t)k);
	}
	bsmtp_mac_final(&m, out, size);
}

/* The batch as the body: its lines as they are, or base64. */
static void
emit_body(struct enc *e, struct tunnel *tn)
{
	struct rbuf r;
	const char *l;
	size_t n;
	char enc[B64_LINE_OUT + 4];
	unsigned char raw[B64_LINE_IN];
	ssize_t k;
	int rc;

	if (lseek(tn->w.out.fd, 0, SEEK_SET) < 0 ||
	    rbuf_init(&r, tn->w.out.fd, BUF_SIZE) < 0)
		die_sys("unable to read a temporary file");
	if (tn->clean7) {
		while ((rc = rbuf_getline(&r, &l, &n, STREAM_CMD_MAX)) == 1) {
			n -= n >= 2 && l[n - 2] == '\r' ? 2 : 1;
			if (stream_write_line(&e->out, l, n) < 0)
				die_sys("unable to write");
		}
	} else {
		for (;;) {
			size_t got = 0;

			while (got < sizeof raw && (k = rbuf_read(&r, (char *)raw + got,
			    sizeof raw - got)) > 0)
				got += (size_t)k;
			if (got == 0)
				break;
			if (stream_write_line(&e->out, enc, b64_encode(raw, got, enc)) < 0)
				die_sys("unable to write");
		}
		rc = r.err ? -1 : 0;
	}
	if (rc < 0)
		die_sys("unable to read a temporary file");
	rbuf_free(&r);
}

/* Add the tunnel message to the stream and empty the tunnel. */
static void
tunnel_emit(struct enc *e, struct tunnel *tn)
{
	struct txn t;
	char mac[100];

	if (tn->ntxn == 0)
		return;
	if (wbuf_puts(&tn->w.out, "QUIT\r\n") < 0 || stream_flush(&tn->w) < 0)
		die_sys("unable to write a temporary file");
	if (tn->o.secret[0])
		batch_mac(tn, mac, sizeof mac);
	txn_init(&t);
	if (txn_set_from(&t, e->sender) < 0 || txn_add_rcpt(&t, tn->mailbox) == NULL ||
	    xparam_set(t.x, &t.nx, "X-TUNNEL", "1") < 0)
		die_nomem();
	t.body = BODY_7BIT;
	if (stream_write_head(&e->out, &t) < 0)
		die_sys("unable to write");
	emit_header(e, tn, tn->o.secret[0] ? mac : NULL);
	emit_body(e, tn);
	if (stream_write_end(&e->out) < 0)
		die_sys("unable to write");
	log_info("tunnel=<%s> id=<%s> messages=%u size=%llu encoding=%s%s",
	    tn->mailbox, tn->id, tn->ntxn, tn->w.out.total,
	    tn->clean7 ? "7bit" : "base64", tn->o.secret[0] ? " mac=yes" : "");
	txn_free(&t);
	/* A fresh batch and id for what comes next. */
	tunnel_cut(tn, 0);
	tunnel_start(e, tn);
}

static void
emit_all(struct enc *e)
{
	size_t i;

	for (i = 0; i < e->ntun; i++) {
		tunnel_emit(e, e->tun[i]);
		tunnel_free(e->tun[i]);
	}
	e->ntun = 0;
}

/* The envelope of src without its recipients, for one tunnel's share. */
static void
envelope_copy(struct txn *dst, const struct txn *src)
{
	txn_free(dst);
	if (txn_set_from(dst, src->from) < 0 ||
	    (src->envid && (dst->envid = strdup(src->envid)) == NULL) ||
	    (src->auth && (dst->auth = strdup(src->auth)) == NULL))
		die_nomem();
	dst->size = src->size;
	dst->has_size = src->has_size;
	dst->body = src->body;
	dst->smtputf8 = src->smtputf8;
	dst->ret = src->ret;
}

static void
fail_add(struct fail *f, const struct rcpt *rc, const char *status,
    const char *diag)
{
	size_t i = f->t.nrcpt;

	if (rcpt_copy(&f->t, rc) < 0)
		die_nomem();
	f->status[i] = status;
	snprintf(f->diag[i], sizeof f->diag[i], "%s", diag);
}

/* A failed double bounce keeps its recipients, for sluice-runq's dead/. */
static void
fail_keep(struct fail *f, struct txn *t)
{
	char d[200], enc[STREAM_XVAL_MAX + 1];
	size_t i;
	int xrc;

	for (i = 0; i < f->t.nrcpt; i++) {
		struct rcpt *rc;

		if (rcpt_copy(t, &f->t.rcpt[i]) < 0)
			die_nomem();
		rc = &t->rcpt[t->nrcpt - 1];
		snprintf(d, sizeof d, "%s %s", f->status[i], f->diag[i]);
		if (xtext_encode(d, strlen(d), enc, sizeof enc) < 0)
			die_nomem();
		if ((xrc = xparam_set(rc->x, &rc->nx, "X-DEFER", enc)) < 0)
			xparam_die(xrc, rc->addr);
	}
	txn_free(&f->t);
}

/* One notice about the recipients of r (status and diag per recipient). */
static void
notice(struct enc *e, struct txn *t, struct txn *r, enum dsn_action action)
{
	struct dsn d = { .orig = t, .qid = t->xf[XF_IDENT], .action = action,
	    .body = &e->sp };
	struct dsn_rcpt dr[STREAM_RCPT_MAX];
	size_t i;

	if (r->nrcpt == 0)
		return;
	for (i = 0; i < r->nrcpt; i++) {
		dr[i] = (struct dsn_rcpt){ .rcpt = &r->rcpt[i] };
		if (action == DSN_FAILED) {
			dr[i].status = e->fail.status[i];
			dr[i].diag = e->fail.diag[i];
		} else
			dr[i].status = "2.0.0";
	}
	if (bodyfile_rewind(&e->sp) < 0)
		die_sys("unable to read the spooled message");
	if (dsn_write(&e->out, &d, dr, r->nrcpt) < 0)
		die_sys("unable to write a notice");
	txn_free(r);
}

/* Move t's recipients for mailbox into part; the first is at index i. */
static void
take_share(struct txn *t, size_t i, const char *mailbox, struct txn *part)
{
	struct route r;
	const char *m;

	envelope_copy(part, t);
	while (i < t->nrcpt) {
		if ((m = tunnel_of(&t->rcpt[i], &r)) != NULL &&
		    strcasecmp(m, mailbox) == 0) {
			if (rcpt_copy(part, &t->rcpt[i]) < 0)
				die_nomem();
			txn_del_rcpt(t, i);
		} else
			i++;
	}
}

/* Tunnel one share, or fail its recipients. */
static void
share_send(struct enc *e, struct txn *t, struct txn *part, const char *mailbox)
{
	char diag[400];
	const char *status = NULL;
	struct tunnel *tn;
	size_t i;

	if (xparam_get(t->x, t->nx, "X-TUNNEL") != NULL) {
		status = "5.4.6";
		snprintf(diag, sizeof diag, "routing loop: a BSMTP tunnel message "
		    "routed into the tunnel to %s", mailbox);
	} else
		status = tunnel_add(e, mailbox, part, diag, sizeof diag);
	tn = status ? NULL : tunnel_find(e, mailbox);
	for (i = 0; i < part->nrcpt; i++) {
		const struct rcpt *rc = &part->rcpt[i];

		if (status != NULL) {
			fail_add(&e->fail, rc, status, diag);
			log_info("qid=%s to=<%s> status=failed dsn=%s reason=\"%s\"",
			    qid_of(t), rc->addr, status, diag);
			continue;
		}
		log_info("qid=%s to=<%s> status=sent dsn=2.0.0 relay=bsmtp:%s id=<%s>",
		    qid_of(t), rc->addr, mailbox, tn->id);
		if (tn->o.plain && (rc->notify & NOTIFY_SUCCESS) &&
		    rcpt_copy(&e->relayed, rc) < 0)
			die_nomem();
	}
}

/* A failed copy: the input's fault (its reason and code) or ours. */
static void __attribute__((noreturn))
copy_failed(struct stream_reader *rd, int read_failed, const char *what)
{
	if (read_failed)
		die(rd->exit_code, "%s", rd->err);
	die_sys("%s", what);
}

static void
encode_txn(struct enc *e, struct stream_reader *rd, struct txn *t)
{
	struct route r;
	struct txn part;
	const char *m;
	size_t i;
	int rf = 0;

	for (i = 0; i < t->nrcpt && tunnel_of(&t->rcpt[i], &r) == NULL; i++)
		;
	if (i == t->nrcpt) {
		/* Nothing for a tunnel: pass it on at the cost of a copy. */
		if (stream_write_head(&e->out, t) < 0 ||
		    stream_copy_body(rd, &e->out, &rf) < 0)
			copy_failed(rd, rf, "unable to write");
		return;
	}
	stage_reset(&e->sp);
	if (bodyfile_from_stream(&e->sp, rd, &rf) < 0)
		copy_failed(rd, rf, "unable to spool a message");
	txn_init(&part);
	while (i < t->nrcpt) {
		char mailbox[ADDR_PATH_MAX + 1];

		if ((m = tunnel_of(&t->rcpt[i], &r)) == NULL) {
			i++;
			continue;
		}
		if (fmt_buf(mailbox, sizeof mailbox, "%s", m) < 0)
			die(EXIT_TEMP, "4.3.5 BSMTP mailbox too long: %.100s", m);
		take_share(t, i, mailbox, &part);
		share_send(e, t, &part, mailbox);
	}
	txn_free(&part);
	if (e->fail.t.nrcpt > 0 && dsn_is_double(t))
		fail_keep(&e->fail, t);
	if (t->nrcpt > 0 && (stream_write_head(&e->out, t) < 0 ||
	    bodyfile_rewind(&e->sp) < 0 || bodyfile_write_stream(&e->sp, &e->out) < 0))
		die_sys("unable to write");
	for (i = 0; i < e->ntun; ) {
		if (e->tun[i]->o.batch) {
			i++;
			continue;
		}
		tunnel_emit(e, e->tun[i]);
		tunnel_free(e->tun[i]);
		memmove(e->tun + i, e->tun + i + 1, (e->ntun - i - 1) * sizeof e->tun[0]);
		e->ntun--;
	}
	notice(e, t, &e->fail.t, DSN_FAILED);
	notice(e, t, &e->relayed, DSN_RELAYED);
}

static void
setup(struct enc *e)
{
	const char *v;

	memset(e, 0, sizeof *e);
	if (table_open(&e->tunnels, "bsmtp_tunnels") < 0)
		die_sys("unable to open table bsmtp_tunnels");
	e->sender = conf_get("bsmtp_sender", dsn_postmaster());
	e->defaults.max = 10 * 1024 * 1024;
	if ((v = conf_get("bsmtp_form", NULL)) != NULL) {
		char opt[BSMTP_OPT_MAX + 8];

		snprintf(opt, sizeof opt, "form=%s", v);
		opts_parse(&e->defaults, opt, "setting bsmtp_form");
	}
	e->defaults.batch = strcmp(conf_get("bsmtp_batch", "no"), "yes") == 0;
	if ((v = conf_get("bsmtp_max_size", NULL)) != NULL) {
		long long n = conf_parse_size(v);

		if (n < 4096)
			die(EXIT_TEMP, "4.3.5 setting bsmtp_max_size must be a size of 4k or more");
		e->defaults.max = (unsigned long long)n;
	}
	/* Made when a message is first spooled: none for pass-through runs. */
	bodyfile_defer(&e->sp, bodyfile_tmpdir());
	if (stream_writer_init(&e->out, 1, 0) < 0)
		die_nomem();
}

static void
encode_stage_txn(struct stream_reader *rd, struct stream_writer *w,
    struct txn *t, struct bodyfile *sp, void *ctx)
{
	(void)w;	/* e->out */
	(void)sp;	/* e->sp */
	encode_txn(ctx, rd, t);
}

/* The tunnels still open become messages; then the output goes. */
static void
encode_stage_end(struct stream_writer *w, int failed, void *ctx)
{
	if (failed)
		return;
	emit_all(ctx);
	if (stream_flush(w) < 0)
		die_sys("unable to write");
}

int
main(int argc, char **argv)
{
	static struct enc e;
	const struct stage s = { .txn = encode_stage_txn, .ctx = &e, .body = &e.sp,
	    .out = &e.out, .end = encode_stage_end };

	usage_none(argc, argv, "usage: sluice-bsmtp-encode < stream > stream\n"
	    "See sluice-bsmtp-encode(8).\n");
	log_init(argv[0]);
	setup(&e);
	stage_run_with(&s);
	bodyfile_close(&e.sp);
	table_close(&e.tunnels);
	return 0;
}
