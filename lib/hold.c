#include "hold.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bodyfile.h"
#include "buf.h"
#include "log.h"

#define HOLD_MEM (1024 * 1024)	/* output held in memory before the file */

void
hold_init(struct hold *h)
{
	const char *d = bodyfile_tmpdir();

	h->fd = bodyfile_tmpfile(d);
	if (h->fd < 0 && errno == ENAMETOOLONG)
		die(EXIT_TEMP, "TMPDIR name too long");
	if (h->fd < 0)
		die_sys("unable to create a temporary file in %s", d);
	if (stream_writer_init(&h->w, h->fd, 0) < 0)
		die_nomem();
	wbuf_free(&h->w.out);
	if (wbuf_init(&h->w.out, h->fd, HOLD_MEM) < 0)
		die_nomem();
}

int
hold_rewind(struct hold *h)
{
	if (stream_flush(&h->w) < 0 || lseek(h->fd, 0, SEEK_SET) < 0)
		die_sys("unable to write a temporary file");
	return h->fd;
}

/* Copy what is held (memory, then the file past it) to fd. */
static void
hold_drain(struct hold *h, int fd)
{
	char buf[BUF_SIZE];
	ssize_t k;

	if (h->w.out.total - h->w.out.len == 0) {
		/* Never spilled: the memory buffer holds all of it. */
		if (write_all(fd, h->w.out.buf, h->w.out.len) < 0)
			die_sys("unable to write");
		h->w.out.len = 0;
		return;
	}
	hold_rewind(h);
	while ((k = read(h->fd, buf, sizeof buf)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die_sys("unable to read a temporary file");
		}
		if (write_all(fd, buf, (size_t)k) < 0)
			die_sys("unable to write");
	}
}

void
hold_commit(struct hold *h, int fd)
{
	struct stat st;

	hold_drain(h, fd);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(fd) < 0)
		die_sys("unable to sync standard output");
}
