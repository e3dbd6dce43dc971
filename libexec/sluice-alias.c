/*
 * sluice-alias: expand the recipients of a stream through the aliases
 * table (lists, :include: files, pipes and files, domain aliases, +detail),
 * bounce unknown local recipients and looping messages.  See sluice-alias(8)
 * and sluice-aliases(5).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "bodyfile.h"
#include "buf.h"
#include "conf.h"
#include "dsn.h"
#include "header.h"
#include "local.h"
#include "log.h"
#include "route.h"
#include "stage.h"
#include "stream.h"
#include "strset.h"
#include "table.h"
#include "xtext.h"
#include "usage.h"

/* Limits (sluice-alias(8); the header examined: lib/header.h). */
#define DEPTH_CAP 100		/* highest alias_max_depth accepted */
#define EXPAND_MAX 100000	/* recipients one transaction may expand to */
#define INCLUDE_SIZE_MAX (1024 * 1024)	/* an :include: file */
#define INCLUDE_LINE_MAX 1000	/* a line of an :include: file */

static struct table t_aliases, t_domains, t_users;
static const char *delims, *hostname;
static long long max_depth, max_received;
static int loop_to_pm, bounce_unknown;

/* ---- sets of strings, for dedupe and for aliases already expanded ---- */

/* Add s (compared without case); 1 if it was new, 0 if already there. */
static int
set_add(struct strset *st, const char *s)
{
	int rc = strset_add(st, s);

	if (rc < 0)
		die_nomem();
	return rc;
}

/* ---- failed recipients, each with its status and reason ---- */

struct fail {
	struct txn t;	/* only its recipients are used */
	char **status, **diag;
	size_t a;
};

static void
fail_add(struct fail *f, const struct rcpt *r, const char *status,
    const char *diag)
{
	size_t n = f->t.nrcpt;

	if (n == f->a) {
		size_t na = f->a ? 2 * f->a : 8;

		if ((f->status = realloc(f->status, na * sizeof *f->status)) == NULL ||
		    (f->diag = realloc(f->diag, na * sizeof *f->diag)) == NULL)
			die_nomem();
		f->a = na;
	}
	if (rcpt_copy(&f->t, r) < 0 || (f->status[n] = strdup(status)) == NULL ||
	    (f->diag[n] = strdup(diag)) == NULL)
		die_nomem();
}

static void
fail_clear(struct fail *f)
{
	size_t i;

	for (i = 0; i < f->t.nrcpt; i++) {
		free(f->status[i]);
		free(f->diag[i]);
	}
	txn_free(&f->t);
}

/* ---- the message's header block ---- */

struct hdr {
	struct header h;
	struct strset delivered_to;	/* Delivered-To: addresses */
	long received;	/* Received: fields naming this host */
};

/*
 * Read the header; count the Received: fields that name this host and
 * collect the Delivered-To: addresses (lib/header.h).
 */
static void
hdr_read(struct stream_reader *rd, struct hdr *hd)
{
	if (header_read(&hd->h, rd) < 0)
		die(rd->exit_code, "%s", rd->err);
	strset_clear(&hd->delivered_to);
	if (header_addrs(&hd->h, "Delivered-To", &hd->delivered_to) < 0)
		die_nomem();
	hd->received = header_received_by(&hd->h, hostname);
}

/* ---- lookups ---- */

