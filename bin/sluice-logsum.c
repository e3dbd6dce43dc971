/*
 * sluice-logsum: a summary of sluice's log, as pflogsumm gives of
 * Postfix's.  It reads log files (or standard input) in any of the forms
 * sluice's lines take: "prog: key=value ..." as written on standard
 * error, behind multilog's or tai64nlocal's time stamp, or behind
 * syslog's "Mmm dd hh:mm:ss host prog[pid]: " prefix.  Lines of other
 * programs are skipped.  It prints counts of messages and recipients per
 * status, per destination domain and per relay, SMTP refusals, the top
 * senders and recipients, local submissions per uid, and errors per
 * program.  See sluice-logsum(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "strset.h"

#define LINE_MAX_LOG 8192	/* longer lines are cut: a log line is ~2 KB */
#define KEY_MAX 512		/* a counted key (address, relay, reply) */
#define FIELDS_MAX 32

enum col { C_SENT, C_DEFERRED, C_BOUNCED, C_OTHER, C_NCOL };

/* Counts per key, in an open-addressing hash table. */
struct count {
	char *key;
	unsigned long n[C_NCOL];
	unsigned long total;
};

struct tally {
	struct count *v;
	size_t cap, n;
};

struct field {
	const char *k, *v;
	size_t kl, vl;
};

/* One log line, split: its program, and its key=value fields. */
struct line {
	char prog[64];
	const char *text;	/* after "prog: " */
	size_t len;
	struct field f[FIELDS_MAX];
	size_t nf;
};

/*
 * A queue id and a value kept with it to the end: a local submission's
 * uid (sum_local), or the sender of a message sluice-smtpd queued
 * (sum_smtpd_own).
 */
struct sub {
	char *qid, *val;
};

struct subs {
	struct sub *a;
	size_t n, size;
};

struct sum {
	unsigned long lines, received, smtp_in, notices;
	struct tally rcpt_status, msg_status, by_domain, by_relay;
	struct tally refusals, events, senders, recipients, uids, fatals, warnings;
	struct strset smtp_qids;	/* queued by sluice-smtpd */
	struct strset enq_qids;		/* logged by sluice-enqueue */
	struct subs subs;		/* sluice-enqueue's: qid, uid */
	struct subs smtpd;		/* sluice-smtpd's 250s: qid, sender */
	size_t top;			/* -n */
};

static const char usage_text[] =
    "usage: sluice-logsum [-n count] [file ...]\n"
    "       sluice-logsum --help\n"
    "Summarises a sluice log (standard error form or syslog form); see "
    "sluice-logsum(1).\n";

static void __attribute__((noreturn))
usage(int code)
{
	if (code == 0) {
		fputs(usage_text, stdout);
		exit(fflush(stdout) == 0 ? 0 : EXIT_TEMP);
	}
	(void)!write(2, usage_text, sizeof usage_text - 1);
	exit(code);
}

/* ---- counting ---- */

