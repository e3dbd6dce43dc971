#include "quarantine.h"

#include "keep.h"
#include "tag.h"

static int
body(struct stream_writer *w, struct bodyfile *sp, void *ctx)
{
	return tag_copy(w, sp, ctx);
}

int
quarantine_write(const char *spooldir, const struct txn *t, const char *header,
    struct bodyfile *sp, char *path, size_t psize)
{
	return keep_write(spooldir, "quarantine", t, sp, body, (void *)header, path,
	    psize);
}
