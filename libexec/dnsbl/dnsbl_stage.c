/*
 * The stream stage: every transaction of the input is read first (and
 * kept in a temporary file), so that the lists are asked about all their
 * clients and sender domains at once, each subject once; then each
 * transaction is written with an X-Sluice-DNSBL: field per list that
 * lists it, and without any such field it came with.  Before the queue
 * (a program to hand the output to), a reject or tempfail listing refuses
 * the input instead: exit 100 or 111 with the reply's words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dnsbl.h"
#include "log.h"
#include "prog.h"
#include "bodyfile.h"
#include "stream.h"

#define FIELD "X-Sluice-DNSBL"

/* A subject's checks: the range of them in the batch. */
struct span {
	size_t first, n;
};

struct entry {
	struct span addr, domain;
	char qid[64];
};

/* Subjects already in the batch, so that each is asked once. */
struct seen {
	char **key;
	struct span *span;
	size_t cap, n;
};

static size_t
hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of key: where it is, or the free one where it goes. */
static size_t
seen_slot(const struct seen *s, const char *key)
{
	size_t i = hash(key) & (s->cap - 1);

	while (s->key[i] != NULL && strcmp(s->key[i], key) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void
seen_grow(struct seen *s)
{
	struct seen g = { .cap = s->cap ? s->cap * 2 : 256 };
	size_t i, j;

	if ((g.key = calloc(g.cap, sizeof *g.key)) == NULL ||
	    (g.span = calloc(g.cap, sizeof *g.span)) == NULL)
		die_nomem();
	for (i = 0; i < s->cap; i++)
		if (s->key[i] != NULL) {
			j = seen_slot(&g, s->key[i]);
			g.key[j] = s->key[i];
			g.span[j] = s->span[i];
		}
	g.n = s->n;
	free(s->key);
	free(s->span);
	*s = g;
}

/* The checks of a subject ("a:ADDR" or "d:DOMAIN"), added when new. */
static struct span
subject(struct seen *s, struct dnsbl_batch *b, const struct dnsbl_conf *conf,
    const char *key, const struct cidr_addr *a)
{
	struct span sp;
	size_t i;

	if (2 * (s->n + 1) > s->cap)
		seen_grow(s);
	i = seen_slot(s, key);
	if (s->key[i] != NULL)
		return s->span[i];
	if (a != NULL)
		sp.first = dnsbl_add_addr(b, conf, a, DNSBL_ANY, &sp.n);
	else
		sp.first = dnsbl_add_domain(b, conf, key + 2, DNSBL_ANY, &sp.n);
	if ((s->key[i] = strdup(key)) == NULL)
		die_nomem();
	s->span[i] = sp;
	s->n++;
	return sp;
}

/* The sender's domain in lower case, if it is a name a list can be asked. */
static int
sender_domain(const char *from, char *buf, size_t size)
{
	const char *at = strrchr(from, '@');
	size_t i, n;

	if (at == NULL || (n = strlen(at + 1)) == 0 || n >= size || at[1] == '.' ||
	    at[n] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = at[1 + i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_'))
			return 0;	/* an address literal, or not ASCII */
		buf[i] = c;
	}
	buf[n] = '\0';
	return 1;
}

static void
entry_make(struct entry *e, const struct txn *t, struct seen *s,
    struct dnsbl_batch *b, const struct dnsbl_conf *conf)
{
	char key[DNS_NAME_MAX + 3];
	struct cidr_addr a;

	memset(e, 0, sizeof e[0]);
	snprintf(e->qid, sizeof e->qid, "%s",
	    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-");
	if (t->xf[XF_ADDR] != NULL && cidr_addr_parse(t->xf[XF_ADDR], &a) == 0) {
		if (dnsbl_whitelisted(conf, &a))
			return;		/* not even its sender's domain */
		key[0] = 'a';
		key[1] = ':';
		cidr_ntop(&a, key + 2, sizeof key - 2);
		e->addr = subject(s, b, conf, key, &a);
	}
	memcpy(key, "d:", 2);
	if (sender_domain(t->from, key + 2, sizeof key - 2))
		e->domain = subject(s, b, conf, key, NULL);
}

/*
 * Once per batch, each list is asked about its RFC 5782 negative test
 * point too: a list that lists it lists anything, and none of its
 * listings is believed (dnsbl_check.c).
 */
static void
probe(struct seen *s, struct dnsbl_batch *b, const struct dnsbl_conf *conf,
    size_t ntxn)
{
	struct cidr_addr a;

	if (ntxn == 0 || cidr_addr_parse("127.0.0.1", &a) < 0)
		return;
	(void)subject(s, b, conf, "a:127.0.0.1", &a);
	(void)subject(s, b, conf, "d:invalid", NULL);
}

/* Pass 1: the input into file fd, an entry per transaction. */
static struct entry *
read_txns(int fd, size_t *n, struct dnsbl_batch *b, const struct dnsbl_conf *conf)
{
	struct stream_reader rd;
	struct stream_writer w;
	struct seen s = { 0 };
	struct entry *e = NULL;
	struct txn t;
	size_t cap = 0, i;
	int rc, rf;

	if (stream_reader_init(&rd, 0, "stdin") < 0 ||
	    stream_writer_init(&w, fd, 0) < 0)
		die_nomem();
	txn_init(&t);
	for (*n = 0; (rc = stream_read_txn(&rd, &t)) == 1; (*n)++) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((e = reallocarray(e, cap, sizeof *e)) == NULL)
				die_nomem();
		}
		entry_make(&e[*n], &t, &s, b, conf);
		if (stream_write_head(&w, &t) < 0 ||
		    stream_copy_body(&rd, &w, &rf) < 0) {
			if (rf)
				die(rd.exit_code, "%s", rd.err);
			die_sys("unable to write a temporary file");
		}
	}
	if (rc < 0)
		die(rd.exit_code, "%s", rd.err);
	if (stream_flush(&w) < 0)
		die_sys("unable to write a temporary file");
	probe(&s, b, conf, *n);
	for (i = 0; i < s.cap; i++)
		free(s.key[i]);
	free(s.key);
	free(s.span);
	txn_free(&t);
	stream_reader_free(&rd);
	stream_writer_free(&w);
	return e;
}

/*
 * Before the queue: the first refusing listing of any transaction refuses
 * the input (sluice-smtpd hands one transaction at a time), with the words
 * sluice-smtpd passes on to its client.
 */
static void
refuse_input(const struct entry *e, size_t n, const struct dnsbl_batch *b,
    const struct dnsbl_conf *conf)
{
	const struct dnsbl_check *hit;
	char words[400];
	size_t i, k;
	int un, unanswered = 0;

	for (i = 0; i < n; i++) {
		const struct span *sp[2] = { &e[i].addr, &e[i].domain };

		for (k = 0; k < 2; k++) {
			hit = dnsbl_verdict(b->c + sp[k]->first, sp[k]->n, &un);
			unanswered |= un;
			if (hit == NULL)
				continue;
			dnsbl_words(hit, words, sizeof words);
			log_info("qid=%s event=%s list=%s subject=%s answer=%s", e[i].qid,
			    hit->list->action == DNSBL_REJECT ? "reject" : "tempfail",
			    hit->list->zone, hit->subject, hit->answer);
			if (hit->list->action == DNSBL_REJECT)
				die(EXIT_PERM, "5.7.1 %s", words);
			die(EXIT_TEMP, "4.7.1 %s", words);
		}
	}
	if (unanswered && conf->timeout_tempfail)
		die(EXIT_TEMP, "4.4.3 DNS-BL lookup failed, try again later");
}

static int
tag(struct stream_writer *w, const struct entry *e, const struct span *sp,
    const struct dnsbl_batch *b)
{
	char line[STREAM_TEXT_MAX];
	size_t i;
	int n;

	for (i = sp->first; i < sp->first + sp->n; i++) {
		const struct dnsbl_check *c = &b->c[i];

		if (c->result != DNSBL_LISTED)
			continue;
		n = snprintf(line, sizeof line, FIELD ": %s; %s; %s=%s%s%s%s",
		    c->list->zone, c->answer, c->is_domain ? "domain" : "client",
		    c->subject, c->reason[0] ? "; \"" : "", c->reason,
		    c->reason[0] ? "\"" : "");
		if (n < 0 || (size_t)n >= sizeof line)
			continue;	/* cannot happen: 200 + 46 + 255 + 200 */
		log_info("qid=%s event=tag list=%s subject=%s answer=%s", e->qid,
		    c->list->zone, c->subject, c->answer);
		if (stream_write_line(w, line, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

/* The body, without the fields of our name it came with. */
static int
copy_body(struct stream_reader *rd, struct stream_writer *w)
{
	const char *l;
	size_t len;
	int rc, head = 1, drop = 0;

	while ((rc = stream_read_line(rd, &l, &len)) == 1) {
		if (head && len == 0)
			head = 0;
		if (head && (l[0] == ' ' || l[0] == '\t')) {
			if (drop)
				continue;
		} else if (head) {
			drop = len > sizeof FIELD &&
			    strncasecmp(l, FIELD ":", sizeof FIELD) == 0;
			if (drop)
				continue;
		}
		if (stream_write_line(w, l, len) < 0)
			return -2;
	}
	return rc < 0 ? -1 : stream_write_end(w) < 0 ? -2 : 0;
}

/* Pass 2: the transactions of file in, tagged, to out. */
static void
write_txns(int in, int out, const struct entry *e, const struct dnsbl_batch *b)
{
	struct stream_reader rd;
	struct stream_writer w;
	struct txn t;
	size_t i;
	int rc;

	if (lseek(in, 0, SEEK_SET) < 0)
		die_sys("unable to read a temporary file");
	if (stream_reader_init(&rd, in, "temporary file") < 0 ||
	    stream_writer_init(&w, out, 0) < 0)
		die_nomem();
	txn_init(&t);
	for (i = 0; (rc = stream_read_txn(&rd, &t)) == 1; i++) {
		if (stream_write_head(&w, &t) < 0 || tag(&w, &e[i], &e[i].addr, b) < 0 ||
		    tag(&w, &e[i], &e[i].domain, b) < 0)
			die_sys("unable to write");
		if ((rc = copy_body(&rd, &w)) == -1)
			die(rd.exit_code, "%s", rd.err);
		if (rc < 0)
			die_sys("unable to write");
	}
	if (rc < 0)
		die(rd.exit_code, "%s", rd.err);
	if (stream_flush(&w) < 0)
		die_sys("unable to write");
	txn_free(&t);
	stream_reader_free(&rd);
	stream_writer_free(&w);
}

int
dnsbl_stage(const struct dnsbl_conf *conf, char **argv)
{
	struct dnsbl_batch b = { 0 };
	struct entry *e;
	size_t n, i;
	int in, out = 1, unanswered = 0;

	if ((in = bodyfile_tmpfile(bodyfile_tmpdir())) < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	e = read_txns(in, &n, &b, conf);
	dnsbl_run(&b, conf, "mode=stage");
	if (argv[0] != NULL) {
		refuse_input(e, n, &b, conf);
		if ((out = bodyfile_tmpfile(bodyfile_tmpdir())) < 0)
			die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	} else {
		for (i = 0; i < b.n && !unanswered; i++)
			unanswered = b.c[i].result == DNSBL_UNANSWERED;
		if (unanswered && conf->timeout_tempfail)
			die(EXIT_TEMP, "4.4.3 DNS-BL lookup failed, try again later");
	}
	write_txns(in, out, e, &b);
	close(in);
	free(e);
	dnsbl_batch_free(&b);
	if (argv[0] == NULL)
		return EXIT_OK;
	/* The next program reads what was written, as its standard input. */
	if (lseek(out, 0, SEEK_SET) < 0 || dup2(out, 0) < 0)
		die_sys("unable to pass the stream on");
	close(out);
	prog_exec(argv);
	die_sys("unable to run %s", argv[0]);
}