static size_t
hash(const char *s, size_t n)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
tally_grow(struct tally *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64, i, j;
	struct count *v = calloc(cap, sizeof *v);

	if (v == NULL)
		die_nomem();
	for (i = 0; i < t->cap; i++) {
		if (t->v[i].key == NULL)
			continue;
		j = hash(t->v[i].key, strlen(t->v[i].key)) & (cap - 1);
		while (v[j].key != NULL)
			j = (j + 1) & (cap - 1);
		v[j] = t->v[i];
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
}

/* Count one event of column col for key k[0..n), cut at KEY_MAX. */
static void
tally_add(struct tally *t, const char *k, size_t n, enum col col)
{
	size_t j;

	if (n > KEY_MAX)
		n = KEY_MAX;
	if ((t->n + 1) * 10 > t->cap * 7)
		tally_grow(t);
	j = hash(k, n) & (t->cap - 1);
	while (t->v[j].key != NULL &&
	    (strncmp(t->v[j].key, k, n) != 0 || t->v[j].key[n] != '\0'))
		j = (j + 1) & (t->cap - 1);
	if (t->v[j].key == NULL) {
		if ((t->v[j].key = strndup(k, n)) == NULL)
			die_nomem();
		t->n++;
	}
	t->v[j].n[col]++;
	t->v[j].total++;
}

static void
tally_adds(struct tally *t, const char *k, enum col col)
{
	tally_add(t, k, strlen(k), col);
}

static int
by_total(const void *a, const void *b)
{
	const struct count *x = *(const struct count *const *)a;
	const struct count *y = *(const struct count *const *)b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* The entries, largest first (ties by key); free() the array. */
static struct count **
tally_sorted(const struct tally *t)
{
	struct count **a = malloc((t->n ? t->n : 1) * sizeof *a);
	size_t i, k = 0;

	if (a == NULL)
		die_nomem();
	for (i = 0; i < t->cap; i++)
		if (t->v[i].key != NULL)
			a[k++] = &t->v[i];
	qsort(a, k, sizeof *a, by_total);
	return a;
}

/* ---- reading a line ---- */

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int
ours(const char *name, size_t n)
{
	return (n > 7 && strncmp(name, "sluice-", 7) == 0) ||
	    (n == 8 && strncmp(name, "sendmail", 8) == 0) ||
	    (n == 5 && strncmp(name, "mailq", 5) == 0);
}

/*
 * Find "prog: " or "prog[pid]: " of one of our programs, at the start of
 * a word: whatever stamp or syslog prefix comes before it.  1 if found.
 */
static int
find_prog(const char *s, size_t n, struct line *ln)
{
	size_t i = 0, a, e;

	while (i < n) {
		a = i;
		while (i < n && name_char(s[i]))
			i++;
		e = i;
		if (i < n && s[i] == '[') {
			size_t j = i + 1;

			while (j < n && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j > i + 1 && j < n && s[j] == ']')
				i = j + 1;
		}
		if (e > a && i + 1 < n && s[i] == ':' && s[i + 1] == ' ' &&
		    ours(s + a, e - a) && e - a < sizeof ln->prog) {
			memcpy(ln->prog, s + a, e - a);
			ln->prog[e - a] = '\0';
			ln->text = s + i + 2;
			ln->len = n - i - 2;
			return 1;
		}
		while (i < n && s[i] != ' ')
			i++;
		while (i < n && s[i] == ' ')
			i++;
	}
	return 0;
}

/* key=value and key="quoted value" fields of the text after the name. */
static void
split_fields(struct line *ln)
{
	const char *s = ln->text, *end = ln->text + ln->len, *eq, *v;
	struct field *f;

	ln->nf = 0;
	while (s < end && ln->nf < FIELDS_MAX) {
		while (s < end && *s == ' ')
			s++;
		for (eq = s; eq < end && *eq != '=' && *eq != ' '; eq++)
			;
		if (eq == end || *eq != '=' || eq == s) {
			while (s < end && *s != ' ')
				s++;
			continue;
		}
		f = &ln->f[ln->nf++];
		f->k = s;
		f->kl = (size_t)(eq - s);
		v = eq + 1;
		if (v < end && *v == '"') {
			/* The value ends at a quote followed by a space or the end. */
			for (s = ++v; s < end && !(*s == '"' && (s + 1 == end ||
			    s[1] == ' ')); s++)
				;
			f->v = v;
			f->vl = (size_t)(s - v);
			s += s < end;
		} else {
			for (s = v; s < end && *s != ' '; s++)
				;
			f->v = v;
			f->vl = (size_t)(s - v);
		}
	}
}

/* The value of field key, or NULL; *n gets its length. */
static const char *
get(const struct line *ln, const char *key, size_t *n)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < ln->nf; i++)
		if (ln->f[i].kl == kl && memcmp(ln->f[i].k, key, kl) == 0) {
			*n = ln->f[i].vl;
			return ln->f[i].v;
		}
	return NULL;
}

static int
is(const struct line *ln, const char *key, const char *val)
{
	size_t n;
	const char *v = get(ln, key, &n);

	return v != NULL && n == strlen(val) && memcmp(v, val, n) == 0;
}

/* An address value without its angle brackets. */
static const char *
bare(const char *v, size_t *n)
{
	if (*n >= 2 && v[0] == '<' && v[*n - 1] == '>') {
		*n -= 2;
		return v + 1;
	}
	return v;
}

/* ---- the events ---- */

/* A delivery verdict: sent, deferred or bounced, or a DSN code's class. */
static enum col
verdict(const char *v, size_t n)
{
	if (n == 4 && memcmp(v, "sent", 4) == 0)
		return C_SENT;
	if (n == 8 && memcmp(v, "deferred", 8) == 0)
		return C_DEFERRED;
	if (n == 7 && memcmp(v, "bounced", 7) == 0)
		return C_BOUNCED;
	if (n >= 2 && v[1] == '.')
		return v[0] == '2' ? C_SENT : v[0] == '4' ? C_DEFERRED :
		    v[0] == '5' ? C_BOUNCED : C_OTHER;
	return C_OTHER;
}