static void
table_fail(const char *name)
{
	die_sys("unable to read table %s", name);
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

static int
user_known(const char *addr)
{
	int rc = local_user_known(&t_users, addr, delims);

	if (rc < 0)
		table_fail("users");
	return rc;
}

static int
domain_local(const char *dom)
{
	int rc = local_domain(&t_domains, dom);

	if (rc < 0)
		table_fail("domains");
	return rc;
}

static int
get(const char *key, char *val, size_t vsz)
{
	int rc = table_get(&t_aliases, key, val, vsz);

	if (rc < 0)
		table_fail("aliases");
	return rc;
}

/* The bare local part of addr (the /etc/aliases form). */
static int
get_bare(const char *addr, char *val, size_t vsz)
{
	char key[ADDR_PATH_MAX + 1];
	const char *at = strrchr(addr, '@');

	snprintf(key, sizeof key, "%.*s", (int)(at ? (size_t)(at - addr) :
	    strlen(addr)), addr);
	return get(key, val, vsz);
}

/*
 * The alias of addr, in the order of sluice-aliases(5): local@domain,
 * base@domain, local@, base@ (base is the local part without its detail),
 * the bare local and base (/etc/aliases names: in local domains only),
 * then, unless addr is a user of table users, @domain and @.parent.
 * Returns 1 with val filled, 0 when addr is no alias.
 */
static int
alias_lookup(const char *addr, char *val, size_t vsz)
{
	char base[ADDR_PATH_MAX + 1], key[ADDR_PATH_MAX + 2];
	const char *at = strrchr(addr, '@'), *dom = domain_of(addr), *d;
	int has_base = route_base_addr(addr, delims, base, sizeof base);
	size_t ll = at ? (size_t)(at - addr) : strlen(addr);

	if (get(addr, val, vsz) || (has_base && get(base, val, vsz)))
		return 1;
	snprintf(key, sizeof key, "%.*s@", (int)ll, addr);
	if (get(key, val, vsz))
		return 1;
	if (has_base) {
		snprintf(key, sizeof key, "%.*s@", (int)strcspn(base, "@"), base);
		if (get(key, val, vsz))
			return 1;
	}
	if (*dom == '\0')
		return 0;
	if (domain_local(dom) && (get_bare(addr, val, vsz) ||
	    (has_base && get_bare(base, val, vsz))))
		return 1;
	if (user_known(addr))
		return 0;
	snprintf(key, sizeof key, "@%s", dom);
	if (get(key, val, vsz))
		return 1;
	if (dom[0] == '[')
		return 0;
	for (d = strchr(dom, '.'); d != NULL; d = strchr(d + 1, '.')) {
		snprintf(key, sizeof key, "@%s", d);
		if (get(key, val, vsz))
			return 1;
	}
	return 0;
}

/* ---- expansion ---- */

struct ctx {
	const char *qid;
	const struct rcpt *orig;	/* the recipient being expanded */
	struct txn *out;		/* the recipients that go on */
	struct fail *fail, *loop;	/* bounces: unknown users; loops */
	struct strset *emitted, *expanded;
	const struct hdr *h;
	const char *path[DEPTH_CAP + 2];	/* aliases being expanded */
	size_t depth;
};

static size_t expand(struct ctx *, const char *addr);

/* A copy of the original recipient for addr (its NOTIFY, ORCPT, X-). */
static struct rcpt *
derived(struct ctx *c, struct txn *t, const char *addr)
{
	char enc[STREAM_ORCPT_MAX + 1];
	struct rcpt *r;
	size_t i;
	long n;
	int rc;

	if ((r = txn_add_rcpt(t, addr)) == NULL)
		die_nomem();
	r->notify = c->orig->notify;
	for (i = 0; i < c->orig->nx; i++)
		if (strcasecmp(c->orig->x[i].key, "X-ROUTE") != 0 &&
		    (rc = xparam_set(r->x, &r->nx, c->orig->x[i].key,
		    c->orig->x[i].val)) < 0)
			xparam_die(rc, c->orig->addr);
	if (c->orig->orcpt != NULL) {
		if ((r->orcpt = strdup(c->orig->orcpt)) == NULL)
			die_nomem();
		return r;
	}
	/* RFC 3461 4.2: DSNs name the address the sender wrote. */
	memcpy(enc, "rfc822;", 7);
	n = xtext_encode(c->orig->addr, strlen(c->orig->addr), enc + 7,
	    sizeof enc - 7);
	if (n >= 0 && (r->orcpt = strdup(enc)) == NULL)
		die_nomem();
	return r;
}

static void
fail(struct ctx *c, struct fail *f, const char *addr, const char *status,
    const char *fmt, const char *arg)
{
	char diag[DSN_DIAG_MAX], key[2 * ADDR_PATH_MAX + 3];
	struct txn tmp;

	/* One failure per address and original recipient. */
	snprintf(key, sizeof key, "!%s\n%s", c->orig->addr, addr);
	if (!set_add(c->emitted, key))
		return;
	snprintf(diag, sizeof diag, fmt, arg);
	txn_init(&tmp);
	if (strcasecmp(addr, c->orig->addr) == 0) {
		if (rcpt_copy(&tmp, c->orig) < 0)
			die_nomem();
	} else
		derived(c, &tmp, addr);
	fail_add(f, &tmp.rcpt[0], status, diag);
	txn_free(&tmp);
	log_info("qid=%s rcpt=%s orcpt=%s status=%s reason=\"%s\"", c->qid, addr,
	    c->orig->addr, status, diag);
}

/* Send one recipient on; route is NULL or a pipe:/file: route. */
static size_t
emit(struct ctx *c, const char *addr, const char *route)
{
	char key[ADDR_PATH_MAX + ROUTE_MAX + 3];
	struct rcpt *r;
	struct route old;
	const char *err;
	int rc;

	/* A recipient routed on an earlier pass is told apart by its route. */
	if (route == NULL && strcmp(addr, c->orig->addr) == 0 &&
	    route_get(c->orig, &old, &err) == 1)
		snprintf(key, sizeof key, "%s\n%s", addr, old.text);
	else
		snprintf(key, sizeof key, "%s\n%s", addr, route ? route : "");
	if (!set_add(c->emitted, key))
		return 1;
	if (c->out->nrcpt >= EXPAND_MAX)
		die(EXIT_PERM, "5.3.4 recipients expand to more than %d addresses",
		    EXPAND_MAX);
	if (route == NULL && strcmp(addr, c->orig->addr) == 0) {
		if (rcpt_copy(c->out, c->orig) < 0)
			die_nomem();
		return 1;
	}
	r = derived(c, c->out, addr);
	if ((rc = xparam_set(r->x, &r->nx, "X-EXPANDED", "1")) < 0)
		xparam_die(rc, c->orig->addr);
	if (route != NULL && route_set(r, route) < 0) {
		if (errno == E2BIG)
			xparam_die(XPARAM_FULL, c->orig->addr);
		if (errno == ENOMEM)
			die_nomem();
		die(EXIT_PERM, "5.3.4 route too long for X-ROUTE: %.100s", route);
	}
	if (route != NULL || strcasecmp(addr, c->orig->addr) != 0)
		log_info("qid=%s orcpt=%s rcpt=%s%s%s", c->qid, c->orig->addr, addr,
		    route ? " route=" : "", route ? route : "");
	return 1;
}

/* An address that is no alias: a known or remote recipient, or unknown. */
static size_t
final(struct ctx *c, const char *addr)
{
	if (bounce_unknown && domain_local(domain_of(addr)) &&
	    !local_is_postmaster(addr) && !user_known(addr)) {
		fail(c, c->fail, addr, "5.1.1", "%s: no such user here", addr);
		return 1;
	}
	return emit(c, addr, NULL);
}

static size_t targets(struct ctx *, const char *owner, const char *val,
    int trusted);

/* Expand an :include: file: addresses only, never pipes, files or includes. */
static size_t
include(struct ctx *c, const char *owner, const char *path)
{
	struct rbuf rb;
	const char *l;
	char line[INCLUDE_LINE_MAX + 1];
	unsigned long long total = 0;
	size_t n, count = 0;
	int fd, rc;

	if (path[0] != '/') {
		log_warn("qid=%s alias=%s include=%s refused=\"not an absolute path\"",
		    c->qid, owner, path);
		return 0;
	}
	/* A missing or unreadable list is the postmaster's to fix: wait. */
	/*
	 * O_NONBLOCK so that a FIFO put there cannot hang the chain; only a
	 * regular file is a list.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		die(EXIT_TEMP, "4.3.0 unable to open include file %s for %s: %s", path,
		    owner, strerror(errno));
	{
		struct stat st;

		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			die(EXIT_TEMP, "4.3.0 include file %s for %s is not a regular file",
			    path, owner);
		/*
		 * Whoever can write the list decides where the mail goes, as
		 * with sendmail and Postfix: only root or our own user.
		 */
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			die(EXIT_TEMP, "4.3.0 include file %s for %s is writable by "
			    "group or others", path, owner);
		if (st.st_uid != 0 && st.st_uid != geteuid())
			die(EXIT_TEMP, "4.3.0 include file %s for %s is owned by uid %ld, "
			    "neither root nor the user sluice-alias runs as "
			    "(uid %ld)", path,
			    owner, (long)st.st_uid, (long)geteuid());
		if (fcntl(fd, F_SETFL, 0) < 0)
			die(EXIT_TEMP, "4.3.0 include file %s: %s", path, strerror(errno));
	}
	if (rbuf_init(&rb, fd, 8192) < 0)
		die_nomem();
	while ((rc = rbuf_getline(&rb, &l, &n, INCLUDE_LINE_MAX)) != 0) {
		if (rc == -1)
			die(EXIT_TEMP, "4.3.0 unable to read include file %s: %s", path,
			    strerror(rb.err));
		if (rc == -2)
			die(EXIT_TEMP, "4.3.0 include file %s: line longer than %d octets",
			    path, INCLUDE_LINE_MAX);
		if ((total += n) > INCLUDE_SIZE_MAX)
			die(EXIT_TEMP, "4.3.0 include file %s: larger than %d octets", path,
			    INCLUDE_SIZE_MAX);
		while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
			n--;
		memcpy(line, l, n);
		line[n] = '\0';
		if (line[strspn(line, " \t")] == '#')
			continue;
		count += targets(c, owner, line, 0);
	}
	rbuf_free(&rb);
	close(fd);
	return count;
}

