/*
 * A session with one server: connect, greeting, EHLO (else HELO),
 * STARTTLS when offered and wanted, AUTH when smtp_auth has credentials
 * for the server's name; and its end, QUIT.
 */
#include "smtp.h"

#include "log.h"
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void
ehlo_line(struct conn *c, const char *kw)
{
	if (strncasecmp(kw, "PIPELINING", 10) == 0 && !isalnum((unsigned char)kw[10]))
		c->pipelining = 1;
	else if (strncasecmp(kw, "8BITMIME", 8) == 0 && !isalnum((unsigned char)kw[8]))
		c->eightbit = 1;
	else if (strncasecmp(kw, "SMTPUTF8", 8) == 0 && !isalnum((unsigned char)kw[8]))
		c->utf8 = 1;
	else if (strncasecmp(kw, "DSN", 3) == 0 && (kw[3] == '\0' || kw[3] == ' '))
		c->dsn = 1;
	else if (strncasecmp(kw, "STARTTLS", 8) == 0 && !isalnum((unsigned char)kw[8]))
		c->starttls = 1;
	else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == ' ' || kw[4] == '\0'))
		c->size_max = strtoull(kw + 4, NULL, 10);
	else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
		char b[REPLY_MAX], *w, *save = NULL;

		snprintf(b, sizeof b, "%s", kw + 5);
		for (w = strtok_r(b, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (strcasecmp(w, "PLAIN") == 0)
				c->auth_plain = 1;
			else if (strcasecmp(w, "LOGIN") == 0)
				c->auth_login = 1;
		}
	}
}

static void
caps_clear(struct conn *c)
{
	c->esmtp = c->pipelining = c->eightbit = c->utf8 = c->dsn = 0;
	c->starttls = c->auth_plain = c->auth_login = 0;
	c->size_max = 0;
}

/* EHLO, else HELO.  0, or -1 with err (status and words). */
static int
greet(struct conn *c, const char *helo, struct reply *r, char *status,
    char *err, size_t errsz)
{
	caps_clear(c);
	if (conn_printf(c, PH_HELO, "EHLO %s\r\n", helo) < 0 ||
	    conn_flush(c, PH_HELO) < 0 || conn_reply(c, r, PH_HELO, ehlo_line) < 0)
		return -1;
	if (r->code == 250) {
		c->esmtp = 1;
		return 0;
	}
	caps_clear(c);
	if (r->code >= 500 && r->code != 554) {
		if (conn_printf(c, PH_HELO, "HELO %s\r\n", helo) < 0 ||
		    conn_flush(c, PH_HELO) < 0 || conn_reply(c, r, PH_HELO, NULL) < 0)
			return -1;
		if (r->code == 250)
			return 0;
	}
	snprintf(status, STATUS_MAX, "%s", r->status);
	conn_said(err, errsz, c, r, "EHLO");
	return -1;
}

/* QUIT politely, without caring for the answer beyond its timeout. */
void
session_quit(struct conn *c)
{
	struct reply r;

	if (!c->broken)
		(void)conn_command(c, &r, PH_QUIT, "QUIT");
	conn_close(c);
}

void
session_rset(struct conn *c)
{
	struct reply r;

	if (!c->broken)
		(void)conn_command(c, &r, PH_MAIL, "RSET");
}

static int
b64(const char *s, size_t n, char *out, size_t outsz)
{
	if ((n + 2) / 3 * 4 + 1 > outsz)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return 0;
}

/* Send base64 of s[0..n) as a line of its own and read the reply. */
static int
b64_command(struct conn *c, struct reply *r, const char *prefix,
    const char *s, size_t n)
{
	char enc[HOSTS_VAL_MAX * 3];
	int rc;

	rc = b64(s, n, enc, sizeof enc) < 0 ||
	    conn_printf(c, PH_HELO, "%s%s\r\n", prefix, enc) < 0 ||
	    conn_flush(c, PH_HELO) < 0 || conn_reply(c, r, PH_HELO, NULL) < 0;
	explicit_bzero(enc, sizeof enc);
	return rc ? -1 : 0;
}

/* AUTH PLAIN, else LOGIN, with cred "user:password": 0, or -1 broken. */
static int
auth_exchange(struct conn *c, const char *cred, const char *colon,
    struct reply *r)
{
	char buf[HOSTS_VAL_MAX * 2];
	size_t ul = (size_t)(colon - cred), pl = strlen(colon + 1);
	int rc;

	if (c->auth_plain) {
		buf[0] = '\0';
		memcpy(buf + 1, cred, ul);
		buf[ul + 1] = '\0';
		memcpy(buf + ul + 2, colon + 1, pl);
		rc = b64_command(c, r, "AUTH PLAIN ", buf, ul + pl + 2);
		explicit_bzero(buf, sizeof buf);
		return rc;
	}
	if (conn_command(c, r, PH_HELO, "AUTH LOGIN") < 0)
		return -1;
	if (r->code == 334 && b64_command(c, r, "", cred, ul) < 0)
		return -1;
	if (r->code == 334 && b64_command(c, r, "", colon + 1, pl) < 0)
		return -1;
	return 0;
}

/* SMTP AUTH with user:password from smtp_auth; 0, or -1 with err. */
static int
authenticate(struct conn *c, const char *cred, char *status, char *err,
    size_t errsz)
{
	const char *colon = strchr(cred, ':');
	struct reply r;

	if (colon == NULL) {
		snprintf(status, STATUS_MAX, "4.7.0");
		fmt(err, errsz, "smtp_auth entry for %s is not user:password",
		    c->name);
		return -1;
	}
	if (auth_exchange(c, cred, colon, &r) < 0) {
		snprintf(status, STATUS_MAX, "4.4.2");
		fmt(err, errsz, "%s", c->err);
		return -1;
	}
	if (r.code == 235)
		return 0;
	/* A refused login is our configuration's fault: defer, never bounce. */
	snprintf(status, STATUS_MAX, "4.7.0");
	fmt(err, errsz, "authentication failed: ");
	conn_said(err + strlen(err), errsz - strlen(err), c, &r, "AUTH");
	return -1;
}

