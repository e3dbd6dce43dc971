/*
 * The ids of tunnel messages already queued: a file per id in the seen/
 * folder of the tunnel state (bsmtp_dir), named by the SHA-256 of the id
 * in hex, its mtime the time it was queued.  A record is honoured for
 * bsmtp_dedup_window; older ones are removed, at most once an hour.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "decode.h"
#include "fmt.h"
#include "fsutil.h"
#include "handoff.h"
#include "log.h"

#define PRUNE_EVERY 3600

static long long
window(void)
{
	return conf_time("bsmtp_dedup_window", 7 * 86400);
}

static void
seen_dir(char *buf, size_t size)
{
	if (bsmtp_dir(buf, size, "seen") < 0)
		die(EXIT_TEMP, "the bsmtp_dir setting is too long");
}

static void
seen_path(const char *id, char *buf, size_t size)
{
	unsigned char h[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], dir[4000];
	struct sha256 s;

	seen_dir(dir, sizeof dir);
	sha256_init(&s);
	sha256_update(&s, id, strlen(id));
	sha256_final(&s, h);
	sha256_hex(h, sizeof h, hex);
	if (snprintf(buf, size, "%s/%s", dir, hex) >= (int)size)
		die(EXIT_TEMP, "the bsmtp_dir setting is too long");
}

/* Remove the records older than the window, when an hour has passed. */
static void
prune(time_t now)
{
	char dir[4000], p[4400];
	struct stat st;
	struct dirent *e;
	DIR *dh;
	int fd;

	seen_dir(dir, sizeof dir);
	snprintf(p, sizeof p, "%s/.pruned", dir);
	if (stat(p, &st) == 0 && st.st_mtime + PRUNE_EVERY > now)
		return;
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if ((dh = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dh)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (fmt_path(p, sizeof p, "%s/%s", dir, e->d_name) < 0)
			continue;
		if (stat(p, &st) == 0 && st.st_mtime + window() < now)
			unlink(p);
	}
	closedir(dh);
}

int
seen_has(const char *id)
{
	char p[4200];
	struct stat st;
	time_t now = time(NULL);

	prune(now);
	seen_path(id, p, sizeof p);
	if (stat(p, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		die_sys("unable to look at %s", p);
	}
	return st.st_mtime + window() >= now;
}

void
seen_add(const char *id)
{
	char p[4200], tmp[4300], dir[4000];
	int fd, n;

	seen_dir(dir, sizeof dir);
	seen_path(id, p, sizeof p);
	if (fmt_path(tmp, sizeof tmp, "%s/.tmp.%ld", dir, (long)getpid()) < 0 ||
	    mkdir_p(dir, 0700) < 0)
		die_sys("unable to make %s", dir);
	if ((fd = handoff_open(AT_FDCWD, tmp, O_TRUNC, 0600)) < 0)
		die_sys("unable to create %s", tmp);
	if ((n = dprintf(fd, "%s\n", id)) < 0)
		handoff_abort(fd, AT_FDCWD, tmp);
	if (n < 0 || handoff_commit(fd, AT_FDCWD, tmp, p, HANDOFF_DURABLE) < 0)
		die_sys("unable to record tunnel id %s in %s", id, dir);
}
