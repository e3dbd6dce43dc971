#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "log.h"

static char qualify[ADDR_DOMAIN_MAX + 1];

void
envelope_init(void)
{
	const char *q = conf_get("qualify_domain", NULL);

	if (q == NULL)
		q = conf_hostname();
	if (strlen(q) > ADDR_DOMAIN_MAX || !domain_valid(q, strlen(q), 0))
		die(EXIT_TEMP, "qualify_domain is not a valid domain: %s", q);
	strcpy(qualify, q);
	addr_lower(qualify);
}

/* Printable copy of an address for a message. */
static const char *
shown(const char *s)
{
	static char buf[ADDR_PATH_MAX + 8];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof buf - 4; i++)
		buf[i] = ((unsigned char)s[i] < 32 || s[i] == 127) ? '?' : s[i];
	if (s[i] != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/*
 * Normalize *p in place (reallocated).  Unqualified addresses get the
 * qualify_domain, and <postmaster> in any case becomes postmaster@ it.
 */
static int
addr_norm(char **p, unsigned flags, char *why, size_t whysz)
{
	struct addr a;
	struct addr_err e;
	char buf[ADDR_LOCAL_MAX + 3 + 1 + ADDR_DOMAIN_MAX + 1], *c;
	size_t n;

	if (addr_parse(*p, strlen(*p), flags, &a, &e) < 0) {
		snprintf(why, whysz, "%s at offset %zu: <%s>", e.msg, e.pos,
		    shown(*p));
		return -1;
	}
	if (!a.null && a.domain[0] == '\0') {
		if (addr_is_postmaster(&a))
			strcpy(a.local, "postmaster");
		memcpy(a.domain, qualify, sizeof a.domain);
	}
	n = addr_format(&a, buf, sizeof buf);
	if (n > ADDR_MAILBOX_MAX) {
		snprintf(why, whysz, "address longer than %d octets once "
		    "qualified: <%s>", ADDR_MAILBOX_MAX, shown(*p));
		return -1;
	}
	if (strcmp(buf, *p) == 0)
		return 0;
	if ((c = strdup(buf)) == NULL)
		die_nomem();
	free(*p);
	*p = c;
	return 0;
}

/*
 * Once qualified, "alice" and "alice@qualify_domain" are one recipient:
 * keep each once (rcpt_key), the first with its parameters.
 */
static void
norm_dedupe(struct txn *t)
{
	long n = txn_dedupe(t);

	if (n < 0)
		die_nomem();
	if (n > 0)
		log_info("qid=%s line=%lu duplicate_recipients=%ld removed",
		    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-", t->line, n);
}

int
envelope_norm(struct txn *t, const char *name, char *err, size_t errsz)
{
	char why[400];
	unsigned fl = ADDR_UNQUAL_OK | (t->smtputf8 ? ADDR_UTF8 : 0);
	size_t i;

	if (addr_norm(&t->from, fl | ADDR_NULL_OK, why, sizeof why) < 0) {
		snprintf(err, errsz, "%s:%lu: MAIL address: %s", name, t->line, why);
		return -1;
	}
	for (i = 0; i < t->nrcpt; i++) {
		if (addr_norm(&t->rcpt[i].addr, fl, why, sizeof why) < 0) {
			snprintf(err, errsz, "%s:%lu: RCPT address: %s", name,
			    t->rcpt[i].line, why);
			return -1;
		}
	}
	norm_dedupe(t);
	return 0;
}

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

void
envelope_write_head(struct stream_writer *w, struct txn *t,
    unsigned long long size, int eight, int warn)
{
	if (eight && t->body != BODY_8BITMIME) {
		if (warn)
			log_warn("qid=%s line=%lu 8-bit body without "
			    "BODY=8BITMIME: marked BODY=8BITMIME", qid_of(t), t->line);
		t->body = BODY_8BITMIME;
	}
	if (t->has_size && size > t->size) {
		if (warn && size - t->size > t->size / 10 &&
		    size - t->size > 4096)
			log_warn("qid=%s line=%lu SIZE=%llu but the message has "
			    "%llu octets: SIZE raised", qid_of(t), t->line,
			    t->size, size);
		t->size = size;
	}
	if (stream_write_head(w, t) < 0)
		die_sys("unable to write");
}

void
envelope_write(struct stream_writer *w, struct txn *t, struct bodyfile *body,
    unsigned long long size, int eight, int warn)
{
	envelope_write_head(w, t, size, eight, warn);
	if (bodyfile_write_stream(body, w) < 0)
		die_sys("unable to copy a body through a temporary file");
}
