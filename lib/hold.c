#include "hold.h"

#include <errno.h>
#include <sys/sendfile.h>
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

/*
 * len octets of file in from offset off to out: sendfile, which copies
 * within the kernel (and to a pipe, hands over the file's pages), else
 * pread and write where sendfile cannot write (EINVAL: an O_APPEND file,
 * for one).  Errors are fatal (111).
 */
static void
copy_out(int in, off_t off, unsigned long long len, int out)
{
	char buf[BUF_SIZE];
	ssize_t k;
	int slow = 0;

	while (len > 0) {
		size_t n = len > (1U << 30) ? (1U << 30) : (size_t)len;

		if (!slow && (k = sendfile(out, in, &off, n)) > 0) {
			len -= (unsigned long long)k;
			continue;
		}
		if (!slow && k < 0 && errno == EINTR)
			continue;
		if (!slow && k < 0 && errno != EINVAL && errno != ENOSYS)
			die_sys("unable to write");
		slow = 1;
		if ((k = pread(in, buf, n > sizeof buf ? sizeof buf : n, off)) < 0 &&
		    errno == EINTR)
			continue;
		if (k < 0)
			die_sys("unable to read a temporary file");
		if (k == 0)
			die(EXIT_TEMP, "a temporary file is shorter than written");
		if (write_all(out, buf, (size_t)k) < 0)
			die_sys("unable to write");
		off += k;
		len -= (unsigned long long)k;
	}
}

/* Copy what is held (memory, then the file past it) to fd. */
static void
hold_drain(struct hold *h, int fd)
{
	if (h->w.out.total - h->w.out.len == 0) {
		/* Never spilled: the memory buffer holds all of it. */
		if (write_all(fd, h->w.out.buf, h->w.out.len) < 0)
			die_sys("unable to write");
		h->w.out.len = 0;
		return;
	}
	if (stream_flush(&h->w) < 0)
		die_sys("unable to write a temporary file");
	copy_out(h->fd, 0, h->w.out.total, fd);
}

void
hold_append(struct hold *h, int fd, off_t off, unsigned long long len)
{
	if (stream_flush(&h->w) < 0)
		die_sys("unable to write a temporary file");
	copy_out(fd, off, len, h->fd);
	h->w.out.total += len;
}

void
hold_commit_tail(struct hold *h, int fd, int tail, off_t off,
    unsigned long long len)
{
	struct stat st;

	hold_drain(h, fd);
	if (tail >= 0)
		copy_out(tail, off, len, fd);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(fd) < 0)
		die_sys("unable to sync standard output");
}

void
hold_commit(struct hold *h, int fd)
{
	hold_commit_tail(h, fd, -1, 0, 0);
}
