#include "scanner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fmt.h"
#include "fsutil.h"
#include "log.h"

#define TMP_PREFIX "sluice-scan."
/* An unlocked file of ours this old was left by a killed sluice-scan. */
#define TMP_STALE 60

static void
verdict(struct scanner *s, enum verdict v, const char *name, const char *where)
{
	if (v <= s->v)
		return;
	s->v = v;
	snprintf(s->name, sizeof s->name, "%.*s", (int)sizeof s->name - 1, name);
	snprintf(s->where, sizeof s->where, "%.*s", (int)sizeof s->where - 1, where);
}

void
scanner_reset(struct scanner *s)
{
	s->v = V_CLEAN;
	s->name[0] = s->where[0] = '\0';
	s->objects = 0;
}

static int
obj_open(struct scanner *s, struct scanobj *o, const char *what)
{
	char err[512];

	memset(o, 0, offsetof(struct scanobj, buf));
	o->fd = -1;
	o->c.fd = -1;
	snprintf(o->what, sizeof o->what, "%s", what);
	o->open = 1;
	if (s->method == SCAN_CLAMD) {
		if (clamd_connect(&o->c, s->clamd, s->timeout, err, sizeof err) < 0) {
			verdict(s, V_ERROR, err, what);
			o->skip = 1;
		}
		return 0;
	}
	if (fmt_path(o->path, sizeof o->path, "%s/" TMP_PREFIX "XXXXXX",
	    s->tmpdir) < 0 || (o->fd = mkostemp(o->path, O_CLOEXEC)) < 0) {
		snprintf(err, sizeof err, "cannot create a file in %.200s: %s", s->tmpdir,
		    strerror(errno));
		verdict(s, V_ERROR, err, what);
		o->skip = 1;
		return 0;
	}
	/* Locked while it is ours, so that a sweep (below) leaves it alone. */
	(void)flock(o->fd, LOCK_EX | LOCK_NB);
	return 0;
}

/* Not a killed scan's: another user's, not a file, or a minute old at most. */
static int
not_ours_or_fresh(const struct stat *st, void *now)
{
	return !S_ISREG(st->st_mode) || st->st_uid != geteuid() ||
	    st->st_mtime + TMP_STALE >= *(time_t *)now;
}

void
scanner_sweep(const char *tmpdir)
{
	struct dirent *de;
	time_t now = time(NULL);
	DIR *d;
	int dfd;

	if ((dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0 &&
		    unlink_unlocked(dfd, de->d_name, not_ours_or_fresh, &now) == 1)
			log_info("removed %s/%s: left by a sluice-scan that was killed",
			    tmpdir, de->d_name);
	closedir(d);
}

static void
obj_flush(struct scanner *s, struct scanobj *o)
{
	char err[300];

	if (o->len == 0 || o->skip)
		return;
	if (s->method == SCAN_CLAMD)
		clamd_write(&o->c, o->buf, o->len);
	else if (write_all(o->fd, o->buf, o->len) < 0) {
		snprintf(err, sizeof err, "cannot write %.200s: %s", o->path, strerror(errno));
		verdict(s, V_ERROR, err, o->what);
		o->skip = 1;
	}
	o->len = 0;
}

void
scanner_write(struct scanner *s, struct scanobj *o, const char *what,
    const void *p, size_t n)
{
	const unsigned char *d = p;

	if (!o->open)
		obj_open(s, o, what);
	if (o->skip)
		return;
	/* Past the size limit the rest is not scanned (as clamd's own). */
	if (o->size + n > s->max_size) {
		o->truncated = 1;
		n = o->size < s->max_size ? (size_t)(s->max_size - o->size) : 0;
	}
	o->size += n;
	while (n > 0) {
		size_t k = sizeof o->buf - o->len;

		if (k > n)
			k = n;
		memcpy(o->buf + o->len, d, k);
		o->len += k;
		d += k;
		n -= k;
		if (o->len == sizeof o->buf)
			obj_flush(s, o);
	}
}

/* clamd's reply: "stream: OK", "stream: NAME FOUND", "... ERROR". */
static void
clamd_verdict(struct scanner *s, struct scanobj *o, const char *reply)
{
	const char *r = strncmp(reply, "stream: ", 8) == 0 ? reply + 8 : reply;
	size_t n = strlen(r);
	char name[256];

	if (strcmp(r, "OK") == 0)
		return;
	if (n > 6 && strcmp(r + n - 6, " FOUND") == 0) {
		snprintf(name, sizeof name, "%.*s", (int)(n - 6), r);
		/* Heuristic and PUA names are guesses, not known malware. */
		verdict(s, strncmp(name, "Heuristics.", 11) == 0 ||
		    strncmp(name, "PUA.", 4) == 0 ? V_SUSPICIOUS : V_INFECTED, name, o->what);
		return;
	}
	snprintf(name, sizeof name, "clamd: %.240s", reply);
	verdict(s, V_ERROR, name, o->what);
}

static void
command_verdict(struct scanner *s, struct scanobj *o)
{
	char out[512], name[300];
	int code;
	enum extscan_result r;

	/* Kept open (locked) while the scanner reads it: see scanner_sweep. */
	r = extscan_run(&s->ext, o->path, &code, out, sizeof out);
	unlink(o->path);
	close(o->fd);
	o->fd = -1;
	if (r == EXT_CLEAN)
		return;
	if (code >= 0)
		snprintf(name, sizeof name, "exit %d%s%.200s", code, *out ? ": " : "", out);
	else
		snprintf(name, sizeof name, "%.250s", *out ? out : "scanner killed");
	verdict(s, r == EXT_INFECTED ? V_INFECTED : r == EXT_SUSPICIOUS ? V_SUSPICIOUS :
	    V_ERROR, name, o->what);
}

void
scanner_finish(struct scanner *s, struct scanobj *o)
{
	char reply[512];

	if (!o->open)
		return;
	s->objects++;
	obj_flush(s, o);
	if (o->skip) {
		scanner_abort(o);
		return;
	}
	if (s->method == SCAN_CLAMD) {
		if (clamd_finish(&o->c, reply, sizeof reply) < 0)
			verdict(s, V_ERROR, reply, o->what);
		else
			clamd_verdict(s, o, reply);
	} else
		command_verdict(s, o);
	o->open = 0;
}

void
scanner_abort(struct scanobj *o)
{
	if (!o->open)
		return;
	clamd_abort(&o->c);
	if (o->fd >= 0) {
		close(o->fd);
		unlink(o->path);
	}
	o->fd = -1;
	o->open = 0;
}
