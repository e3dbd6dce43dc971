/*
 * One POP3 session (RFC 1939): greeting, STLS (RFC 2595) or implicit TLS,
 * APOP or USER/PASS, UIDL, then for each message not yet fed: RETR, the
 * feed, and DELE only after the feed exited 0 and the record of it is
 * synced.  Messages the record says were fed (in a session whose QUIT
 * never came) are deleted without being fetched again.  QUIT makes the
 * server carry out the deletions; a session stops after the profile's
 * max messages, as IEMS does, so that a lost connection costs little.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodyfile.h"
#include "buf.h"
#include "log.h"
#include "pop3.h"

struct msg {
	unsigned long n;
	char uid[POP3_UID_MAX + 1];	/* "" without UIDL */
};

struct sess {
	const struct profile *p;
	struct conn *c;
	char ts[POP3_LINE_MAX];		/* the APOP timestamp, "" if none */
	char last[POP3_LINE_MAX];	/* the last reply, for logs */
	struct msg *m;
	size_t nm, am;
	int file;			/* the message being fed */
	int broken;			/* the connection failed */
};

/* One reply line: 1 for +OK, 0 for -ERR, -1 when the connection failed. */
static int
reply(struct sess *s)
{
	char *l;
	size_t n;
	int partial;

	if (conn_getline(s->c, &l, &n, &partial) < 0) {
		snprintf(s->last, sizeof s->last, "%s", errno == ETIMEDOUT ?
		    "timed out" : errno == ECONNRESET ? "connection lost" :
		    strerror(errno));
		s->broken = 1;
		return -1;
	}
	snprintf(s->last, sizeof s->last, "%.*s", (int)(n > 200 ? 200 : n), l);
	if (strncmp(l, "+OK", 3) == 0)
		return 1;
	if (strncmp(l, "-ERR", 4) == 0)
		return 0;
	snprintf(s->last, sizeof s->last, "not a POP3 reply: %.100s", l);
	return -1;
}

static int
cmd(struct sess *s, const char *fmt, const char *arg)
{
	if (conn_printf(s->c, fmt, arg) < 0) {
		snprintf(s->last, sizeof s->last, "%s", strerror(errno));
		s->broken = 1;
		return -1;
	}
	return reply(s);
}

static void
fail(struct sess *s, const char *what)
{
	log_warn("profile=%s host=%s status=deferred reason=\"%s: %s\"",
	    s->p->name, s->p->host, what, s->last);
}

/* The lines of a multi-line reply up to ".", dot-stuffing undone. */
static int
multiline(struct sess *s, int (*fn)(struct sess *, const char *, size_t, int))
{
	char *l;
	size_t n;
	int partial, cont = 0;

	for (;;) {
		if (conn_getline(s->c, &l, &n, &partial) < 0) {
			snprintf(s->last, sizeof s->last, "%s", errno == ETIMEDOUT ?
			    "timed out" : "connection lost");
			s->broken = 1;
			return -1;
		}
		if (!cont && !partial && n == 1 && l[0] == '.')
			return 0;
		if (!cont && l[0] == '.')
			l++, n--;
		if (fn(s, l, n, partial) < 0)
			return -1;
		cont = partial;
	}
}

static int
add_uid(struct sess *s, const char *l, size_t n, int partial)
{
	char uid[POP3_UID_MAX + 2];
	unsigned long num;

	(void)n;
	if (partial || sscanf(l, "%lu %71s", &num, uid) != 2 ||
	    strlen(uid) > POP3_UID_MAX) {
		snprintf(s->last, sizeof s->last, "bad UIDL line: %.100s", l);
		return -1;
	}
	if (s->nm == s->am) {
		s->am = s->am ? 2 * s->am : 64;
		if ((s->m = realloc(s->m, s->am * sizeof *s->m)) == NULL)
			die_nomem();
	}
	s->m[s->nm].n = num;
	memcpy(s->m[s->nm].uid, uid, strlen(uid) + 1);	/* fits: checked above */
	s->nm++;
	return 0;
}

/* LIST's lines when there is no UIDL: numbers only. */
static int
add_num(struct sess *s, const char *l, size_t n, int partial)
{
	char fake[POP3_LINE_MAX];

	snprintf(fake, sizeof fake, "%lu -", strtoul(l, NULL, 10));
	if (add_uid(s, fake, n, partial) < 0)
		return -1;
	s->m[s->nm - 1].uid[0] = '\0';
	return 0;
}

static int
save_line(struct sess *s, const char *l, size_t n, int partial)
{
	if (write_all(s->file, l, n) < 0 || (!partial && write_all(s->file, "\n", 1) < 0))
		die_sys("unable to write a temporary file");
	return 0;
}

static int
apop(struct sess *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen, i;
	char text[2 * POP3_LINE_MAX], hex[2 * EVP_MAX_MD_SIZE + 1], arg[600];

	snprintf(text, sizeof text, "%s%s", s->ts, s->p->pass);
	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_md5(), NULL) != 1)
		die(EXIT_TEMP, "MD5 is not available for APOP");
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(arg, sizeof arg, "%s %s", s->p->user, hex);
	return cmd(s, "APOP %s", arg);
}

