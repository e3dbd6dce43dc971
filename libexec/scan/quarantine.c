#include "quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "fsutil.h"
#include "handoff.h"
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
	int fd;

	if (fmt_path(dir, sizeof dir, "%s/quarantine", spooldir) < 0 ||
	    fmt_path(tmp, sizeof tmp, "%s/tmp/%s.quarantine.%ld", spooldir, qid,
	    (long)getpid()) < 0 ||
	    fmt_path(dst, sizeof dst, "%s/%s", dir, qid) < 0 ||
	    fmt_path(path, psize, "quarantine/%s", qid) < 0)
		return -1;
	if (mkdir_p(dir, 0750) < 0)
		return -1;
	if ((fd = handoff_open(AT_FDCWD, tmp, O_TRUNC, 0640)) < 0)
		return -1;
	if (write_txn(fd, t, header, sp) < 0) {
		handoff_abort(fd, AT_FDCWD, tmp);
		return -1;
	}
	return handoff_commit(fd, AT_FDCWD, tmp, dst, HANDOFF_DURABLE);
}
