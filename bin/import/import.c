/*
 * import: what every format shares: a message checked and written, the
 * end of a file that is one message, a folder listed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "envelope.h"
#include "import.h"
#include "log.h"

/*
 * Validate the envelope, then write the transaction.  Returns 0, or -1
 * with the reason in err.
 */
int
import_emit(struct txn *t, struct msg *m, const char *name, char *err,
    size_t errsz)
{
	if (t->from == NULL) {
		snprintf(err, errsz, "%s: no sender", name);
		return -1;
	}
	if (t->nrcpt == 0) {
		snprintf(err, errsz, "%s: no recipients", name);
		return -1;
	}
	if (envelope_norm(t, name, err, errsz) < 0)
		return -1;
	envelope_write(&imp.out.w, t, &imp.body, m->size, m->eight, 0);
	imp.n_ok++;
	return 0;
}

/*
 * The end of a message that is one file: emit it unless it is already
 * bad, then free its envelope and set the file aside as malformed or
 * mark it done.
 */
void
import_file_end(struct txn *t, struct msg *m, const char *path, int bad,
    char *err, size_t errsz)
{
	if (!bad)
		bad = import_emit(t, m, path, err, errsz) < 0;
	txn_free(t);
	if (bad)
		bad_move(path, err);
	else
		done_add(path);
}

/* The message part of a source, from s's current position to its end. */
int
import_body(struct src *s, struct msg *m, char *err, size_t errsz)
{
	const char *l;
	size_t n;
	int rc;

	while ((rc = src_line(s, &l, &n, STREAM_TEXT_MAX)) == 1)
		msg_line(m, l, n);
	if (rc == -2) {
		snprintf(err, errsz, "%s:%lu: text line longer than %d octets",
		    s->path, s->line, STREAM_TEXT_MAX - 2);
		return -1;
	}
	msg_end(m, 0);
	return 0;
}

int
import_has_suffix(const char *name, const char *suf)
{
	size_t n = strlen(name), k = strlen(suf);

	return n > k && strcasecmp(name + n - k, suf) == 0;
}

static int
not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Entries of dir in version order (12.WRK before 100.WRK). */
int
import_list(const char *dir, struct dirent ***ents)
{
	int n = scandir(dir, ents, not_hidden, versionsort);

	if (n < 0)
		die_sys("unable to read %s", dir);
	return n;
}

int
import_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
