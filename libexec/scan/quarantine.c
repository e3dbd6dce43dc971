#include "quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "tag.h"

static int
write_txn(int fd, const struct txn *t, const char *header, struct bodyfile *sp)
{
	struct stream_writer w;
	int rc;

	if (stream_writer_init(&w, fd, 0) < 0)
		return errno = ENOMEM, -1;
	rc = stream_write_head(&w, t);
	if (rc == 0)
		rc = tag_copy(&w, sp, header);
	if (rc == 0)
		rc = stream_flush(&w);
	stream_writer_free(&w);
	return rc;
}

int
quarantine_write(const char *spooldir, const char *qid, const struct txn *t,
    const char *header, struct bodyfile *sp, char *path, size_t psize)
{
	char dir[4096], tmp[4096], dst[4096];
	int fd, e, n;

	n = snprintf(dir, sizeof dir, "%s/quarantine", spooldir);
	if (n < 0 || (size_t)n >= sizeof dir ||
	    snprintf(tmp, sizeof tmp, "%s/tmp/%s.quarantine.%ld", spooldir, qid,
	    (long)getpid()) >= (int)sizeof tmp ||
	    snprintf(dst, sizeof dst, "%s/%s", dir, qid) >= (int)sizeof dst)
		return errno = ENAMETOOLONG, -1;
	if (mkdir_p(dir, 0750) < 0)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return -1;
	if (write_txn(fd, t, header, sp) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		return errno = e, -1;
	}
	if (close(fd) < 0 || rename(tmp, dst) < 0) {
		e = errno;
		unlink(tmp);
		return errno = e, -1;
	}
	if (fsync_dir(dir, 1) < 0)
		return -1;
	snprintf(path, psize, "quarantine/%s", qid);
	return 0;
}
