/*
 * Refused input is kept for the postmaster: the input as it came, in the
 * refused/ folder of the tunnel state (bsmtp_dir), named TIME.PID, with
 * the reason in TIME.PID.reason beside it; written to a temporary name,
 * synced and renamed, as the queue writes.  Nothing is passed on, and the
 * program exits 100, so sluice-pop3 leaves the message on the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "decode.h"
#include "fmt.h"
#include "fsutil.h"
#include "handoff.h"
#include "log.h"

/* Copy the raw input into a new file at path, synced; 0 or -1. */
static int
keep(int raw_fd, const char *tmp, const char *path, const char *reason)
{
	char buf[BUF_SIZE], rtmp[4400], rpath[4400];
	ssize_t k;
	int fd, rfd;

	if ((fd = handoff_open(AT_FDCWD, tmp, O_EXCL, 0600)) < 0)
		return -1;
	if (lseek(raw_fd, 0, SEEK_SET) < 0)
		goto fail;
	while ((k = read(raw_fd, buf, sizeof buf)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || write_all(fd, buf, (size_t)k) < 0)
			goto fail;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		handoff_abort(-1, AT_FDCWD, tmp);
		return -1;
	}
	/* The reason first: the input never stands in bad/ without it. */
	if (fmt_path(rtmp, sizeof rtmp, "%s.reason", tmp) < 0 ||
	    fmt_path(rpath, sizeof rpath, "%s.reason", path) < 0 ||
	    (rfd = handoff_open(AT_FDCWD, rtmp, O_TRUNC, 0600)) < 0) {
		handoff_abort(-1, AT_FDCWD, tmp);
		return -1;
	}
	if (dprintf(rfd, "%s\n", reason) < 0) {
		handoff_abort(rfd, AT_FDCWD, rtmp);
		handoff_abort(-1, AT_FDCWD, tmp);
		return -1;
	}
	if (handoff_commit(rfd, AT_FDCWD, rtmp, rpath, HANDOFF_SYNC_FILE) < 0 ||
	    handoff_commit(-1, AT_FDCWD, tmp, path, HANDOFF_SYNC_DIR) < 0)
		return -1;
	return 0;
fail:
	handoff_abort(fd, AT_FDCWD, tmp);
	return -1;
}

void
refuse_input(struct decode *d, const char *fmt, ...)
{
	char reason[600], dir[4000], path[4200], tmp[4300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (bsmtp_dir(dir, sizeof dir, "refused") < 0)
		die(EXIT_TEMP, "the bsmtp_dir setting is too long");
	if (fmt_path(path, sizeof path, "%s/%lld.%ld", dir, (long long)time(NULL),
	    (long)getpid()) < 0 ||
	    fmt_path(tmp, sizeof tmp, "%s/.tmp.%ld", dir, (long)getpid()) < 0 ||
	    mkdir_p(dir, 0700) < 0 || keep(d->raw_fd, tmp, path, reason) < 0)
		die_sys("refused (%s), but unable to keep the input in %s", reason,
		    dir);
	log_warn("status=refused id=<%s> sender=<%s> kept=%s reason=\"%s\"",
	    d->h.id[0] ? d->h.id : "-", d->h.from[0] ? d->h.from : "-", path,
	    reason);
	die(EXIT_PERM, "%s%s (refused, kept in %s)", reason[0] == '5' ? "" : "5.6.0 ",
	    reason, path);
}
