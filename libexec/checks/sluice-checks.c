/*
 * sluice-checks: header and body checks.  Every unfolded header field and
 * every decoded line of a text part is matched against tables of POSIX
 * extended regular expressions (conf/header_checks, conf/body_checks, as
 * Postfix admins know them); the first rule that matches a line decides:
 * reject, discard, hold, warn, replace a header field or tag the message.
 * See sluice-checks(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bounce.h"
#include "conf.h"
#include "content.h"
#include "fsutil.h"
#include "inspect.h"
#include "keep.h"
#include "log.h"
#include "prequeue.h"
#include "rewrite.h"
#include "rules.h"
#include "bodyfile.h"
#include "stage.h"
#include "stream.h"
#include "matrix.h"

/* The MAIL parameter of a held message: released, it is not checked again. */
#define HELD_PARAM "X-CHECKS"

struct checks {
	struct rules hdr, body;
	int have_hdr, have_body;
	struct inspect in;
	struct rewrite rw;
	struct matrix mx;	/* which mail this stage acts on (sluice-content(5)) */
};

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

/*
 * Whether the checks apply to this message.  The channel action matrix
 * (lib/matrix.h, matrix_applies(), by source and destination channel)
 * decides this when it lands; until then every message is checked.
 */
static int
checks_apply(struct checks *c, const struct txn *t)
{
	if (!c->have_hdr && !c->have_body)
		return 0;
	if (!matrix_applies(&c->mx, "checks", t))
		return 0;
	/* Released from hold/ by the postmaster: checked once already. */
	return xparam_get(t->x, t->nx, HELD_PARAM) == NULL;
}

/* A REJECT text: its own 5.x.x status, or 5.7.1; and the words after it. */
static void
reject_text(const struct rule *r, char *status, size_t ssize, const char **text)
{
	const char *s = r->text;
	size_t n = strspn(s, "0123456789.");

	if (n >= 5 && s[0] == '5' && s[1] == '.' && (s[n] == ' ' || s[n] == '\0') &&
	    n < ssize) {
		snprintf(status, ssize, "%.*s", (int)n, s);
		s += n + strspn(s + n, " ");
	} else
		snprintf(status, ssize, "5.7.1");
	*text = *s ? s : "message content rejected";
}

static int
held_body(struct stream_writer *w, struct bodyfile *sp, void *ctx)
{
	struct checks *c = ctx;

	return rewrite_copy(&c->rw, &c->in, sp, w);
}

static void
hold(struct checks *c, struct txn *t, struct bodyfile *sp)
{
	char file[300];

	if (xparam_set(t->x, &t->nx, HELD_PARAM, "held") < 0)
		die_nomem();
	if (keep_write(conf_spool(), "hold", t, sp, held_body, c, file, sizeof file) < 0)
		die_sys("4.3.0 unable to hold a message in %s", conf_spool());
	xparam_del(t->x, &t->nx, HELD_PARAM);
	log_info("qid=%s from=<%s> nrcpt=%zu action=hold held=%s", qid_of(t), t->from,
	    t->nrcpt, file);
}

/* What the verdict of the inspection does with the message. */
static void
act(struct checks *c, struct stream_writer *w, struct txn *t, struct bodyfile *sp)
{
	char status[16], reason[1000];
	const char *text;

	switch (c->in.verdict) {
	case V_PASS:
		if (stream_write_head(w, t) < 0 || rewrite_copy(&c->rw, &c->in, sp, w) < 0)
			die_sys("unable to write");
		break;
	case V_HOLD:
		hold(c, t, sp);
		break;
	case V_DISCARD:
		log_info("qid=%s from=<%s> nrcpt=%zu action=discard", qid_of(t), t->from,
		    t->nrcpt);
		break;
	case V_REJECT:
		reject_text(c->in.why, status, sizeof status, &text);
		if (prequeue_active()) {
			snprintf(reason, sizeof reason, "%s %s", status, text);
			prequeue_reject(w, reason);
		}
		if (bounce_write(w, t, sp, status, text) < 0)
			die_sys("unable to write a bounce");
		break;
	}
}

static void
checks_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct checks *c = ctx;
	const char *l;
	size_t n;
	int rc;

	if (!checks_apply(c, t)) {
		stage_copy(rd, w, t);
		return;
	}
	stage_spool(rd, sp);
	inspect_reset(&c->in, qid_of(t));
	if (bodyfile_rewind(sp) < 0)
		die_sys("unable to read the spooled message");
	while ((rc = bodyfile_getline(sp, &l, &n)) == 1 && !inspect_line(&c->in, l, n))
		;
	if (rc < 0)
		die_sys("unable to read the spooled message");
	inspect_end(&c->in);
	act(c, w, t, sp);
}

/*
 * A table setting: unset, the file of that name in the configuration
 * folder if there is one; "none" or empty, no table; else the file it
 * names (relative to the configuration folder), which must be there.
 */
static int
table(struct rules *rs, const char *key, int body)
{
	const char *v = conf_get(key, NULL);
	char path[4096], err[600];
	int given = v != NULL;

	if (v == NULL)
		v = key;
	if (*v == '\0' || strcasecmp(v, "none") == 0)
		return 0;
	if (*v == '/')
		snprintf(path, sizeof path, "%s", v);
	else if (path_join(path, sizeof path, conf_dir(), v) < 0)
		die(EXIT_TEMP, "4.3.5 setting %s: path too long", key);
	if (!given && access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (rules_load(rs, strdup(path), body, err, sizeof err) < 0)
		die(EXIT_TEMP, "4.3.5 %s refused: %s", key, err);
	return 1;
}

static void
settings(void *ctx)
{
	struct checks *c = ctx;
	const char *m = conf_get("checks_mime_headers", "yes");

	if (strcasecmp(m, "yes") != 0 && strcasecmp(m, "no") != 0)
		die(EXIT_TEMP, "4.3.5 setting checks_mime_headers: \"%.100s\" is not yes or no", m);
	c->have_hdr = table(&c->hdr, "header_checks", 0);
	c->have_body = table(&c->body, "body_checks", 1);
	c->in.hdr = c->have_hdr && c->hdr.n > 0 ? &c->hdr : NULL;
	c->in.body = c->have_body && c->body.n > 0 ? &c->body : NULL;
	c->have_hdr = c->in.hdr != NULL;
	c->have_body = c->in.body != NULL;
	c->in.mime_headers = strcasecmp(m, "yes") == 0;
	inspect_init(&c->in);
	rewrite_init(&c->rw);
}

int
main(int argc, char **argv)
{
	static struct checks c;
	static const struct content_stage cs = {
		.usage = "usage: sluice-checks [-- queue-program [args...]] < stream > stream\n"
		    "See sluice-checks(8).\n",
		.settings = settings, .mx = &c.mx, .txn = checks_txn, .ctx = &c,
	};

	return content_stage_run(&cs, argc, argv);
}
