/*
 * sluice-scan: scan every message of the stream for viruses, the raw
 * message and each decoded part, with clamd or an external scanner, and
 * pass, tag, bounce, discard, quarantine or (before the queue) reject it.
 * See sluice-scan(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bodyfile.h"
#include "bounce.h"
#include "conf.h"
#include "content.h"
#include "dsn.h"
#include "prequeue.h"
#include "log.h"
#include "matrix.h"
#include "mime.h"
#include "mimehdr.h"
#include "notice.h"
#include "quarantine.h"
#include "scanner.h"
#include "stage.h"
#include "stream.h"
#include "tag.h"

enum action { A_REJECT, A_BOUNCE, A_DISCARD, A_QUARANTINE, A_TAG };
static const char *const actions[] = { "reject", "bounce", "discard",
	"quarantine", "tag" };
enum on_error { E_DEFER, E_PASS, E_SUSPICIOUS };

struct scan {
	struct scanner sc;
	struct mime *walker;
	struct scanobj raw, part, emb;	/* the message, a part, a file in a text part */
	int enabled;			/* scan_method is not "none" */
	int stop;			/* found a virus: the rest need not be scanned */
	char subject[200];
	enum action infected, suspicious;
	enum on_error on_error;
	int notify_postmaster, notify_sender;
	const char *host;
	struct matrix mx;		/* which mail it acts on (sluice-content(5)) */
};

/* ---- the walk */

static void
describe(const struct mime_part *p, char *buf, size_t size)
{
	if (p->origin != MIME_ENTITY)
		snprintf(buf, size, "file '%.200s' in %s%s", p->filename,
		    p->depth > 1 ? "part " : "the message body", p->depth > 1 ? p->path : "");
	else if (p->depth == 0)
		snprintf(buf, size, "the message body");
	else if (*p->filename)
		snprintf(buf, size, "part %s '%.200s'", p->path, p->filename);
	else
		snprintf(buf, size, "part %s (%s)", p->path, p->type);
	/* The path of an embedded file ends with its own number: drop it. */
	if (p->origin != MIME_ENTITY && p->depth > 1) {
		char *dot = strrchr(buf, '.');

		if (dot != NULL)
			*dot = '\0';
	}
}

static void
keep_subject(struct scan *s, const struct mime_part *p)
{
	const char *name, *val;
	size_t pos = 0, nl, vl;
	char raw[1000];

	while (mimehdr_next(p->header, p->header_len, &pos, &name, &nl, &val, &vl))
		if (mimehdr_is(name, nl, "subject")) {
			mimehdr_unfold(val, vl < sizeof raw ? vl : sizeof raw - 1, raw, sizeof raw);
			mimehdr_decode_words(raw, strlen(raw), s->subject, sizeof s->subject);
			return;
		}
}

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct scan *s = ctx;

	if (p->depth == 0)
		keep_subject(s, p);
	/* A message that is one identity-encoded part: the raw scan has it. */
	if (p->container || (p->depth == 0 && p->origin == MIME_ENTITY &&
	    p->enc != MIME_BASE64 && p->enc != MIME_QP && p->enc != MIME_UUENC))
		return MIME_SKIP;
	return MIME_DECODE;
}

static struct scanobj *
obj_of(struct scan *s, const struct mime_part *p)
{
	return p->origin == MIME_ENTITY ? &s->part : &s->emb;
}

static void
w_data(void *ctx, const struct mime_part *p, const unsigned char *d, size_t n)
{
	struct scan *s = ctx;
	struct scanobj *o = obj_of(s, p);
	char what[300];

	if (s->stop)
		return;
	if (!o->open)
		describe(p, what, sizeof what);
	scanner_write(&s->sc, o, o->open ? o->what : what, d, n);
}

static void
w_end(void *ctx, const struct mime_part *p)
{
	struct scan *s = ctx;
	struct scanobj *o = obj_of(s, p);

	if (s->stop) {
		scanner_abort(o);
		return;
	}
	scanner_finish(&s->sc, o);
	s->stop = s->sc.v == V_INFECTED;
}

