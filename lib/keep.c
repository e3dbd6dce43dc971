#include "keep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "fsutil.h"
#include "handoff.h"
#include "qid.h"

static int
write_txn(int fd, const struct txn *t, struct bodyfile *sp, keep_body_fn *body,
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
    struct bodyfile *sp, keep_body_fn *body, void *ctx, char *path, size_t psize)
{
	char dir[4096], tmp[4096], dst[4096], qid[QID_LEN + 1];
	const char *id = t->xf[XF_IDENT];
	int fd;

	if (id != NULL && qid_valid(id))
		snprintf(qid, sizeof qid, "%s", id);
	else
		qid_make(qid);
	if (fmt_path(dir, sizeof dir, "%s/%s", spooldir, folder) < 0 ||
	    fmt_path(tmp, sizeof tmp, "%s/tmp/%s.%s.%ld", spooldir, qid, folder,
	    (long)getpid()) < 0 ||
	    fmt_path(dst, sizeof dst, "%s/%s", dir, qid) < 0 ||
	    fmt_path(path, psize, "%s/%s", folder, qid) < 0)
		return -1;
	if (mkdir_p(dir, 0750) < 0)
		return -1;
	if ((fd = handoff_open(AT_FDCWD, tmp, O_TRUNC, 0640)) < 0)
		return -1;
	if (write_txn(fd, t, sp, body, ctx) < 0) {
		handoff_abort(fd, AT_FDCWD, tmp);
		return -1;
	}
	return handoff_commit(fd, AT_FDCWD, tmp, dst, HANDOFF_DURABLE);
}
