#include "keep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "qid.h"

static int
write_txn(int fd, const struct txn *t, struct spool *sp, keep_body_fn *body,
    void *ctx)
{
	struct stream_writer w;
	int rc;

	if (stream_writer_init(&w, fd, 0) < 0)
		return errno = ENOMEM, -1;
	rc = stream_write_head(&w, t);
	if (rc == 0)
		rc = body(&w, sp, ctx);
	if (rc == 0)
		rc = stream_flush(&w);
	stream_writer_free(&w);
	return rc;
}

int
keep_write(const char *spooldir, const char *folder, const struct txn *t,
    struct spool *sp, keep_body_fn *body, void *ctx, char *path, size_t psize)
{
	char dir[4096], tmp[4096], dst[4096], qid[QID_LEN + 1];
	const char *id = t->xf[XF_IDENT];
	int fd, e, n;

	if (id != NULL && qid_valid(id))
		snprintf(qid, sizeof qid, "%s", id);
	else
		qid_make(qid);
	n = snprintf(dir, sizeof dir, "%s/%s", spooldir, folder);
	if (n < 0 || (size_t)n >= sizeof dir ||
	    snprintf(tmp, sizeof tmp, "%s/tmp/%s.%s.%ld", spooldir, qid, folder,
	    (long)getpid()) >= (int)sizeof tmp ||
	    snprintf(dst, sizeof dst, "%s/%s", dir, qid) >= (int)sizeof dst)
		return errno = ENAMETOOLONG, -1;
	if (mkdir_p(dir, 0750) < 0)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return -1;
	if (write_txn(fd, t, sp, body, ctx) < 0 || fsync(fd) < 0) {
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
	snprintf(path, psize, "%s/%s", folder, qid);
	return 0;
}