/* Scan the spooled message: the verdict is in s->sc. */
static void
scan_message(struct scan *s, struct bodyfile *sp)
{
	const char *l;
	size_t n;
	int rc = 0;

	scanner_reset(&s->sc);
	s->stop = 0;
	s->subject[0] = '\0';
	mime_reset(s->walker);
	if (bodyfile_rewind(sp) < 0)
		die_sys("unable to read the spooled message");
	while (!s->stop && (rc = bodyfile_getline(sp, &l, &n)) == 1) {
		scanner_write(&s->sc, &s->raw, "the message", l, n);
		scanner_write(&s->sc, &s->raw, "the message", "\r\n", 2);
		mime_line(s->walker, l, n);
	}
	if (!s->stop && rc < 0)
		die_sys("unable to read the spooled message");
	mime_end(s->walker);
	if (s->stop)
		scanner_abort(&s->raw);
	else
		scanner_finish(&s->sc, &s->raw);
	if (s->sc.v == V_CLEAN && (mime_flags(s->walker) & MIME_F_LIMITS)) {
		/* Not every part could be decoded: clamd saw them raw only. */
		s->sc.v = V_SUSPICIOUS;
		snprintf(s->sc.name, sizeof s->sc.name, "MIME structure past the limits%s%s%s",
		    mime_flags(s->walker) & MIME_F_DEPTH ? " (nesting)" : "",
		    mime_flags(s->walker) & MIME_F_PARTS ? " (parts)" : "",
		    mime_flags(s->walker) & MIME_F_HEADER ? " (header size)" : "");
		snprintf(s->sc.where, sizeof s->sc.where, "the message");
	}
}

/* ---- what is done with a message */

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

static void
pass(struct stream_writer *w, struct txn *t, struct bodyfile *sp, const char *tag)
{
	if (stream_write_head(w, t) < 0 || tag_copy(w, sp, tag) < 0)
		die_sys("unable to write");
}

static void
bounce(struct stream_writer *w, struct txn *t, struct bodyfile *sp, const char *diag)
{
	if (bounce_write(w, t, sp, "5.7.1", diag) < 0)
		die_sys("unable to write a bounce");
}

static void
notify(struct scan *s, struct stream_writer *w, const struct txn *t,
    const char *word, const char *done, enum action a)
{
	struct notice n = { t, qid_of(t), s->subject, word, s->sc.name, s->sc.where, done };

	if (s->notify_postmaster && a != A_TAG &&
	    notice_write(w, dsn_postmaster(), 0, &n) < 0)
		die_sys("unable to write a notice");
	if (s->notify_sender && (a == A_DISCARD || a == A_QUARANTINE) && *t->from &&
	    !dsn_is_double(t) && notice_write(w, t->from, 1, &n) < 0)
		die_sys("unable to write a notice");
}

static void
act(struct scan *s, struct stream_writer *w, struct txn *t, struct bodyfile *sp)
{
	const char *word = s->sc.v == V_INFECTED ? "infected" : "suspicious";
	enum action a = s->sc.v == V_INFECTED ? s->infected : s->suspicious;
	char tag[TAG_MAX + 1], reason[420], file[300], done[400];

	tag_make(tag, sizeof tag, word, s->sc.name, s->sc.where, s->host);
	snprintf(reason, sizeof reason, "5.7.1 message refused: %s content (%.150s) in %.150s",
	    word, s->sc.name, s->sc.where);
	log_info("qid=%s verdict=%s name=\"%s\" where=\"%s\" action=%s", qid_of(t), word,
	    s->sc.name, s->sc.where, actions[a]);
	snprintf(done, sizeof done, "%s", a == A_REJECT ? "refused" : a == A_BOUNCE ?
	    "bounced" : a == A_DISCARD ? "discarded" : "tagged");
	if (a == A_QUARANTINE) {
		if (quarantine_write(conf_spool(), t, tag, sp, file, sizeof file) < 0)
			die_sys("4.3.0 unable to quarantine a message in %s", conf_spool());
		log_info("qid=%s quarantined=%s", qid_of(t), file);
		snprintf(done, sizeof done, "quarantined as %s", file);
	}
	notify(s, w, t, word, done, a);
	if (a == A_TAG)
		pass(w, t, sp, tag);
	else if (a == A_REJECT && prequeue_active())
		prequeue_reject(w, reason);
	else if (a == A_REJECT || a == A_BOUNCE)
		bounce(w, t, sp, reason + sizeof "5.7.1 message refused: " - 1);
}

static void
scan_txn(struct stream_reader *rd, struct stream_writer *w, struct txn *t,
    struct bodyfile *sp, void *ctx)
{
	struct scan *s = ctx;
	char tag[TAG_MAX + 1];
	int rf = 0, m = s->enabled ? matrix_txn(&s->mx, "scan", rd, w, t, sp, &rf) :
	    MATRIX_NONE;

