/*
 * The channel action matrix: see the contract in matrix.h and
 * sluice-content(5).  The table is small and read whole once per run;
 * each transaction costs one access lookup at most (only when a rule
 * names "relay" or "internet"), and each recipient a look at its X-ROUTE.
 */
#include "matrix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static const struct { const char *name; unsigned bit; } sources[] = {
	{ "any", MATRIX_SRC_ANY }, { "local", MATRIX_SRC_LOCAL },
	{ "auth", MATRIX_SRC_AUTH }, { "relay", MATRIX_SRC_RELAY },
	{ "client", MATRIX_SRC_CLIENT }, { "internet", MATRIX_SRC_INTERNET },
	{ "imported", MATRIX_SRC_IMPORTED },
}, channels[] = {
	{ "any", MATRIX_CH_ANY }, { "local", MATRIX_CH_LOCAL },
	{ "smtp", MATRIX_CH_SMTP }, { "pipe", MATRIX_CH_PIPE },
	{ "bsmtp", MATRIX_CH_BSMTP }, { "file", MATRIX_CH_FILE },
};

#define NSOURCES (sizeof sources / sizeof sources[0])
#define NCHANNELS (sizeof channels / sizeof channels[0])

static int
word_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

/* One item of from=: a source word or a range. */
static int
add_source(struct matrix_rule *r, const char *w, size_t n)
{
	struct cidr_range c, *p;
	char buf[128];
	size_t i;

	for (i = 0; i < NSOURCES; i++)
		if (word_is(w, n, sources[i].name)) {
			r->src |= sources[i].bit;
			return 0;
		}
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, w, n);
	buf[n] = '\0';
	if (cidr_parse(buf, &c) < 0)
		return -1;
	if ((p = realloc(r->nets, (r->nnets + 1) * sizeof *p)) == NULL)
		die_nomem();
	r->nets = p;
	r->nets[r->nnets++] = c;
	return 0;
}

static int
add_channel(struct matrix_rule *r, const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < NCHANNELS; i++)
		if (word_is(w, n, channels[i].name)) {
			r->ch |= channels[i].bit;
			return 0;
		}
	return -1;
}

/* "a,b,c" into the rule, each item by fn; the bad item in *bad. */
static int
add_list(struct matrix_rule *r, const char *s, size_t n,
    int (*fn)(struct matrix_rule *, const char *, size_t), const char **bad,
    size_t *badn)
{
	size_t i = 0, j;

	if (n == 0)
		return *bad = s, *badn = 0, -1;
	while (i < n) {
		for (j = i; j < n && s[j] != ','; j++)
			;
		if (fn(r, s + i, j - i) < 0)
			return *bad = s + i, *badn = j - i, -1;
		i = j + 1;
	}
	return 0;
}

/* One rule: "from=... to=...", "off", or nothing (everything). */
static int
parse_rule(struct matrix_rule *r, const char *s, size_t n, char *err, size_t errsz)
{
	const char *bad = s;
	size_t i = 0, j, badn = 0;
	int from = 0, to = 0, off = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		for (j = i; j < n && s[j] != ' ' && s[j] != '\t'; j++)
			;
		if (j == i)
			break;
		if (word_is(s + i, j - i, "off"))
			off = 1;
		else if (j - i >= 5 && strncasecmp(s + i, "from=", 5) == 0 && !from) {
			from = 1;
			if (add_list(r, s + i + 5, j - i - 5, add_source, &bad, &badn) < 0)
				goto fail;
		} else if (j - i >= 3 && strncasecmp(s + i, "to=", 3) == 0 && !to) {
			to = 1;
			if (add_list(r, s + i + 3, j - i - 3, add_channel, &bad, &badn) < 0)
				goto fail;
		} else {
			bad = s + i;
			badn = j - i;
			goto fail;
		}
		i = j;
	}
	if (off && (from || to)) {
		snprintf(err, errsz, "\"off\" with from= or to=");
		return -1;
	}
	if (off)
		return 0;	/* matches nothing */
	if (!from)
		r->src = MATRIX_SRC_ANY;
	if (!to)
		r->ch = MATRIX_CH_ANY;
	return 0;
fail:
	snprintf(err, errsz, "not understood: \"%.*s\" (from=SOURCE,... to=CHANNEL,... "
	    "or off)", (int)(badn > 100 ? 100 : badn), bad);
	return -1;
}