/* Greeting, TLS, log in: 0, or -1 with the reason logged. */
static int
login(struct sess *s)
{
	const struct profile *p = s->p;
	char err[300], *lt, *gt;
	int rc;

	if ((p->tls == TLS_IMPLICIT && conn_tls(s->c, p, err, sizeof err) < 0))
		return snprintf(s->last, sizeof s->last, "%s", err), fail(s, "TLS"), -1;
	if (reply(s) != 1)
		return fail(s, "greeting"), -1;
	if ((lt = strrchr(s->last, '<')) != NULL && (gt = strchr(lt, '>')) != NULL)
		snprintf(s->ts, sizeof s->ts, "%.*s", (int)(gt - lt + 1), lt);
	if (p->tls == TLS_STARTTLS) {
		if (cmd(s, "%s", "STLS") != 1)
			return fail(s, "STLS (tls=none turns TLS off)"), -1;
		if (conn_tls(s->c, p, err, sizeof err) < 0)
			return snprintf(s->last, sizeof s->last, "%s", err),
			    fail(s, "TLS"), -1;
	}
	if (p->auth == AUTH_APOP || (p->auth == AUTH_ANY && s->ts[0])) {
		if (!s->ts[0])
			return snprintf(s->last, sizeof s->last, "no timestamp in the "
			    "greeting"), fail(s, "APOP"), -1;
		rc = apop(s);
	} else if ((rc = cmd(s, "USER %s", p->user)) == 1)
		rc = cmd(s, "PASS %s", p->pass);
	if (rc != 1)
		return fail(s, "login"), -1;
	return 0;
}

/* The messages on the server, with their uids when it has UIDL. */
static int
list(struct sess *s, struct uidl *u)
{
	struct strset on = { 0 };
	size_t i;
	int rc;

	if ((rc = cmd(s, "%s", "UIDL")) == 1) {
		if (multiline(s, add_uid) < 0)
			return fail(s, "UIDL"), -1;
		for (i = 0; i < s->nm; i++)
			if (strset_add(&on, s->m[i].uid) < 0)
				die_nomem();
		uidl_compact(u, &on);
		strset_free(&on);
		return 0;
	}
	if (rc < 0 || cmd(s, "%s", "LIST") != 1 || multiline(s, add_num) < 0)
		return fail(s, "LIST"), -1;
	return 0;
}

/* Fetch message m into s->file; 0, or -1 when the session failed. */
static int
retr(struct sess *s, const struct msg *m)
{
	char num[32];

	if (ftruncate(s->file, 0) < 0 || lseek(s->file, 0, SEEK_SET) < 0)
		die_sys("unable to write a temporary file");
	snprintf(num, sizeof num, "%lu", m->n);
	if (cmd(s, "RETR %s", num) != 1 || multiline(s, save_line) < 0)
		return fail(s, "RETR"), -1;
	return 0;
}

static int
dele(struct sess *s, const struct msg *m)
{
	char num[32];

	snprintf(num, sizeof num, "%lu", m->n);
	if (cmd(s, "DELE %s", num) != 1)
		return fail(s, "DELE"), -1;
	return 0;
}

/* One message not yet fed: SESSION_DONE to go on, or why to stop. */
static int
one(struct sess *s, struct uidl *u, const struct msg *m, unsigned *fed)
{
	const char *uid = m->uid[0] ? m->uid : "-";
	int st;

	if (retr(s, m) < 0)
		return SESSION_TEMP;
	st = feed_run(s->p, s->file, uid);
	log_info("profile=%s uid=%s msg=%lu status=%s", s->p->name, uid, m->n,
	    st == 0 ? "fed" : st == EXIT_PERM ? "refused" : "deferred");
	if (st != 0 && st != EXIT_PERM)
		return SESSION_TEMP;
	if (m->uid[0])
		uidl_note(u, st == 0 ? 'D' : 'R', m->uid);
	if (st == 0) {
		if (dele(s, m) < 0)
			return SESSION_TEMP;
		(*fed)++;
	}
	return SESSION_DONE;
}

static int
messages(struct sess *s, struct uidl *u, unsigned *fed)
{
	unsigned tried = 0;
	size_t i;
	int rc;

	for (i = 0; i < s->nm; i++) {
		const struct msg *m = &s->m[i];

		if (m->uid[0] && strset_has(&u->done, m->uid)) {
			/* Fed in a session that never reached QUIT. */
			if (dele(s, m) < 0)
				return SESSION_TEMP;
			log_info("profile=%s uid=%s msg=%lu status=deleted (fed before)",
			    s->p->name, m->uid, m->n);
			(*fed)++;
			continue;
		}
		if (m->uid[0] && strset_has(&u->refused, m->uid))
			continue;
		if (s->p->max && tried == s->p->max)
			return SESSION_MORE;
		tried++;
		if ((rc = one(s, u, m, fed)) != SESSION_DONE)
			return rc;
	}
	return SESSION_DONE;
}

int
session_run(const struct profile *p, struct uidl *u, unsigned *fed)
{
	struct sess s = { .p = p };
	char err[300];
	int rc;

	*fed = 0;
	if ((s.c = conn_open(p, err, sizeof err)) == NULL) {
		snprintf(s.last, sizeof s.last, "%s", err);
		fail(&s, "connect");
		return SESSION_TEMP;
	}
	if ((s.file = bodyfile_tmpfile(bodyfile_tmpdir())) < 0)
		die_sys("unable to create a temporary file in %s", bodyfile_tmpdir());
	rc = SESSION_TEMP;
	if (login(&s) == 0 && list(&s, u) == 0) {
		rc = messages(&s, u, fed);
		/* QUIT even after a feed failed: the deletions so far stand. */
		if (!s.broken && cmd(&s, "%s", "QUIT") != 1) {
			fail(&s, "QUIT");
			rc = SESSION_TEMP;
		}
	}
	log_info("profile=%s host=%s tls=%s messages=%zu fed=%u end=%s", p->name,
	    p->host, conn_describe(s.c), s.nm, *fed, rc == SESSION_DONE ? "done" :
	    rc == SESSION_MORE ? "more" : "deferred");
	close(s.file);
	free(s.m);
	conn_close(s.c);
	return rc;
}
