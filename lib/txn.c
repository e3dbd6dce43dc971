#include "txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "log.h"

const char *const xf_names[XF_COUNT] = {
	"NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE", "LOGIN",
};

void
txn_init(struct txn *t)
{
	memset(t, 0, sizeof *t);
}

static void
xparams_free(struct xparam *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(x[i].key);
		free(x[i].val);
	}
}

static void
rcpt_free(struct rcpt *r)
{
	free(r->addr);
	free(r->orcpt);
	xparams_free(r->x, r->nx);
}

void
txn_reset(struct txn *t)
{
	struct rcpt *keep = t->rcpt;
	size_t i, akeep = t->arcpt;

	for (i = 0; i < XF_COUNT; i++)
		free(t->xf[i]);
	free(t->from);
	free(t->envid);
	free(t->auth);
	xparams_free(t->x, t->nx);
	for (i = 0; i < t->nrcpt; i++)
		rcpt_free(&t->rcpt[i]);
	txn_init(t);
	t->rcpt = keep;
	t->arcpt = akeep;
}

void
txn_free(struct txn *t)
{
	txn_reset(t);
	free(t->rcpt);
	txn_init(t);
}

static int
replace(char **dst, const char *s)
{
	char *c = NULL;

	if (s != NULL && (c = strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

int
txn_set_from(struct txn *t, const char *s)
{
	return replace(&t->from, s);
}

int
txn_set_xf(struct txn *t, enum xf_attr a, const char *s)
{
	return replace(&t->xf[a], s);
}

struct rcpt *
txn_add_rcpt_own(struct txn *t, char *addr)
{
	struct rcpt *r;

	if (t->nrcpt == t->arcpt) {
		size_t n = t->arcpt ? t->arcpt * 2 : 4;
		struct rcpt *p = realloc(t->rcpt, n * sizeof *p);

		if (p == NULL)
			return NULL;
		t->rcpt = p;
		t->arcpt = n;
	}
	r = &t->rcpt[t->nrcpt];
	memset(r, 0, sizeof *r);
	r->addr = addr;
	t->nrcpt++;
	return r;
}

struct rcpt *
txn_add_rcpt(struct txn *t, const char *addr)
{
	struct rcpt *r;
	char *a;

	if ((a = strdup(addr)) == NULL)
		return NULL;
	if ((r = txn_add_rcpt_own(t, a)) == NULL)
		free(a);
	return r;
}

void
txn_del_rcpt(struct txn *t, size_t i)
{
	if (i >= t->nrcpt)
		return;
	rcpt_free(&t->rcpt[i]);
	memmove(&t->rcpt[i], &t->rcpt[i + 1],
	    (t->nrcpt - i - 1) * sizeof t->rcpt[0]);
	t->nrcpt--;
}

int
rcpt_copy(struct txn *t, const struct rcpt *src)
{
	struct rcpt *r;
	size_t i;

	if ((r = txn_add_rcpt(t, src->addr)) == NULL)
		return -1;
	r->notify = src->notify;
	if (src->orcpt != NULL && (r->orcpt = strdup(src->orcpt)) == NULL)
		return -1;
	for (i = 0; i < src->nx; i++)
		if (xparam_set(r->x, &r->nx, src->x[i].key, src->x[i].val) < 0)
			return -1;
	return 0;
}

const char *
xparam_get(const struct xparam *x, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(x[i].key, key) == 0)
			return x[i].val ? x[i].val : "";
	return NULL;
}

int
xparam_set(struct xparam *x, size_t *n, const char *key, const char *val)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcasecmp(x[i].key, key) == 0)
			return replace(&x[i].val, val);
	if (*n == STREAM_XPARAM_MAX)
		return errno = E2BIG, XPARAM_FULL;
	if ((x[*n].key = strdup(key)) == NULL)
		return XPARAM_NOMEM;
	x[*n].val = NULL;
	if (replace(&x[*n].val, val) < 0) {
		free(x[*n].key);
		return XPARAM_NOMEM;
	}
	(*n)++;
	return 0;
}

void
xparam_die(int rc, const char *whose)
{
	if (rc == XPARAM_FULL)
		die(EXIT_PERM, "5.3.4 too many private parameters on %s: "
		    "it carries %d X- parameters already", whose, STREAM_XPARAM_MAX);
	die_nomem();
}

void
xparam_del(struct xparam *x, size_t *n, const char *key)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcasecmp(x[i].key, key) == 0) {
			free(x[i].key);
			free(x[i].val);
			memmove(&x[i], &x[i + 1], (*n - i - 1) * sizeof x[0]);
			(*n)--;
			return;
		}
}

char *
rcpt_key(const char *addr)
{
	struct addr a;
	struct addr_err e;
	char buf[ADDR_LOCAL_MAX + 3 + 1 + ADDR_DOMAIN_MAX + 1];

	if (addr_parse(addr, strlen(addr), ADDR_UNQUAL_OK | ADDR_UTF8, &a, &e) < 0)
		return strdup(addr);
	/* RFC 5321 4.5.1: postmaster is one mailbox in any case. */
	if (addr_is_postmaster(&a))
		memcpy(a.local, "postmaster", 11);
	addr_format(&a, buf, sizeof buf);
	return strdup(buf);
}

long
txn_find_rcpt(const struct txn *t, const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < t->nrcpt; i++)
		if (strcmp(t->rcpt[i].addr, key) == 0)
			return (long)i;
	return -1;
}

long
txn_dedupe(struct txn *t)
{
	char **keys;
	size_t i, j;
	long gone = 0;

	if (t->nrcpt < 2)
		return 0;
	if ((keys = calloc(t->nrcpt, sizeof *keys)) == NULL)
		return -1;
	for (i = 0; i < t->nrcpt; i++)
		if ((keys[i] = rcpt_key(t->rcpt[i].addr)) == NULL)
			goto nomem;
	/* Quadratic, but a stream has at most STREAM_RCPT_MAX recipients. */
	for (i = 1; i < t->nrcpt; ) {
		for (j = 0; j < i && strcmp(keys[j], keys[i]) != 0; j++)
			;
		if (j == i) {
			i++;
			continue;
		}
		/* The first keeps its place and its NOTIFY and ORCPT. */
		free(keys[i]);
		memmove(&keys[i], &keys[i + 1], (t->nrcpt - i - 1) * sizeof *keys);
		txn_del_rcpt(t, i);
		gone++;
	}
	for (i = 0; i < t->nrcpt; i++)
		free(keys[i]);
	free(keys);
	return gone;
nomem:
	for (i = 0; i < t->nrcpt; i++)
		free(keys[i]);
	free(keys);
	return -1;
}