static int
add_row(struct matrix *m, const char *stage, const char *val, char *err, size_t errsz)
{
	const char *s = val, *semi;
	char why[200];

	if (strlen(stage) > MATRIX_STAGE_MAX) {
		snprintf(err, errsz, "table content: stage name too long: %.40s", stage);
		return -1;
	}
	do {
		struct matrix_rule *p;
		size_t n;

		semi = strchr(s, ';');
		n = semi ? (size_t)(semi - s) : strlen(s);
		if ((p = realloc(m->r, (m->n + 1) * sizeof *p)) == NULL)
			die_nomem();
		m->r = p;
		p = &m->r[m->n++];
		memset(p, 0, sizeof *p);
		memcpy(p->stage, stage, strlen(stage) + 1);	/* its length was checked */
		if (parse_rule(p, s, n, why, sizeof why) < 0) {
			snprintf(err, errsz, "table content: row %s: %s", stage, why);
			return -1;
		}
		if (p->src & (MATRIX_SRC_RELAY | MATRIX_SRC_INTERNET))
			m->need_access = 1;
		s = semi + 1;
	} while (semi != NULL);
	return 0;
}

int
matrix_load(struct matrix *m, char *err, size_t errsz)
{
	static char key[TABLE_KEY_MAX], val[TABLE_VAL_MAX];
	struct table t;
	unsigned pos = 0;
	int rc;

	memset(m, 0, sizeof *m);
	m->access.fd = -1;
	if (table_open(&t, "content") < 0) {
		snprintf(err, errsz, "unable to open table content: %s", strerror(errno));
		return -1;
	}
	while ((rc = table_next(&t, &pos, key, sizeof key, val, sizeof val)) == 1)
		if (add_row(m, key, val, err, errsz) < 0) {
			table_close(&t);
			return -1;
		}
	table_close(&t);
	if (rc < 0) {
		snprintf(err, errsz, "unable to read table content: %s", strerror(errno));
		return -1;
	}
	m->present = m->n > 0;
	if (m->need_access && table_open(&m->access, "access") < 0) {
		snprintf(err, errsz, "unable to open table access: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
matrix_free(struct matrix *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->r[i].nets);
	free(m->r);
	table_close(&m->access);
	memset(m, 0, sizeof *m);
	m->access.fd = -1;
}

/*
 * Whether the access table lets ip relay: the address, then ever shorter
 * prefixes of whole components, as sluice-smtpd reads it (192.0.2.7,
 * 192.0.2, 192.0, 192).  Unreadable counts as no.
 */
static int
may_relay(struct matrix *m, const char *ip)
{
	char key[64], val[256], *p;
	char sep = strchr(ip, ':') ? ':' : '.';
	int rc;

	if (strlen(ip) >= sizeof key)
		return 0;
	strcpy(key, ip);
	for (;;) {
		rc = table_get(&m->access, key, val, sizeof val);
		if (rc != 0 || (p = strrchr(key, sep)) == NULL)
			break;
		*p = '\0';
	}
	return rc == 1 && strncasecmp(val, "relay", 5) == 0;
}

static int
xf_is(const struct txn *t, enum xf_attr a, const char *v)
{
	return t->xf[a] != NULL && strcasecmp(t->xf[a], v) == 0;
}

/* The source of t into m's cache (once per transaction). */
static void
source(struct matrix *m, const struct txn *t)
{
	const char *addr = t->xf[XF_ADDR];
	unsigned s = 0;

	char key[sizeof m->last_key];

	/* What the source depends on: the address, local or not, AUTH= or not. */
	snprintf(key, sizeof key, "%d%d%d %s", xf_is(t, XF_PROTO, "LOCAL"),
	    xf_is(t, XF_SOURCE, "LOCAL"), t->auth != NULL && strcmp(t->auth, "<>") != 0,
	    addr ? addr : "");
	if (m->have_last && strcmp(key, m->last_key) == 0)
		return;
	memcpy(m->last_key, key, sizeof key);
	m->have_last = 1;
	m->last_has_addr = 0;
	if (xf_is(t, XF_PROTO, "LOCAL") || xf_is(t, XF_SOURCE, "LOCAL"))
		s = MATRIX_SRC_LOCAL;
	else if (addr != NULL && *addr != '\0') {
		s = MATRIX_SRC_CLIENT;
		if (t->auth != NULL && strcmp(t->auth, "<>") != 0)
			s |= MATRIX_SRC_AUTH;
		if (m->need_access && may_relay(m, addr))
			s |= MATRIX_SRC_RELAY;
		if (!(s & (MATRIX_SRC_AUTH | MATRIX_SRC_RELAY)))
			s |= MATRIX_SRC_INTERNET;
		m->last_has_addr = cidr_addr_parse(addr, &m->last_addr) == 0;
	} else
		s = MATRIX_SRC_IMPORTED;
	m->last_src = s;
}

static unsigned
channel(const struct rcpt *r)
{
	const char *v = xparam_get(r->x, r->nx, "X-ROUTE");
	size_t i, n;

	if (v == NULL)
		return 0;
	n = strcspn(v, ":");
	for (i = 1; i < NCHANNELS; i++)
		if (word_is(v, n, channels[i].name))
			return channels[i].bit;
	return 0;	/* error:, defer: */
}

static int
rule_matches(const struct matrix *m, const struct matrix_rule *r, unsigned ch)
{
	size_t i;
	int src = (r->src & MATRIX_SRC_ANY) || (r->src & m->last_src);

	for (i = 0; !src && m->last_has_addr && i < r->nnets; i++)
		src = cidr_match(&r->nets[i], &m->last_addr);
	return src && ((r->ch & MATRIX_CH_ANY) || (r->ch & ch));
}

/* Whether stage has rows of its own, else the default row: which to use. */
static const char *
row_of(const struct matrix *m, const char *stage)
{
	size_t i;
	int dflt = 0;

	for (i = 0; i < m->n; i++) {
		if (strcasecmp(m->r[i].stage, stage) == 0)
			return stage;
		dflt |= strcmp(m->r[i].stage, "default") == 0;
	}
	return dflt ? "default" : NULL;
}

static int
rcpt_applies(struct matrix *m, const char *row, const struct rcpt *rc)
{
	unsigned ch = channel(rc);
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcasecmp(m->r[i].stage, row) == 0 && rule_matches(m, &m->r[i], ch))
			return 1;
	return 0;
}

int
matrix_applies_rcpt(struct matrix *m, const char *stage, const struct txn *t, size_t i)
{
	const char *row = m->present ? row_of(m, stage) : NULL;

	if (row == NULL)
		return 1;
	source(m, t);
	return rcpt_applies(m, row, &t->rcpt[i]);
}

/* How many of t's recipients the stage acts on; yes[i] (may be NULL) each. */
static size_t
count(struct matrix *m, const char *row, const struct txn *t, unsigned char *yes)
{
	size_t i, k = 0;
	int y;

	source(m, t);
	for (i = 0; i < t->nrcpt; i++) {
		y = rcpt_applies(m, row, &t->rcpt[i]);
		if (yes != NULL)
			yes[i] = (unsigned char)y;
		k += (size_t)y;
	}
	return k;
}

int
matrix_applies(struct matrix *m, const char *stage, const struct txn *t)
{
	const char *row = m->present ? row_of(m, stage) : NULL;
	size_t k;

	if (row == NULL)
		return MATRIX_ALL;
	k = count(m, row, t, NULL);
	return k == 0 ? MATRIX_NONE : k == t->nrcpt ? MATRIX_ALL : MATRIX_SOME;
}

/*
 * Write t's envelope with only the recipients yes[i] == want: the
 * recipient array is lent a shallow copy of those, then given back.
 */
static int
write_head_some(struct stream_writer *w, struct txn *t, const unsigned char *yes,
    int want)
{
	struct rcpt *all = t->rcpt, *some;
	size_t i, n = t->nrcpt, k = 0;
	int rc;

	if ((some = malloc(n * sizeof *some)) == NULL)
		die_nomem();
	for (i = 0; i < n; i++)
		if (yes[i] == want)
			some[k++] = all[i];
	t->rcpt = some;
	t->nrcpt = k;
	rc = stream_write_head(w, t);
	t->rcpt = all;
	t->nrcpt = n;
	free(some);
	return rc;
}

int
matrix_txn(struct matrix *m, const char *stage, struct stream_reader *rd,
    struct stream_writer *w, struct txn *t, struct bodyfile *sp, int *read_failed)
{
	const char *row = m->present ? row_of(m, stage) : NULL;
	unsigned char *yes;
	size_t k, i;

	*read_failed = 0;
	if (row == NULL || t->nrcpt == 0)
		return MATRIX_ALL;
	if ((yes = calloc(t->nrcpt, 1)) == NULL)
		die_nomem();
	k = count(m, row, t, yes);
	if (k == t->nrcpt) {
		free(yes);
		return MATRIX_ALL;
	}
	if (k == 0) {
		free(yes);
		if (stream_write_head(w, t) < 0 || stream_copy_body(rd, w, read_failed) < 0)
			return -1;
		return MATRIX_NONE;
	}
	/* Some: the others go on as a transaction of their own, unchanged. */
	if (bodyfile_reset(sp) < 0 || bodyfile_from_stream(sp, rd, read_failed) < 0 ||
	    write_head_some(w, t, yes, 0) < 0 || bodyfile_write_stream(sp, w) < 0) {
		free(yes);
		return -1;
	}
	log_info("qid=%s stage=%s acts_on=%zu passed=%zu", t->xf[XF_IDENT] ?
	    t->xf[XF_IDENT] : "-", stage, k, t->nrcpt - k);
	for (i = t->nrcpt; i-- > 0;)
		if (!yes[i])
			txn_del_rcpt(t, i);
	free(yes);
	return MATRIX_SOME;
}
