#include "bodyfile.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
bodyfile_tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && *d != '\0' ? d : "/tmp";
}

int
bodyfile_tmpfile(const char *dir)
{
	char tmpl[4096];
	int fd, n;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* Some filesystems do not know O_TMPFILE. */
		n = snprintf(tmpl, sizeof tmpl, "%s/.body.XXXXXX", dir);
		if (n < 0 || (size_t)n >= sizeof tmpl)
			return errno = ENAMETOOLONG, -1;
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0)
			return -1;
		unlink(tmpl);
	}
	return fd;
}

int
bodyfile_open(struct bodyfile *s, const char *dir)
{
	int fd;

	if ((fd = bodyfile_tmpfile(dir)) < 0)
		return -1;
	return bodyfile_adopt(s, fd);
}

void
bodyfile_defer(struct bodyfile *s, const char *dir)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->dir = dir;
}

/* A deferred body file made now, at its first use: 0, or -1 (errno). */
static int
ready(struct bodyfile *s)
{
	const char *dir = s->dir;

	if (s->fd >= 0 || dir == NULL)
		return 0;
	if (bodyfile_open(s, dir) < 0) {
		s->fd = -1;
		s->dir = dir;
		return -1;
	}
	s->dir = dir;
	return 0;
}

int
bodyfile_adopt(struct bodyfile *s, int fd)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	if (wbuf_init(&s->w, s->fd, BUF_SIZE) < 0 ||
	    rbuf_init(&s->r, s->fd, BUF_SIZE) < 0) {
		close(s->fd);
		s->fd = -1;
		return errno = ENOMEM, -1;
	}
	return 0;
}

void
bodyfile_close(struct bodyfile *s)
{
	if (s->fd < 0)
		return;
	wbuf_free(&s->w);
	rbuf_free(&s->r);
	close(s->fd);
	s->fd = -1;
}

int
bodyfile_reset(struct bodyfile *s)
{
	if (ready(s) < 0)
		return -1;
	s->w.len = 0;
	s->w.err = 0;
	s->bytes = 0;
	s->lines = 0;
	s->reading = 0;
	/* Written over, not emptied: bodyfile_rewind cuts the old tail. */
	s->written_over = 1;
	if (lseek(s->fd, 0, SEEK_SET) < 0)
		return -1;
	return 0;
}

int
bodyfile_write_line(struct bodyfile *s, const char *l, size_t n)
{
	if (s->fd < 0 && ready(s) < 0)
		return -1;
	s->bytes += n + 2;
	s->lines++;
	if (wbuf_put(&s->w, l, n) < 0 || wbuf_putc(&s->w, '\n') < 0)
		return -1;
	return 0;
}

int
bodyfile_from_stream(struct bodyfile *s, struct stream_reader *r, int *read_failed)
{
	const char *l;
	size_t n;
	int rc;

	*read_failed = 0;
	while ((rc = stream_read_line(r, &l, &n)) == 1)
		if (bodyfile_write_line(s, l, n) < 0)
			return -1;
	if (rc < 0) {
		*read_failed = 1;
		return -1;
	}
	return 0;
}

int
bodyfile_rewind(struct bodyfile *s)
{
	if (ready(s) < 0)
		return -1;
	if (wbuf_flush(&s->w) < 0)
		return -1;
	/*
	 * The first rewind after bodyfile_reset: the body ends where the
	 * writing did, and what is left of a longer body before goes.  Never
	 * for an adopted file, whose offset is shared with its writer.
	 */
	if (s->written_over) {
		if (cut_at_offset(s->fd) < 0)
			return -1;
		s->written_over = 0;
	}
	if (lseek(s->fd, 0, SEEK_SET) < 0)
		return -1;
	s->r.start = s->r.end = 0;
	s->r.eof = 0;
	s->r.err = 0;
	s->reading = 1;
	return 0;
}

int
bodyfile_getline(struct bodyfile *s, const char **line, size_t *len)
{
	int rc;

	if (s->fd < 0 && ready(s) < 0)
		return -1;
	rc = rbuf_getline(&s->r, line, len, BUF_SIZE);

	if (rc == 1 || rc == -2) {
		if (*len > 0 && (*line)[*len - 1] == '\n')
			(*len)--;
		return 1;
	}
	if (rc < 0)
		errno = s->r.err ? s->r.err : EIO;
	return rc;
}

int
bodyfile_write_stream(struct bodyfile *s, struct stream_writer *w)
{
	const char *l;
	size_t n, lines;
	int rc;

	if (bodyfile_rewind(s) < 0)
		return -1;
	for (;;) {
		/* Whole plain lines already buffered go out in one block. */
		n = stream_plain_run(s->r.buf + s->r.start, s->r.end - s->r.start,
		    &lines);
		if (n > 0) {
			if (stream_write_plain(w, s->r.buf + s->r.start, n) < 0)
				return -1;
			s->r.start += n;
			continue;
		}
		if ((rc = bodyfile_getline(s, &l, &n)) != 1)
			break;
		if (stream_write_line(w, l, n) < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	return stream_write_end(w);
}