static const char *const col_name[C_NCOL] = { "sent", "deferred", "bounced",
	"other" };

/*
 * One recipient's fate: to=<addr> (sluice-smtp, sluice-local) or rcpt=
 * (sluice-route and sluice-alias, which bounce), with status=.  Counted
 * per status, per domain, per relay (the program, for local delivery).
 */
static void
sum_rcpt(struct sum *m, const struct line *ln, const char *a, size_t an)
{
	const char *st, *relay, *at;
	size_t sn, rn;
	enum col c;

	st = get(ln, "status", &sn);
	c = verdict(st, sn);
	if (is(ln, "action", "bounced"))
		c = C_BOUNCED;
	tally_adds(&m->rcpt_status, col_name[c], c);
	a = bare(a, &an);
	at = memchr(a, '@', an);
	if (at != NULL)
		tally_add(&m->by_domain, at + 1, an - (size_t)(at + 1 - a), c);
	else
		tally_add(&m->by_domain, "(no domain)", 11, c);
	if ((relay = get(ln, "relay", &rn)) == NULL) {
		relay = strncmp(ln->prog, "sluice-", 7) == 0 ? ln->prog + 7 : ln->prog;
		rn = strlen(relay);
	}
	tally_add(&m->by_relay, relay, rn, c);
	if (c == C_SENT)
		tally_add(&m->recipients, a, an, c);
}

static void
keep(struct subs *k, const char *q, size_t qn, const char *v, size_t vn)
{
	if (k->n == k->size) {
		size_t n = k->size ? k->size * 2 : 64;
		struct sub *p = realloc(k->a, n * sizeof *p);

		if (p == NULL)
			die_nomem();
		k->a = p;
		k->size = n;
	}
	if ((k->a[k->n].qid = strndup(q, qn)) == NULL ||
	    (k->a[k->n].val = strndup(v, vn)) == NULL)
		die_nomem();
	k->n++;
}

static void
keep_qid(struct strset *set, const char *q, size_t qn)
{
	char qid[64];

	if (qn >= sizeof qid)
		return;
	memcpy(qid, q, qn);
	qid[qn] = '\0';
	if (strset_add(set, qid) < 0)
		die_nomem();
}

/* sluice-enqueue: a message into the queue; its uid is decided later. */
static void
sum_enqueue(struct sum *m, const struct line *ln)
{
	const char *from, *q, *u;
	size_t fn, qn, un;

	if ((q = get(ln, "qid", &qn)) == NULL || (from = get(ln, "from", &fn)) == NULL)
		return;
	m->received++;
	keep_qid(&m->enq_qids, q, qn);
	from = bare(from, &fn);
	if (fn == 0) {
		/* A notice the runner queued, not a submission. */
		m->notices++;
		tally_add(&m->senders, "<>", 2, C_SENT);
		return;
	}
	tally_add(&m->senders, from, fn, C_SENT);
	if ((u = get(ln, "uid", &un)) != NULL)
		keep(&m->subs, q, qn, u, un);
}

/* sluice-smtpd: a transaction queued, a refusal, or a session event. */
static void
sum_smtpd(struct sum *m, const struct line *ln)
{
	const char *v, *q;
	size_t n, qn;

	if ((v = get(ln, "event", &n)) != NULL) {
		if (n == 6 && memcmp(v, "reject", 6) == 0) {
			if ((v = get(ln, "reply", &n)) == NULL &&
			    (v = get(ln, "reason", &n)) == NULL)
				v = "?", n = 1;
			tally_add(&m->refusals, v, n, C_BOUNCED);
		} else
			tally_add(&m->events, v, n, C_OTHER);
		return;
	}
	if ((q = get(ln, "qid", &qn)) != NULL && (v = get(ln, "reply", &n)) != NULL) {
		if (n > 0 && v[0] == '2') {
			m->smtp_in++;
			keep_qid(&m->smtp_qids, q, qn);
			if ((v = get(ln, "from", &n)) != NULL)
				keep(&m->smtpd, q, qn, v, n);
		} else
			tally_add(&m->refusals, v, n, C_DEFERRED);
	} else if (get(ln, "etrn", &n) != NULL && is(ln, "status", "refused"))
		tally_adds(&m->refusals, "ETRN refused", C_BOUNCED);
}