/* One target of owner's alias, trimmed and unquoted. */
static size_t
target(struct ctx *c, const char *owner, char *s, int trusted)
{
	char a[ADDR_PATH_MAX + 1], route[ROUTE_MAX + 1];
	struct route r;
	struct addr ad;
	struct addr_err ae;
	const char *err, *dom = domain_of(owner);
	int pipe = s[0] == '|';

	if (pipe || s[0] == '/' || strncasecmp(s, ":include:", 9) == 0) {
		if (!trusted) {
			log_warn("qid=%s alias=%s target=\"%.200s\" refused=\"pipes, "
			    "files and includes come only from the aliases table\"",
			    c->qid, owner, s);
			return 0;
		}
		if (s[0] == ':')
			return include(c, owner, s + 9 + strspn(s + 9, " \t"));
		snprintf(route, sizeof route, "%s:%s", pipe ? "pipe" : "file",
		    s + pipe + strspn(s + pipe, " \t"));
		if (route_parse(route, &r, &err) < 0) {
			log_warn("qid=%s alias=%s target=\"%.200s\" refused=\"%s\"",
			    c->qid, owner, s, err);
			return 0;
		}
		return emit(c, owner, r.text);
	}
	if (s[0] == '@') {
		/* A domain alias: the same local part in another domain. */
		size_t ll = strcspn(owner, "@");

		if (snprintf(a, sizeof a, "%.*s%s", (int)ll, owner, s) >= (int)sizeof a)
			return 0;
		s = a;
	}
	if (addr_parse(s, strlen(s), ADDR_UNQUAL_OK, &ad, &ae) < 0) {
		log_warn("qid=%s alias=%s target=\"%.200s\" refused=\"%s\"", c->qid,
		    owner, s, ae.msg);
		return 0;
	}
	/* A bare name means that user in the domain of the alias. */
	if (ad.domain[0] == '\0' && *dom != '\0')
		snprintf(ad.domain, sizeof ad.domain, "%s", dom);
	addr_format(&ad, a, sizeof a);
	return expand(c, a);
}