/*
 * Log in when smtp_auth has credentials for the server: 0, or -1 with
 * status and err.  An entry that cannot be read defers, as a table that
 * cannot be read does (sluice-smtp.c): AUTH is never skipped in silence.
 */
static int
session_auth(struct job *j, struct conn *c, char *status, char *err,
    size_t errsz)
{
	char cred[HOSTS_VAL_MAX];
	int rc = table_get(&j->s->auth, c->name, cred, sizeof cred);

	if (rc < 0) {
		snprintf(status, STATUS_MAX, "4.7.0");
		fmt(err, errsz, "unable to read the smtp_auth entry for %s: %s",
		    c->name, strerror(errno));
		log_warn("%s", err);
		return -1;
	}
	if (rc == 0)
		return 0;
	if (c->tls == NULL) {
		snprintf(status, STATUS_MAX, "4.7.0");
		fmt(err, errsz, "not sending the password for %s without "
		    "TLS (%s[%s] did not offer STARTTLS)", c->name, c->name,
		    c->ip_s);
		rc = -1;
	} else if (c->auth_plain || c->auth_login) {
		rc = authenticate(c, cred, status, err, errsz);
	} else {
		rc = 0;
	}
	explicit_bzero(cred, sizeof cred);
	return rc;
}

/*
 * STARTTLS when the server offers it and the level wants it: 0 (with or
 * without TLS); -1 when the connection broke or the second EHLO failed
 * (with status and err); -2 when opportunistic TLS failed and the caller
 * should try this target again in the clear; -3 when TLS failed and the
 * connection is closed (with status and err).
 */
static int
session_tls(struct job *j, struct target *t, struct conn *c, char *status,
    char *err, size_t errsz)
{
	const struct settings *cf = &j->s->cf;
	char e2[TEXT_MAX];
	struct reply r;

	if (!c->starttls || j->tls_level == TLS_NONE || t->notls)
		return 0;
	/* OpenSSL is set up only when a server first offers STARTTLS. */
	if (j->tc == NULL) {
		j->tc = tls_client_new(j->tls_level == TLS_VERIFY ? cf->tls_ca :
		    NULL, e2, sizeof e2);
		if (j->tc == NULL) {
			log_warn("TLS: %s", e2);
			return 0;
		}
	}
	if (conn_command(c, &r, PH_HELO, "STARTTLS") < 0)
		return -1;
	if (r.code != 220)
		return 0;
	if (conn_starttls(c, j->tc, t->name, j->tls_level == TLS_VERIFY,
	    cf->timeout_ms[PH_HELO], e2, sizeof e2) < 0) {
		snprintf(status, STATUS_MAX, "4.7.5");
		fmt(err, errsz, "TLS with %s[%s]: %s", c->name, c->ip_s, e2);
		conn_close(c);
		if (j->tls_level == TLS_MAY) {
			t->notls = 1;
			return -2;
		}
		return -3;
	}
	return greet(c, cf->helo, &r, status, err, errsz);
}

/*
 * Open a session with target t: connect, greeting, EHLO, STARTTLS, AUTH.
 * 0, or -1 with status and err, and c->dead when no server answered
 * there (c->slow: a timeout); -2 when opportunistic TLS failed and the
 * caller should try this target again in the clear.
 */
int
session_open(struct job *j, struct target *t, struct conn *c, char *status,
    char *err, size_t errsz)
{
	struct reply r;
	int rc;

	conn_init(c, t, j->s->cf.timeout_ms);
	snprintf(status, STATUS_MAX, "4.4.1");
	if (conn_connect(c, t, err, errsz) < 0)
		return -1;
	c->born = time(NULL);
	snprintf(status, STATUS_MAX, "4.4.2");
	if (conn_reply(c, &r, PH_HELO, NULL) < 0) {
		c->dead = 1;
		c->slow = c->timed_out;
		goto broken;
	}
	if (r.code != 220) {
		snprintf(status, STATUS_MAX, "%c.0.0", r.text[0] == '5' ? '4' :
		    r.text[0]);
		conn_said(err, errsz, c, &r, "initial greeting");
		goto fail;
	}
	if (greet(c, j->s->cf.helo, &r, status, err, errsz) < 0) {
		c->dead = c->broken;
		c->slow = c->broken && c->timed_out;
		goto broken_or_fail;
	}
	rc = session_tls(j, t, c, status, err, errsz);
	if (rc == -1)
		goto broken_or_fail;
	if (rc < -1)
		return rc == -2 ? -2 : -1;
	if (j->tls_level >= TLS_REQUIRE && c->tls == NULL) {
		snprintf(status, STATUS_MAX, "4.7.4");
		fmt(err, errsz, "TLS is required, but was not offered by host "
		    "%s[%s]", c->name, c->ip_s);
		goto fail;
	}
	if (session_auth(j, c, status, err, errsz) < 0)
		goto broken_or_fail;
	return 0;
broken_or_fail:
	if (!c->broken)
		goto fail;
broken:
	snprintf(status, STATUS_MAX, "4.4.2");
	fmt(err, errsz, "%s", c->err);
	conn_close(c);
	return -1;
fail:
	session_quit(c);
	return -1;
}