/*
 * The runner's verdict on a message: a message that left the queue is
 * sent (delivered=N), bounced, or done (neither); one delivered to some
 * and bounced for others (status=sent delivered=N bounced=M) is counted
 * apart, so that "sent" means every recipient was.
 */
static void
sum_runq(struct sum *m, const struct line *ln, const char *v, size_t vn)
{
	size_t bn;

	if (vn == 4 && memcmp(v, "sent", 4) == 0 && get(ln, "bounced", &bn) != NULL)
		tally_adds(&m->msg_status, "sent, some bounced", C_OTHER);
	else
		tally_add(&m->msg_status, v, vn, verdict(v, vn));
}

static void
sum_line(struct sum *m, const char *s, size_t n)
{
	struct line ln;
	const char *a, *v;
	size_t an, vn;

	if (!find_prog(s, n, &ln))
		return;
	m->lines++;
	if (ln.len >= 7 && memcmp(ln.text, "fatal: ", 7) == 0) {
		tally_adds(&m->fatals, ln.prog, C_OTHER);
		return;
	}
	if (ln.len >= 9 && memcmp(ln.text, "warning: ", 9) == 0) {
		tally_adds(&m->warnings, ln.prog, C_OTHER);
		return;
	}
	split_fields(&ln);
	if (strcmp(ln.prog, "sluice-smtpd") == 0)
		sum_smtpd(m, &ln);
	else if (strcmp(ln.prog, "sluice-enqueue") == 0)
		sum_enqueue(m, &ln);
	else if (get(&ln, "status", &vn) != NULL &&
	    ((a = get(&ln, "to", &an)) != NULL || (a = get(&ln, "rcpt", &an)) != NULL))
		sum_rcpt(m, &ln, a, an);
	else if (strcmp(ln.prog, "sluice-runq") == 0 &&
	    (v = get(&ln, "status", &vn)) != NULL && get(&ln, "qid", &an) != NULL)
		sum_runq(m, &ln, v, vn);
	else if ((v = get(&ln, "status", &vn)) != NULL && get(&ln, "dest", &an) != NULL)
		tally_add(&m->events, v, vn, C_OTHER);
}

static void
sum_fd(struct sum *m, int fd, const char *name)
{
	struct rbuf r;
	const char *l;
	size_t n;
	int rc;

	if (rbuf_init(&r, fd, BUF_SIZE) < 0)
		die_nomem();
	while ((rc = rbuf_getline(&r, &l, &n, LINE_MAX_LOG)) != 0) {
		if (rc == -1) {
			errno = r.err;
			die_sys("unable to read %s", name);
		}
		if (rc == 1 && n > 0 && l[n - 1] == '\n')
			n--;
		/* A cut line (rc -2) is summed from what it has. */
		sum_line(m, l, n);
	}
	rbuf_free(&r);
}

/* The uids of local submissions: enqueued, but not by sluice-smtpd. */
static void
sum_local(struct sum *m)
{
	size_t i;

	for (i = 0; i < m->subs.n; i++)
		if (!strset_has(&m->smtp_qids, m->subs.a[i].qid))
			tally_adds(&m->uids, m->subs.a[i].val, C_SENT);
}

/*
 * The messages sluice-smtpd wrote into the queue itself (no SLUICE_QUEUE,
 * sluice-smtpd(8)): received, with no sluice-enqueue line to count them.
 */
static void
sum_smtpd_own(struct sum *m)
{
	const char *from;
	size_t i, fn;

	for (i = 0; i < m->smtpd.n; i++) {
		if (strset_has(&m->enq_qids, m->smtpd.a[i].qid))
			continue;
		m->received++;
		from = m->smtpd.a[i].val;
		fn = strlen(from);
		from = bare(from, &fn);
		tally_add(&m->senders, from, fn, C_SENT);
	}
}

/* ---- printing ---- */

static void
print_list(const char *title, const struct tally *t, size_t top)
{
	struct count **a;
	size_t i;

	if (t->n == 0)
		return;
	printf("\n%s\n", title);
	a = tally_sorted(t);
	for (i = 0; i < t->n && (top == 0 || i < top); i++)
		printf("%8lu  %s\n", a[i]->total, a[i]->key);
	if (i < t->n)
		printf("%8s  (%zu more)\n", "", t->n - i);
	free(a);
}