/* Split an alias value on commas outside double quotes. */
static size_t
targets(struct ctx *c, const char *owner, const char *val, int trusted)
{
	char *buf, *p, *s, *e;
	size_t count = 0;
	int q = 0;

	if ((buf = strdup(val)) == NULL)
		die_nomem();
	for (s = p = buf;; p++) {
		/* Inside quotes a backslash takes the next octet as it is. */
		if (q && *p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == '"')
			q = !q;
		if (*p != '\0' && (*p != ',' || q))
			continue;
		{
			int last = *p == '\0';

			*p = '\0';
			while (*s == ' ' || *s == '\t')
				s++;
			e = s + strlen(s);
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			if (e - s >= 2 && *s == '"' && e[-1] == '"') {
				e[-1] = '\0';
				s++;
			}
			if (*s != '\0')
				count += target(c, owner, s, trusted);
			if (last)
				break;
			s = p + 1;
		}
	}
	free(buf);
	return count;
}

static size_t
expand(struct ctx *c, const char *addr)
{
	char *val;
	size_t i, count;

	if (strset_has(&c->h->delivered_to, addr)) {
		fail(c, c->loop, addr, "5.4.6",
		    "mail forwarding loop for %s (Delivered-To)", addr);
		return 1;
	}
	/* An alias that reaches itself is delivered to its own address. */
	for (i = 0; i < c->depth; i++)
		if (strcasecmp(c->path[i], addr) == 0)
			return final(c, addr);
	if ((val = malloc(TABLE_VAL_MAX)) == NULL)
		die_nomem();
	if (!alias_lookup(addr, val, TABLE_VAL_MAX)) {
		free(val);
		return final(c, addr);
	}
	if (!set_add(c->expanded, addr)) {
		free(val);
		return 1;	/* its targets are already on their way */
	}
	if ((long long)c->depth >= max_depth) {
		free(val);
		fail(c, c->loop, addr, "5.4.6",
		    "aliases nested too deep at %s (alias_max_depth)", addr);
		return 1;
	}
	c->path[c->depth++] = addr;
	count = targets(c, addr, val, 1);
	c->depth--;
	free(val);
	if (count == 0)
		fail(c, c->fail, addr, "5.3.5",
		    "alias %s expands to no deliverable address", addr);
	return 1;
}

