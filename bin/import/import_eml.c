/*
 * import_eml: a Microsoft SMTP service drop folder.  x-sender: and
 * x-receiver: lines lead each .eml file; the rest is the message.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "import.h"
#include "log.h"

/*
 * The envelope lines at the top of s into t, and the first line after
 * them into m.  Returns src_line()'s last result (1: the message goes on,
 * 0: the file ended, -2: an over-long line), or -1 with the reason in err.
 */
static int
eml_envelope(struct src *s, struct txn *t, struct msg *m, char *err,
    size_t errsz)
{
	const char *l;
	size_t len;
	int rc;

	while ((rc = src_line(s, &l, &len, STREAM_TEXT_MAX)) == 1) {
		if (len >= 9 && strncasecmp(l, "x-sender:", 9) == 0) {
			if (t->from != NULL || env_from(t, l + 9, len - 9, s->line) < 0) {
				snprintf(err, errsz, "%s:%lu: %s", s->path, s->line,
				    t->from && t->line != s->line ?
				    "second x-sender: line" : "malformed x-sender: address");
				return -1;
			}
		} else if (len >= 11 && strncasecmp(l, "x-receiver:", 11) == 0) {
			if (env_rcpt(t, l + 11, len - 11, s->line) < 0) {
				snprintf(err, errsz, "%s:%lu: malformed x-receiver: "
				    "address or more than %d recipients", s->path, s->line,
				    STREAM_RCPT_MAX);
				return -1;
			}
		} else {
			msg_line(m, l, len);
			break;
		}
	}
	return rc;
}

static void
import_eml_file(const char *path)
{
	char err[4400];
	struct src s;
	struct txn t;
	struct msg m;
	int rc, bad = 0;

	txn_init(&t);
	msg_init(&m, 0);
	if (src_open(&s, path) < 0)
		die_sys("unable to open %s", path);
	rc = eml_envelope(&s, &t, &m, err, sizeof err);
	if (rc == -1)
		bad = 1;
	else if (rc == -2) {
		snprintf(err, sizeof err, "%s:%lu: text line longer than %d octets",
		    path, s.line, STREAM_TEXT_MAX - 2);
		bad = 1;
	} else if (rc == 1)
		bad = import_body(&s, &m, err, sizeof err) < 0;
	else
		msg_end(&m, 0);
	src_close(&s);
	import_file_end(&t, &m, path, bad, err, sizeof err);
}

void
import_eml(const char *dir)
{
	struct dirent **ents;
	int i, n = import_list(dir, &ents);

	for (i = 0; i < n; i++) {
		char path[4096];

		if (import_has_suffix(ents[i]->d_name, ".eml") &&
		    path_join(path, sizeof path, dir, ents[i]->d_name) == 0 &&
		    import_is_file(path))
			import_eml_file(path);
		free(ents[i]);
	}
	free(ents);
}
