/*
 * Maildir delivery (maildir(5)): a unique name written in tmp/, synced,
 * renamed into new/; the new/ folders synced before the program reports
 * anything delivered; what killed deliveries left in tmp/ cleaned away.
 *
 * In this process's own deliveries the files of a run are synced
 * together: each is written in tmp/ and left pending, and before the
 * program reports anything delivered (or when PEND_MAX are pending) one
 * syncfs a file system puts all their data and inodes on disk, then each
 * is renamed into new/ and its recipient recorded as delivered, then the
 * new/ folders are synced.  So a run costs the disk one cache flush for
 * all its files, where an fsync each cost one each (doc/performance.md).
 * A file still pending when the program dies is never renamed: the
 * retry delivers it again, and the orphan in tmp/ goes after 36 hours.
 * A child of the privileged part syncs and renames its file at once.
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
static int
sync_dirs(struct local *L)
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
	if (L->nsync == SYNC_MAX && sync_dirs(L) < 0)
		return -1;
	if ((L->pending_sync[L->nsync] = strdup(dir)) == NULL)
		return handoff_sync_folder(AT_FDCWD, dir);
	L->nsync++;
	return 0;
}

/* A pending file's DIR/SUB/NAME (SUB tmp or new), or DIR/new for name NULL. */
static void
pend_path(const struct pend *p, const char *sub, const char *name, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s/%s%s%s", p->dir, sub, name ? "/" : "", name ? name : "");
}

static void
pend_free(struct pend *p)
{
	free(p->dir);
	free(p->name);
	free(p->qid);
	free(p->addr);
	free(p->route);
	memset(p, 0, sizeof *p);
}

/*
 * The pending files into new/: one syncfs a file system, then each
 * renamed and its recipient recorded.  After a failure none of the rest
 * is renamed: their files in tmp/ are removed, nothing records them, and
 * the caller ends the run with 111, so that the batch is retried.
 */
static int
commit_pending(struct local *L)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < L->npend_fs; i++) {
		if (rc == 0 && syncfs(L->pend_fs[i].fd) < 0) {
			log_warn("unable to sync the %zu Maildir files of this run: %s",
			    L->npend, strerror(errno));
			rc = -1;
		}
		close(L->pend_fs[i].fd);
	}
	L->npend_fs = 0;
	for (i = 0; i < L->npend; i++) {
		struct pend *p = &L->pend[i];
		char tmp[BOX_MAX + 600], fin[BOX_MAX + 600], newdir[BOX_MAX + 8];

		pend_path(p, "tmp", p->name, tmp, sizeof tmp);
		pend_path(p, "new", p->name, fin, sizeof fin);
		pend_path(p, "new", NULL, newdir, sizeof newdir);
		if (rc < 0)
			unlink(tmp);
		else if (handoff_commit(-1, AT_FDCWD, tmp, fin, 0) < 0) {
			log_warn("unable to deliver into the Maildir %s: %s", newdir,
			    strerror(errno));
			rc = -1;
		} else {
			if (sync_later(L, newdir) < 0) {
				log_warn("unable to sync %s: %s", newdir, strerror(errno));
				rc = -1;
			}
			/* In new/: a retry must not deliver it again. */
			if (p->addr != NULL)
				local_txn_record(p->qid, p->addr, p->route);
		}
		pend_free(p);
	}
	L->npend = 0;
	return rc;
}

int
local_maildir_sync(struct local *L)
{
	int rc = commit_pending(L);

	if (sync_dirs(L) < 0)
		rc = -1;
	return rc;
}

static struct local *dying;

/* A death of this process: the files still pending go, none was renamed. */
static void
abandon(void)
{
	char tmp[BOX_MAX + 600];
	size_t i;

	for (i = 0; i < dying->npend; i++) {
		pend_path(&dying->pend[i], "tmp", dying->pend[i].name, tmp, sizeof tmp);
		unlink(tmp);
	}
}

void
local_maildir_on_death(struct local *L)
{
	dying = L;
	log_die_hook(abandon);
}

