#ifndef DNSBL_H
#define DNSBL_H

/*
 * sluice-dnsbl's modules: the configuration (dnsbl_conf.c), the checks
 * asked of the lists at once and their verdicts (dnsbl_check.c), the SMTP
 * refusal of a listed client (dnsbl_refuse.c) and the stream stage
 * (dnsbl_stage.c).  See sluice-dnsbl(8).
 */

#include <stddef.h>

#include "cidr.h"
#include "dns.h"

#define DNSBL_LISTS_MAX 64
#define DNSBL_REASON_MAX 200	/* a TXT reason as it is passed on */

/* What a list is asked about: bits, so that "ip" is both families. */
#define DNSBL_IP4 0x1
#define DNSBL_IP6 0x2
#define DNSBL_DOMAIN 0x4

/* What a listing does; bits, for choosing which lists to ask. */
#define DNSBL_REJECT 0x1
#define DNSBL_TEMPFAIL 0x2
#define DNSBL_TAG 0x4
#define DNSBL_ANY 0x7

struct dnsbl_list {
	char zone[DNS_NAME_MAX + 1];
	unsigned kind;		/* DNSBL_IP4 | DNSBL_IP6, or DNSBL_DOMAIN */
	unsigned action;	/* one of DNSBL_REJECT, _TEMPFAIL, _TAG */
	struct cidr_list answers;	/* listing answers; empty: 127.0.0.0/8 */
	unsigned long mask;	/* nonzero: answers whose 32 bits & mask */
};

struct dnsbl_conf {
	struct dnsbl_list list[DNSBL_LISTS_MAX];
	size_t n;
	struct cidr_list white;	/* clients never checked */
	long timeout_ms;	/* dnsbl_timeout */
	int timeout_tempfail;	/* dnsbl_timeout_action tempfail */
};

/* Read both tables; a malformed entry is fatal (111: fix it, mail waits). */
void dnsbl_conf_load(struct dnsbl_conf *, const char *lists, const char *white);
int dnsbl_whitelisted(const struct dnsbl_conf *, const struct cidr_addr *a);
/* The lists of the given kind and actions: is there any? */
int dnsbl_conf_any(const struct dnsbl_conf *, unsigned kind, unsigned actions);

enum dnsbl_result { DNSBL_CLEAN, DNSBL_LISTED, DNSBL_UNANSWERED };

/* One subject (a client address or a sender domain) asked of one list. */
struct dnsbl_check {
	const struct dnsbl_list *list;
	char subject[DNS_NAME_MAX + 1];	/* "192.0.2.7" or "example.org" */
	int is_domain;
	enum dnsbl_result result;
	char answer[CIDR_ADDR_STRLEN];	/* the listing answer */
	char reason[DNSBL_REASON_MAX + 1];	/* its TXT, printable ASCII; "" */
	char qname[DNS_NAME_MAX + 1];
};

struct dnsbl_batch {
	struct dnsbl_check *c;
	size_t n, cap;
};

/*
 * Add the checks of one client address or sender domain against every
 * list of a matching kind whose action is in actions.  Returns the index
 * of the first check added; *count gets how many.  Out of memory is fatal.
 */
size_t dnsbl_add_addr(struct dnsbl_batch *, const struct dnsbl_conf *,
    const struct cidr_addr *a, unsigned actions, size_t *count);
size_t dnsbl_add_domain(struct dnsbl_batch *, const struct dnsbl_conf *,
    const char *domain, unsigned actions, size_t *count);
/*
 * Ask every check's list at once (A records), then the TXT reasons of the
 * listings at once, within dnsbl_timeout; log what is worth a line.
 */
void dnsbl_run(struct dnsbl_batch *, const struct dnsbl_conf *,
    const char *logid);
void dnsbl_batch_free(struct dnsbl_batch *);
/*
 * The words of a refusal for a listed check: "Service unavailable;
 * client [192.0.2.7] blocked using bl.example; reason".
 */
void dnsbl_words(const struct dnsbl_check *, char *buf, size_t size);
/*
 * Of checks c[0..n): the listing that decides (the first reject, else the
 * first tempfail), or NULL; *unanswered is set when a list gave no answer.
 */
const struct dnsbl_check *dnsbl_verdict(const struct dnsbl_check *c,
    size_t n, int *unanswered);

/* Speak SMTP on stdin/stdout to refuse the session; never returns. */
void dnsbl_refuse(int temporary, const char *words)
	__attribute__((noreturn));

/* The stream-stage mode: argv is the program to hand the output to, or empty. */
int dnsbl_stage(const struct dnsbl_conf *, char **argv);

#endif