	if (m == -1)
		stage_fail(rd, rf);
	if (m == MATRIX_NONE) {
		if (!s->enabled)
			stage_copy(rd, w, t);
		return;
	}
	if (m == MATRIX_ALL)
		stage_spool(rd, sp);
	scan_message(s, sp);
	if (s->sc.v == V_ERROR && s->on_error == E_SUSPICIOUS)
		s->sc.v = V_SUSPICIOUS;
	if (s->sc.v == V_ERROR && s->on_error == E_DEFER)
		die(EXIT_TEMP, "4.3.0 virus scan failed: %.300s (%s)", s->sc.name, s->sc.where);
	if (s->sc.v == V_ERROR) {
		log_warn("qid=%s verdict=unscanned reason=\"%s\" action=pass", qid_of(t),
		    s->sc.name);
		tag_make(tag, sizeof tag, "unscanned", s->sc.name, "", s->host);
		pass(w, t, sp, tag);
	} else if (s->sc.v == V_CLEAN) {
		log_info("qid=%s verdict=clean objects=%u", qid_of(t), s->sc.objects);
		pass(w, t, sp, NULL);
	} else
		act(s, w, t, sp);
}

/* ---- settings */

static enum action
action_setting(const char *key, const char *def)
{
	const char *v = conf_get(key, def);
	size_t i;

	for (i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strcasecmp(v, actions[i]) == 0)
			return (enum action)i;
	die(EXIT_TEMP, "4.3.5 setting %s: unknown action \"%.100s\" (reject, bounce, "
	    "discard, quarantine, tag)", key, v);
}

static int
yes(const char *key)
{
	return strcasecmp(conf_get(key, "no"), "yes") == 0;
}

static void
codes(const char *key, const char *def, struct extscan_codes *c)
{
	const char *v = conf_get(key, def);

	if (extscan_codes_parse(v, c) < 0)
		die(EXIT_TEMP, "4.3.5 setting %s: bad list of exit codes \"%.100s\"", key, v);
}

static void
settings(void *ctx)
{
	struct scan *s = ctx;
	const char *m = conf_get("scan_method", "clamd"), *e, *cmd;
	struct mime_limits lim;
	long long t;

	s->enabled = strcasecmp(m, "none") != 0;
	if (strcasecmp(m, "clamd") == 0)
		s->sc.method = SCAN_CLAMD;
	else if (strcasecmp(m, "command") == 0) {
		s->sc.method = SCAN_COMMAND;
		cmd = conf_get("scan_command", "");
		if (extscan_init(&s->sc.ext, cmd) < 0)
			die(EXIT_TEMP, "4.3.5 setting scan_command: a program and its arguments, "
			    "one of them with %%f, is needed (\"%.100s\")", cmd);
		codes("scan_clean_codes", "0", &s->sc.ext.clean);
		codes("scan_infected_codes", "1", &s->sc.ext.infected);
		codes("scan_suspicious_codes", "", &s->sc.ext.suspicious);
	} else if (s->enabled)
		die(EXIT_TEMP, "4.3.5 setting scan_method: \"%.100s\" is not clamd, command "
		    "or none", m);
	s->sc.clamd = conf_get("scan_clamd", "/run/clamav/clamd.ctl");
	t = conf_time("scan_timeout", 120);
	s->sc.timeout = t < 1 || t > 86400 ? 120 : (unsigned)t;
	t = conf_size("scan_max_size", 25 * 1024 * 1024);
	s->sc.max_size = t < 1 ? 25 * 1024 * 1024 : (unsigned long long)t;
	s->sc.ext.timeout = s->sc.timeout;
	s->sc.tmpdir = bodyfile_tmpdir();
	if (s->enabled && s->sc.method == SCAN_COMMAND)
		scanner_sweep(s->sc.tmpdir);
	s->infected = action_setting("scan_infected_action", "reject");
	s->suspicious = action_setting("scan_suspicious_action", "tag");
	e = conf_get("scan_error_action", "defer");
	if (strcasecmp(e, "defer") == 0)
		s->on_error = E_DEFER;
	else if (strcasecmp(e, "pass") == 0)
		s->on_error = E_PASS;
	else if (strcasecmp(e, "suspicious") == 0)
		s->on_error = E_SUSPICIOUS;
	else
		die(EXIT_TEMP, "4.3.5 setting scan_error_action: \"%.100s\" is not defer, pass "
		    "or suspicious", e);
	s->notify_postmaster = yes("scan_notify_postmaster");
	s->notify_sender = yes("scan_notify_sender");
	s->host = conf_hostname();
	mime_limits_conf(&lim);
	if ((s->walker = mime_new(&(struct mime_ops){ w_begin, NULL, w_data, w_end },
	    s, &lim)) == NULL)
		die_nomem();
}

int
main(int argc, char **argv)
{
	static struct scan s;
	static const struct content_stage cs = {
		.usage = "usage: sluice-scan [-- queue-program [args...]] < stream > stream\n"
		    "See sluice-scan(8).\n",
		.settings = settings, .mx = &s.mx, .txn = scan_txn, .ctx = &s,
	};

	return content_stage_run(&cs, argc, argv);
}