/* ---- one transaction ---- */

static void
write_txns(struct stream_writer *w, const struct txn *t, struct txn *out,
    const struct header *h, struct stream_reader *rd, struct bodyfile *sp)
{
	size_t k, n, pos = 0;
	struct txn part;
	const char *l;
	int rf = 0;

	if (sp == NULL) {
		/* One transaction: the body streams through. */
		part = *t;
		part.rcpt = out->rcpt;
		part.nrcpt = out->nrcpt;
		if (stream_write_head(w, &part) < 0)
			die_sys("unable to write");
		while (header_line(h, &pos, &l, &n))
			if (stream_write_line(w, l, n) < 0)
				die_sys("unable to write");
		if (h->body_done) {
			if (stream_write_end(w) < 0)
				die_sys("unable to write");
		} else if (stream_copy_body(rd, w, &rf) < 0) {
			if (rf)
				die(rd->exit_code, "%s", rd->err);
			die_sys("unable to write");
		}
		return;
	}
	/* Above the recipient limit a transaction is split, same message. */
	for (k = 0; k < out->nrcpt; k += n) {
		n = out->nrcpt - k < STREAM_RCPT_MAX ? out->nrcpt - k : STREAM_RCPT_MAX;
		part = *t;
		part.rcpt = out->rcpt + k;
		part.nrcpt = n;
		if (stream_write_head(w, &part) < 0 || bodyfile_rewind(sp) < 0 ||
		    bodyfile_write_stream(sp, w) < 0)
			die_sys("unable to write");
	}
}