static void
print_table(const char *title, const char *what, const struct tally *t,
    size_t top)
{
	struct count **a;
	size_t i;

	if (t->n == 0)
		return;
	printf("\n%s\n%8s %8s %8s %8s  %s\n", title, "sent", "deferred",
	    "bounced", "other", what);
	a = tally_sorted(t);
	for (i = 0; i < t->n && (top == 0 || i < top); i++)
		printf("%8lu %8lu %8lu %8lu  %s\n", a[i]->n[C_SENT],
		    a[i]->n[C_DEFERRED], a[i]->n[C_BOUNCED], a[i]->n[C_OTHER],
		    a[i]->key);
	if (i < t->n)
		printf("%8s  (%zu more)\n", "", t->n - i);
	free(a);
}

static unsigned long
col_total(const struct tally *t, enum col c)
{
	unsigned long s = 0;
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->v[i].key != NULL)
			s += t->v[i].n[c];
	return s;
}

static void
print_totals(const struct sum *m)
{
	unsigned long local = 0;
	size_t i;

	for (i = 0; i < m->uids.cap; i++)
		if (m->uids.v[i].key != NULL)
			local += m->uids.v[i].total;
	printf("Grand totals (%lu lines of sluice)\n", m->lines);
	printf("%8lu  received (queued)\n", m->received);
	printf("%8lu    by SMTP\n", m->smtp_in);
	printf("%8lu    local submissions\n", local);
	printf("%8lu    notices (bounces, delay notices: from=<>)\n", m->notices);
	printf("%8lu  deliveries sent\n", col_total(&m->rcpt_status, C_SENT));
	printf("%8lu  deliveries deferred\n", col_total(&m->rcpt_status, C_DEFERRED));
	printf("%8lu  deliveries bounced\n", col_total(&m->rcpt_status, C_BOUNCED));
	printf("%8lu  refused at SMTP\n", col_total(&m->refusals, C_BOUNCED) +
	    col_total(&m->refusals, C_DEFERRED));
	printf("%8lu  fatal errors\n", col_total(&m->fatals, C_OTHER));
	printf("%8lu  warnings\n", col_total(&m->warnings, C_OTHER));
}

static void
print_sum(const struct sum *m)
{
	print_totals(m);
	print_list("Recipients by status", &m->rcpt_status, 0);
	print_list("Messages by status (sluice-runq)", &m->msg_status, 0);
	print_table("Per destination domain", "domain", &m->by_domain, m->top);
	print_table("Per relay", "relay", &m->by_relay, m->top);
	print_list("Refused at SMTP (by reply)", &m->refusals, m->top);
	print_list("SMTP sessions and destinations (by event)", &m->events, m->top);
	print_list("Top senders (messages queued)", &m->senders, m->top);
	print_list("Top recipients (deliveries sent)", &m->recipients, m->top);
	print_list("Local submissions (by uid)", &m->uids, m->top);
	print_list("Fatal errors (by program)", &m->fatals, 0);
	print_list("Warnings (by program)", &m->warnings, 0);
}

int
main(int argc, char **argv)
{
	static struct sum m;
	char *end;
	int c, fd;

	log_name(argv[0]);
	log_setup(LOG_ROLE_COMMAND);
	m.top = 10;
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		usage(0);
	opterr = 0;
	while ((c = getopt(argc, argv, "n:h")) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			m.top = (size_t)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-')
				usage(EXIT_PERM);
			break;
		case 'h':
			usage(0);
		default:
			if (optopt == 'n')
				fprintf(stderr, "%s: -n needs a number\n", log_prog);
			else
				fprintf(stderr, "%s: unknown option -%c\n", log_prog,
				    optopt);
			fflush(stderr);
			usage(EXIT_PERM);
		}
	}
	if (optind == argc)
		sum_fd(&m, 0, "standard input");
	for (; optind < argc; optind++) {
		if (strcmp(argv[optind], "-") == 0)
			fd = 0;
		else if ((fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0)
			die_sys("unable to open %s", argv[optind]);
		sum_fd(&m, fd, argv[optind]);
		if (fd != 0)
			close(fd);
	}
	sum_local(&m);
	sum_smtpd_own(&m);
	print_sum(&m);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_sys("unable to write");
	return 0;
}
