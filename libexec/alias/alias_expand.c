/*
 * One recipient expanded through the aliases table: lists, :include:
 * files, pipes and files, domain aliases; an alias that reaches itself,
 * nesting too deep and Delivered-To: loops.  Each address that comes out
 * is sent on (alias_expand_emit) once per route, or fails once.
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
#include "buf.h"
#include "dsn.h"
#include "local.h"
#include "log.h"
#include "route.h"
#include "sluice-alias.h"
#include "xtext.h"

static size_t targets(struct expansion *, const char *owner, const char *val,
    int trusted);

/* Add s (compared without case); 1 if it was new, 0 if already there. */
static int
set_add(struct strset *st, const char *s)
{
	int rc = strset_add(st, s);

	if (rc < 0)
		die_nomem();
	return rc;
}

/* A copy of the original recipient for addr (its NOTIFY, ORCPT, X-). */
static struct rcpt *
derived(struct expansion *c, struct txn *t, const char *addr)
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

void
alias_expand_fail(struct expansion *c, struct fail *f, const char *addr,
    const char *status, const char *fmt, const char *arg)
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
	alias_fail_add(f, &tmp.rcpt[0], status, diag);
	txn_free(&tmp);
	log_info("qid=%s rcpt=%s orcpt=%s status=%s reason=\"%s\"", c->qid, addr,
	    c->orig->addr, status, diag);
}

/* Send one recipient on; route is NULL or a pipe:/file: route. */
size_t
alias_expand_emit(struct expansion *c, const char *addr, const char *route)
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
final(struct expansion *c, const char *addr)
{
	if (c->A->bounce_unknown &&
	    alias_lookup_domain_local(c->A, alias_lookup_domain_of(addr)) &&
	    !local_is_postmaster(addr) && !alias_lookup_user_known(c->A, addr)) {
		alias_expand_fail(c, c->fail, addr, "5.1.1", "%s: no such user here",
		    addr);
		return 1;
	}
	return alias_expand_emit(c, addr, NULL);
}

/*
 * Open an :include: file for owner.  A missing, unreadable or unsafe list
 * is the postmaster's to fix: the message waits.
 */
static int
include_open(const char *owner, const char *path)
{
	struct stat st;
	int fd;

	/*
	 * O_NONBLOCK so that a FIFO put there cannot hang the chain; only a
	 * regular file is a list.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		die(EXIT_TEMP, "4.3.0 unable to open include file %s for %s: %s", path,
		    owner, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		die(EXIT_TEMP, "4.3.0 include file %s for %s is not a regular file",
		    path, owner);
	/*
	 * Whoever can write the list decides where the mail goes, as with
	 * sendmail and Postfix: only root or our own user.
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
	return fd;
}

/* Expand an :include: file: addresses only, never pipes, files or includes. */
static size_t
include(struct expansion *c, const char *owner, const char *path)
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
	fd = include_open(owner, path);
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

/* A pipe, file or :include: target, from the aliases table only. */
static size_t
special(struct expansion *c, const char *owner, const char *s, int trusted)
{
	char route[ROUTE_MAX + 1];
	struct route r;
	const char *err;
	int pipe = s[0] == '|';

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
	return alias_expand_emit(c, owner, r.text);
}

/* One target of owner's alias, trimmed and unquoted. */
static size_t
target(struct expansion *c, const char *owner, char *s, int trusted)
{
	char a[ADDR_PATH_MAX + 1];
	struct addr ad;
	struct addr_err ae;
	const char *dom = alias_lookup_domain_of(owner);

	if (s[0] == '|' || s[0] == '/' || strncasecmp(s, ":include:", 9) == 0)
		return special(c, owner, s, trusted);
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
	return alias_expand_rcpt(c, a);
}

/* Trim one item of a list in place and unquote it; returns its start. */
static char *
item(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (e - s >= 2 && *s == '"' && e[-1] == '"') {
		e[-1] = '\0';
		s++;
	}
	return s;
}

/* Split an alias value on commas outside double quotes. */
static size_t
targets(struct expansion *c, const char *owner, const char *val, int trusted)
{
	char *buf, *p, *s, *t;
	size_t count = 0;
	int q = 0, last;

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
		last = *p == '\0';
		*p = '\0';
		if (*(t = item(s)) != '\0')
			count += target(c, owner, t, trusted);
		if (last)
			break;
		s = p + 1;
	}
	free(buf);
	return count;
}

/*
 * The buffer for a table value at this depth of the expansion, kept for
 * the next recipient: a 64 KiB malloc and free per recipient is a mmap
 * and a munmap with musl.  At most one per depth is in use at a time.
 */
static char *
value_buffer(size_t depth)
{
	static char *buf[DEPTH_CAP + 2];

	if (depth >= DEPTH_CAP + 2)
		die(EXIT_TEMP, "aliases nested deeper than %d", DEPTH_CAP);
	if (buf[depth] == NULL && (buf[depth] = malloc(TABLE_VAL_MAX)) == NULL)
		die_nomem();
	return buf[depth];
}

/*
 * Expand addr: a loop by Delivered-To:, an alias reaching itself, or too
 * deep; its targets, or addr itself when it is no alias.
 */
size_t
alias_expand_rcpt(struct expansion *c, const char *addr)
{
	char *val;
	size_t i, count;

	if (strset_has(&c->A->delivered_to, addr)) {
		alias_expand_fail(c, c->loop, addr, "5.4.6",
		    "mail forwarding loop for %s (Delivered-To)", addr);
		return 1;
	}
	/* An alias that reaches itself is delivered to its own address. */
	for (i = 0; i < c->depth; i++)
		if (strcasecmp(c->path[i], addr) == 0)
			return final(c, addr);
	val = value_buffer(c->depth);
	if (!alias_lookup_find(c->A, addr, val, TABLE_VAL_MAX))
		return final(c, addr);
	if (!set_add(c->expanded, addr))
		return 1;	/* its targets are already on their way */
	if ((long long)c->depth >= c->A->max_depth) {
		alias_expand_fail(c, c->loop, addr, "5.4.6",
		    "aliases nested too deep at %s (alias_max_depth)", addr);
		return 1;
	}
	c->path[c->depth++] = addr;
	count = targets(c, addr, val, 1);
	c->depth--;
	if (count == 0)
		alias_expand_fail(c, c->fail, addr, "5.3.5",
		    "alias %s expands to no deliverable address", addr);
	return 1;
}
