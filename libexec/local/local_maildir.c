/*
 * Maildir delivery (maildir(5)): a unique name written in tmp/, synced,
 * renamed into new/; the new/ folders synced before the program reports
 * anything delivered; what killed deliveries left in tmp/ cleaned away.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "sluice-local.h"

#define TMP_STALE (36 * 3600)	/* maildir(5): tmp/ files untouched this long go */
#define TMP_LOOK_EVERY 3600	/* a Maildir's tmp/ is read at most this often */

/* fsync every Maildir new/ folder written since the last call. */
int
local_maildir_sync(struct local *L)
{
	int rc = 0;

	while (L->nsync > 0) {
		L->nsync--;
		if (handoff_sync_folder(AT_FDCWD, L->pending_sync[L->nsync]) < 0) {
			log_warn("unable to sync %s: %s", L->pending_sync[L->nsync],
			    strerror(errno));
			rc = -1;
		}
		free(L->pending_sync[L->nsync]);
	}
	return rc;
}

static int
sync_later(struct local *L, const char *dir)
{
	size_t i;

	for (i = 0; i < L->nsync; i++)
		if (strcmp(L->pending_sync[i], dir) == 0)
			return 0;
	if (L->nsync == SYNC_MAX && local_maildir_sync(L) < 0)
		return -1;
	if ((L->pending_sync[L->nsync] = strdup(dir)) == NULL)
		return handoff_sync_folder(AT_FDCWD, dir);
	L->nsync++;
	return 0;
}

static int
maildir_make(const char *dir)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[BOX_MAX + 8];
	size_t i;

	for (i = 0; i < 3; i++) {
		if (snprintf(p, sizeof p, "%s/%s", dir, sub[i]) >= (int)sizeof p)
			return errno = ENAMETOOLONG, -1;
		if (mkdir_p(p, 0700) < 0)
			return -1;
	}
	if (handoff_sync_folder(AT_FDCWD, dir) < 0 || handoff_sync_dir(AT_FDCWD, dir) < 0)
		return -1;
	return 0;
}

/*
 * Remove what killed deliveries left in a Maildir's tmp/: files neither
 * read nor written for 36 hours, as maildir(5) says.  The atime of tmp/
 * stamps the last look, so a delivery costs one stat of tmp/, and the
 * folder is read at most once an hour whatever the mount's atime policy.
 * A failure here is no failure of the delivery, which is done.
 */
static void
clean_tmp(const char *dir)
{
	static const struct timespec stamp[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	char p[BOX_MAX + 8];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;
	int fd;

	if (snprintf(p, sizeof p, "%s/tmp", dir) >= (int)sizeof p ||
	    stat(p, &st) < 0 || st.st_atime + TMP_LOOK_EVERY > now)
		return;
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	/* Stamped first, so that concurrent deliveries do not all look. */
	(void)futimens(fd, stamp);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime + TMP_STALE < now &&
		    st.st_atime + TMP_STALE < now && unlinkat(fd, de->d_name, 0) == 0)
			log_info("removed %s/%s: untouched for 36 hours", p, de->d_name);
	closedir(d);
}

/* Write the copy into tmp (made with O_EXCL); 0, or -1 with res set. */
static int
write_tmp(struct local *L, const char *dir, const char *tmp,
    const struct copy *c, struct result *res)
{
	struct wbuf w;
	int fd, made = 0;

	while ((fd = handoff_open(AT_FDCWD, tmp, O_EXCL, 0600)) < 0) {
		if (errno != ENOENT || made++)
			return local_result_sys(res, "unable to create", tmp), -1;
		if (maildir_make(dir) < 0)
			return local_result_sys(res, "unable to make the Maildir", dir), -1;
	}
	local_box_writer(&w, fd);
	if (local_box_copy(L, &w, c, 0) < 0 || fsync(fd) < 0) {
		local_result_sys(res, "unable to write", tmp);
		wbuf_free(&w);
		close(fd);
		unlink(tmp);
		return -1;
	}
	wbuf_free(&w);
	if (close(fd) < 0) {
		local_result_sys(res, "unable to write", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * A unique name (time.M<usec>P<pid>Q<n>.host), written in tmp/, fsynced,
 * renamed into new/.  new/ itself is fsynced before the program reports
 * success: at once when now is set, else once per folder at the end.
 */
void
local_maildir_deliver(struct local *L, const char *dir, const struct copy *c,
    int now, struct result *res)
{
	char name[512], tmp[BOX_MAX + 600], fin[BOX_MAX + 600], newdir[BOX_MAX + 8];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(name, sizeof name, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++L->deliveries, L->host);
	if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name) >= (int)sizeof tmp ||
	    snprintf(fin, sizeof fin, "%s/new/%s", dir, name) >= (int)sizeof fin ||
	    snprintf(newdir, sizeof newdir, "%s/new", dir) >= (int)sizeof newdir) {
		local_result_set(res, 5, "5.2.0", "Maildir name too long: %s", dir);
		return local_result_public(res, "Maildir name too long");
	}
	if (write_tmp(L, dir, tmp, c, res) < 0)
		return;
	/* new/ is synced below, at once or with the others at the end. */
	if (handoff_commit(-1, AT_FDCWD, tmp, fin, 0) < 0) {
		local_result_sys(res, "unable to deliver into the Maildir", newdir);
		return;
	}
	if ((now ? handoff_sync_folder(AT_FDCWD, newdir) : sync_later(L, newdir)) < 0)
		return local_result_sys(res, "unable to sync", newdir);
	clean_tmp(dir);
	local_result_set(res, 0, "2.0.0", "delivered to maildir %s", dir);
	local_result_public(res, "delivered to mailbox");
}