static void
save_all(struct bodyfile *sp, const struct header *h, struct stream_reader *rd)
{
	const char *l;
	size_t n, pos = 0;
	int rf = 0;

	if (bodyfile_reset(sp) < 0)
		die_sys("unable to spool a message");
	while (header_line(h, &pos, &l, &n))
		if (bodyfile_write_line(sp, l, n) < 0)
			die_sys("unable to spool a message");
	if (!h->body_done && bodyfile_from_stream(sp, rd, &rf) < 0) {
		if (rf)
			die(rd->exit_code, "%s", rd->err);
		die_sys("unable to spool a message");
	}
}

static void
bounce(struct stream_writer *w, const struct txn *t, struct fail *f,
    struct bodyfile *sp, int to_postmaster)
{
	struct dsn_rcpt *dr;
	struct txn pm;
	struct dsn d = { .orig = t, .qid = t->xf[XF_IDENT], .action = DSN_FAILED,
	    .body = sp };
	size_t i, k, n;
	int rc;

	if (f->t.nrcpt == 0)
		return;
	if (to_postmaster) {
		/* The postmaster is told whatever the sender asked for. */
		pm = *t;
		pm.from = (char *)dsn_postmaster();
		d.orig = &pm;
		for (i = 0; i < f->t.nrcpt; i++)
			f->t.rcpt[i].notify = 0;
	}
	if ((dr = calloc(f->t.nrcpt, sizeof *dr)) == NULL)
		die_nomem();
	for (i = 0; i < f->t.nrcpt; i++) {
		dr[i].rcpt = &f->t.rcpt[i];
		dr[i].status = f->status[i];
		dr[i].diag = f->diag[i];
	}
	for (k = 0; k < f->t.nrcpt; k += n) {
		n = f->t.nrcpt - k < STREAM_RCPT_MAX ? f->t.nrcpt - k : STREAM_RCPT_MAX;
		if (bodyfile_rewind(sp) < 0)
			die_sys("unable to read the spooled message");
		if ((rc = dsn_write(w, &d, dr + k, n)) < 0)
			die_sys("unable to write a bounce");
		if (rc == DSN_NONE)
			log_info("qid=%s bounce=none reason=\"NOTIFY asks for none\"",
			    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-");
	}
	free(dr);
}

/*
 * A failed double bounce cannot be bounced: its recipients stay, with the
 * reason in X-DEFER, until sluice-runq gives it to the postmaster (dead/).
 */
static void
keep_failed(struct txn *out, struct fail *f)
{
	char d[DSN_DIAG_MAX + 20], enc[STREAM_XVAL_MAX + 1];
	size_t i;
	int rc;

	for (i = 0; i < f->t.nrcpt; i++) {
		struct rcpt *r;

		if (rcpt_copy(out, &f->t.rcpt[i]) < 0)
			die_nomem();
		r = &out->rcpt[out->nrcpt - 1];
		snprintf(d, sizeof d, "%s %s", f->status[i], f->diag[i]);
		if (xtext_encode(d, strlen(d), enc, sizeof enc) >= 0 &&
		    (rc = xparam_set(r->x, &r->nx, "X-DEFER", enc)) < 0)
			xparam_die(rc, r->addr);
		log_warn("qid=%s rcpt=%s status=%s kept=\"failed double bounce\"",
		    out->xf[XF_IDENT] ? out->xf[XF_IDENT] : "-", r->addr, f->status[i]);
	}
	fail_clear(f);
}

/*
 * Each recipient in the form recipients are compared by (rcpt_key), so
 * that "bob"@EXAMPLE.org is looked up, and kept once, as bob@example.org.
 */
static void
rcpts_normalize(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++) {
		char *k = rcpt_key(t->rcpt[i].addr);

		if (k == NULL)
			die_nomem();
		free(t->rcpt[i].addr);
		t->rcpt[i].addr = k;
	}
}

