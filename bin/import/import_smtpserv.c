/*
 * import_smtpserv: an SMTPSERV spool.  NNN.WRK holds "From: addr" and a
 * "To: addr" per recipient, NNN.TXT the message.  The .WRK is renamed into
 * place last, so a .TXT without a .WRK is still being written and is left
 * alone.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "import.h"
#include "log.h"

/* One line of a .WRK into t; 0, or -1 with the reason in err. */
static int
wrk_line(struct txn *t, struct src *s, const char *l, size_t len, char *err,
    size_t errsz)
{
	if (len == 0)
		return 0;
	if (len >= 5 && strncasecmp(l, "From:", 5) == 0) {
		if (t->from != NULL || env_from(t, l + 5, len - 5, s->line) < 0) {
			snprintf(err, errsz, "%s:%lu: %s", s->path, s->line,
			    t->from && t->line != s->line ? "second From: line" :
			    "malformed From: address");
			return -1;
		}
		return 0;
	}
	if (len >= 3 && strncasecmp(l, "To:", 3) == 0) {
		if (env_rcpt(t, l + 3, len - 3, s->line) < 0) {
			snprintf(err, errsz, "%s:%lu: malformed To: address or more "
			    "than %d recipients", s->path, s->line, STREAM_RCPT_MAX);
			return -1;
		}
		return 0;
	}
	snprintf(err, errsz, "%s:%lu: neither From: nor To:", s->path, s->line);
	return -1;
}

/* The envelope of a .WRK into t; 0, or -1 with the reason in err. */
static int
wrk_read(const char *wrk, struct txn *t, char *err, size_t errsz)
{
	const char *l;
	size_t len;
	struct src s;
	int rc, bad = 0;

	if (src_open(&s, wrk) < 0)
		die_sys("unable to open %s", wrk);
	while (!bad && (rc = src_line(&s, &l, &len, ENV_LINE_MAX)) != 0) {
		if (rc == -2) {
			snprintf(err, errsz, "%s:%lu: line longer than %d octets",
			    wrk, s.line, ENV_LINE_MAX - 2);
			bad = 1;
		} else
			bad = wrk_line(t, &s, l, len, err, errsz) < 0;
	}
	src_close(&s);
	return bad ? -1 : 0;
}

/* The .TXT of a .WRK, in the same case or the other, into txt; 0 or -1. */
static int
txt_find(const char *wrk, char *txt)
{
	size_t bl = strlen(wrk) - 4;

	memcpy(txt, wrk, bl);
	strcpy(txt + bl, wrk[bl + 1] == 'W' ? ".TXT" : ".txt");
	if (import_is_file(txt))
		return 0;
	strcpy(txt + bl, wrk[bl + 1] == 'W' ? ".txt" : ".TXT");
	return import_is_file(txt) ? 0 : -1;
}

static void
import_smtpserv_pair(const char *wrk)
{
	char txt[4096], err[4400];
	struct src s;
	struct txn t;
	struct msg m;
	int bad;

	if (txt_find(wrk, txt) < 0) {
		snprintf(err, sizeof err, "%s: no message file %.*s.TXT", wrk,
		    (int)(strlen(wrk) - 4), wrk);
		bad_move(wrk, err);
		return;
	}
	txn_init(&t);
	bad = wrk_read(wrk, &t, err, sizeof err) < 0;
	msg_init(&m, 0);
	if (!bad) {
		if (src_open(&s, txt) < 0)
			die_sys("unable to open %s", txt);
		bad = import_body(&s, &m, err, sizeof err) < 0;
		src_close(&s);
	}
	if (!bad)
		bad = import_emit(&t, &m, wrk, err, sizeof err) < 0;
	txn_free(&t);
	if (bad) {
		bad_move(wrk, err);
		bad_move(txt, err);
	} else {
		/* The .WRK first: a lone .TXT is what an unfinished one looks like. */
		done_add(wrk);
		done_add(txt);
	}
}

void
import_smtpserv(const char *dir)
{
	struct dirent **ents;
	int i, n = import_list(dir, &ents);

	for (i = 0; i < n; i++) {
		char wrk[4096];

		if (import_has_suffix(ents[i]->d_name, ".wrk") &&
		    path_join(wrk, sizeof wrk, dir, ents[i]->d_name) == 0 &&
		    import_is_file(wrk))
			import_smtpserv_pair(wrk);
		free(ents[i]);
	}
	free(ents);
}
