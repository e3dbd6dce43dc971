/*
 * The record of one profile: which messages (by their UIDL) were fed and
 * which the feed refused, in pop3/PROFILE.uidl under the spool (setting
 * pop3_dir).  A line is "D uid" (fed: delete it on the server) or
 * "R uid" (refused: leave it there, never fetch it again), appended and
 * synced before the message is deleted, so a connection lost before QUIT
 * (when the server forgets the deletions) never feeds a message twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "fmt.h"
#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "pop3.h"

static void
state_dir(char *buf, size_t size)
{
	const char *d = conf_get("pop3_dir", NULL);
	int n;

	n = d && *d ? snprintf(buf, size, "%s", d) :
	    snprintf(buf, size, "%s/pop3", conf_spool());
	if (n < 0 || (size_t)n >= size)
		die(EXIT_TEMP, "the pop3_dir setting is too long");
}

/* Profile names become file names: only [a-z0-9._-], never leading '.'. */
static void
check_name(const char *name)
{
	if (name[0] == '.' || name[strspn(name,
	    "abcdefghijklmnopqrstuvwxyz0123456789._-")] != '\0')
		die(EXIT_TEMP, "profile name %s: only a-z, 0-9, '.', '_' and '-' please",
		    name);
}

void
uidl_load(struct uidl *u, const char *profile)
{
	char dir[3800];
	struct rbuf r;
	const char *l;
	size_t n;
	int rc;

	memset(u, 0, sizeof *u);
	check_name(profile);
	state_dir(dir, sizeof dir);
	if (mkdir_p(dir, 0700) < 0)
		die_sys("unable to make %s", dir);
	if (fmt_path(u->path, sizeof u->path, "%s/%s.uidl", dir, profile) < 0)
		die_sys("unable to open %s/%s.uidl", dir, profile);
	u->fd = open(u->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (u->fd < 0 || rbuf_init(&r, u->fd, BUF_SIZE) < 0)
		die_sys("unable to open %s", u->path);
	while ((rc = rbuf_getline(&r, &l, &n, POP3_UID_MAX + 4)) == 1) {
		char uid[POP3_UID_MAX + 1];

		/* A line cut by a crash has no LF: it was never acted on. */
		if (n < 4 || l[n - 1] != '\n' || l[1] != ' ' || n - 3 > POP3_UID_MAX)
			continue;
		memcpy(uid, l + 2, n - 3);
		uid[n - 3] = '\0';
		if ((l[0] == 'D' ? strset_add(&u->done, uid) :
		    l[0] == 'R' ? strset_add(&u->refused, uid) : 0) < 0)
			die_nomem();
	}
	if (rc == -1)
		die_sys("unable to read %s", u->path);
	rbuf_free(&r);
}

void
uidl_note(struct uidl *u, char kind, const char *uid)
{
	char line[POP3_UID_MAX + 4];
	int n = snprintf(line, sizeof line, "%c %s\n", kind, uid);

	if (n < 0 || (size_t)n >= sizeof line || write_all(u->fd, line, (size_t)n) < 0 ||
	    fsync(u->fd) < 0)
		die_sys("unable to write %s", u->path);
	if (strset_add(kind == 'D' ? &u->done : &u->refused, uid) < 0)
		die_nomem();
}

/* Write the kind of each uid of s that the server still has. */
static int
put_set(int fd, char kind, const struct strset *s, const struct strset *keep)
{
	const char *p = s->text;

	for (; p < s->text + s->len; p += strlen(p) + 1)
		if (strset_has(keep, p) && dprintf(fd, "%c %s\n", kind, p) < 0)
			return -1;
	return 0;
}

void
uidl_compact(struct uidl *u, const struct strset *on_server)
{
	char tmp[4200];
	int fd;

	if (u->done.n + u->refused.n <= on_server->n)
		return;
	if (fmt_path(tmp, sizeof tmp, "%s.tmp", u->path) < 0 ||
	    (fd = handoff_open(AT_FDCWD, tmp, O_TRUNC, 0600)) < 0)
		die_sys("unable to rewrite %s", u->path);
	if (put_set(fd, 'D', &u->done, on_server) < 0 ||
	    put_set(fd, 'R', &u->refused, on_server) < 0) {
		handoff_abort(fd, AT_FDCWD, tmp);
		die_sys("unable to rewrite %s", u->path);
	}
	if (handoff_commit(fd, AT_FDCWD, tmp, u->path, HANDOFF_DURABLE) < 0)
		die_sys("unable to rewrite %s", u->path);
	close(u->fd);
	u->fd = open(u->path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (u->fd < 0)
		die_sys("unable to open %s", u->path);
}

void
uidl_free(struct uidl *u)
{
	strset_free(&u->done);
	strset_free(&u->refused);
	if (u->fd >= 0)
		close(u->fd);
}