int
local_maildir_record_later(struct local *L, unsigned long before,
    const char *qid, const char *addr, const char *route)
{
	struct pend *p;

	if (L->npend_made == before)
		return 0;
	p = &L->pend[L->npend - 1];
	if ((p->qid = strdup(qid)) == NULL || (p->addr = strdup(addr)) == NULL ||
	    (route != NULL && (p->route = strdup(route)) == NULL))
		die_nomem();
	return 1;
}

/*
 * Hold a descriptor on fd's file system, from before fd's file was
 * written: syncfs on it then reports every write error of the file
 * system since (Linux 5.8), those of the background writeback too.
 */
static int
pend_fs(struct local *L, int fd)
{
	struct stat st;
	size_t i;

	if (fstat(fd, &st) < 0)
		return -1;
	for (i = 0; i < L->npend_fs; i++)
		if (L->pend_fs[i].dev == st.st_dev)
			return 0;
	if ((L->pend_fs[i].fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	L->pend_fs[i].dev = st.st_dev;
	L->npend_fs++;
	return 0;
}

static int
pend_add(struct local *L, const char *dir, const char *name)
{
	struct pend *p;

	if (L->pend == NULL && (L->pend = calloc(PEND_MAX, sizeof *L->pend)) == NULL)
		return -1;
	p = &L->pend[L->npend];
	if ((p->dir = strdup(dir)) == NULL || (p->name = strdup(name)) == NULL) {
		pend_free(p);
		return errno = ENOMEM, -1;
	}
	L->npend++;
	L->npend_made++;
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

/*
 * Write the copy into tmp, DIR/tmp/NAME (made with O_EXCL): synced when
 * now is set, else left pending; 0, or -1 with res set.
 */
static int
write_tmp(struct local *L, const char *dir, const char *name, const char *tmp,
    int now, const struct copy *c, struct result *res)
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
	if ((!now && pend_fs(L, fd) < 0) || local_box_copy(L, &w, c, 0) < 0 ||
	    (now && fsync(fd) < 0)) {
		local_result_sys(res, "unable to write", tmp);
		wbuf_free(&w);
		close(fd);
		unlink(tmp);
		return -1;
	}
	wbuf_free(&w);
	if (close(fd) < 0 || (!now && pend_add(L, dir, name) < 0)) {
		local_result_sys(res, "unable to write", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * A unique name (time.M<usec>P<pid>Q<n>.host), written in tmp/, synced,
 * renamed into new/, new/ synced: at once when now is set, else with the
 * other files of the run, before the program reports success.
 */
void
local_maildir_deliver(struct local *L, const char *dir, const struct copy *c,
    int now, struct result *res)
{
	char name[512], tmp[BOX_MAX + 600], fin[BOX_MAX + 600], newdir[BOX_MAX + 8];
	struct timeval tv;

	/* A full list, or one on every file system it can hold: all go now. */
	if (!now && (L->npend == PEND_MAX || L->npend_fs == PEND_FS_MAX) &&
	    local_maildir_sync(L) < 0)
		die(EXIT_TEMP, "unable to sync or rename the Maildir files of this "
		    "run (see above): the batch is retried");
	gettimeofday(&tv, NULL);
	snprintf(name, sizeof name, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++L->deliveries, L->host);
	if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name) >= (int)sizeof tmp ||
	    snprintf(fin, sizeof fin, "%s/new/%s", dir, name) >= (int)sizeof fin ||
	    snprintf(newdir, sizeof newdir, "%s/new", dir) >= (int)sizeof newdir) {
		local_result_set(res, 5, "5.2.0", "Maildir name too long: %s", dir);
		return local_result_public(res, "Maildir name too long");
	}
	if (write_tmp(L, dir, name, tmp, now, c, res) < 0)
		return;
	if (now && handoff_commit(-1, AT_FDCWD, tmp, fin, 0) < 0) {
		local_result_sys(res, "unable to deliver into the Maildir", newdir);
		return;
	}
	if (now && handoff_sync_folder(AT_FDCWD, newdir) < 0)
		return local_result_sys(res, "unable to sync", newdir);
	clean_tmp(dir);
	local_result_set(res, 0, "2.0.0", "delivered to maildir %s", dir);
	local_result_public(res, "delivered to mailbox");
}