static void
alias_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct hdr *h = ctx;
	struct txn out;
	struct fail fl, lp;
	struct strset emitted = { 0 }, expanded = { 0 };
	struct ctx c;
	size_t i;
	int looping, dead;

	txn_init(&out);
	txn_init(&fl.t);
	txn_init(&lp.t);
	fl.status = fl.diag = lp.status = lp.diag = NULL;
	fl.a = lp.a = 0;
	memset(&c, 0, sizeof c);
	c.qid = t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
	c.out = &out;
	c.fail = &fl;
	c.loop = &lp;
	c.emitted = &emitted;
	c.expanded = &expanded;
	c.h = h;

	hdr_read(rd, h);
	rcpts_normalize(t);
	looping = h->received > max_received;
	for (i = 0; i < t->nrcpt; i++) {
		const struct rcpt *r = &t->rcpt[i];

		c.orig = r;
		c.depth = 0;
		if (looping) {
			char n[32];

			snprintf(n, sizeof n, "%ld", h->received);
			fail(&c, &lp, r->addr, "5.4.6",
			    "mail loop: %s Received: fields name this host", n);
		} else if (xparam_get(r->x, r->nx, "X-EXPANDED") != NULL ||
		    xparam_get(r->x, r->nx, "X-ROUTE") != NULL)
			emit(&c, r->addr, NULL);	/* done on an earlier pass */
		else
			expand(&c, r->addr);
	}
	dead = t->from != NULL && t->from[0] == '\0' && dsn_is_double(t);
	if (dead) {
		keep_failed(&out, &fl);
		if (!loop_to_pm)
			keep_failed(&out, &lp);
	}
	if (fl.t.nrcpt == 0 && lp.t.nrcpt == 0 && out.nrcpt <= STREAM_RCPT_MAX) {
		if (out.nrcpt > 0)
			write_txns(w, t, &out, &h->h, rd, NULL);
		else if (!h->h.body_done && stream_skip_body(rd) < 0)
			die(rd->exit_code, "%s", rd->err);
	} else {
		save_all(sp, &h->h, rd);
		write_txns(w, t, &out, &h->h, rd, sp);
		bounce(w, t, &fl, sp, 0);
		bounce(w, t, &lp, sp, loop_to_pm);
	}
	fail_clear(&fl);
	fail_clear(&lp);
	free(fl.status);
	free(fl.diag);
	free(lp.status);
	free(lp.diag);
	strset_free(&emitted);
	strset_free(&expanded);
	txn_free(&out);
}

static void
open_table(struct table *t, const char *name)
{
	if (table_open(t, name) < 0)
		die_sys("unable to open table %s", name);
}

int
main(int argc, char **argv)
{
	struct hdr h;
	const char *v;

	usage_none(argc, argv, "usage: sluice-alias < stream > stream\nSee sluice-alias(8).\n");
	log_init(argv[0]);
	open_table(&t_aliases, "aliases");
	open_table(&t_domains, "domains");
	open_table(&t_users, "users");
	delims = conf_get("recipient_delimiter", "+");
	hostname = conf_hostname();
	max_depth = conf_num("alias_max_depth", 10);
	max_received = conf_num("max_received", 50);
	if (max_depth < 1 || max_depth > DEPTH_CAP)
		die(EXIT_TEMP, "4.3.5 setting alias_max_depth must be from 1 to %d",
		    DEPTH_CAP);
	if (max_received < 1)
		die(EXIT_TEMP, "4.3.5 setting max_received must be a positive number");
	v = conf_get("loop_to_postmaster", "no");
	loop_to_pm = strcasecmp(v, "yes") == 0;
	/* Unknown local users are bounced here only if sluice-local would. */
	v = conf_get("local_default_channel", "local");
	bounce_unknown = strcasecmp(v, "local") == 0;

	memset(&h, 0, sizeof h);
	if (header_init(&h.h) < 0)
		die_nomem();
	stage_run(alias_txn, &h);
	header_free(&h.h);
	strset_free(&h.delivered_to);
	table_close(&t_aliases);
	table_close(&t_domains);
	table_close(&t_users);
	return 0;
}
