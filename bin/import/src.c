/* src: reading a source file of an import, line by line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "import.h"
#include "log.h"

int
src_open(struct src *s, const char *path)
{
	if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path)
		return errno = ENAMETOOLONG, -1;
	s->line = 0;
	s->off = 0;
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (rbuf_init(&s->in, s->fd, BUF_SIZE) < 0)
		die_nomem();
	return 0;
}

void
src_close(struct src *s)
{
	rbuf_free(&s->in);
	close(s->fd);
}

int
src_line(struct src *s, const char **l, size_t *n, size_t max)
{
	int rc, lng = 0;

	for (;;) {
		rc = rbuf_getline(&s->in, l, n, max + 1);
		if (rc == 0)
			return lng ? -2 : 0;
		if (rc == -1) {
			errno = s->in.err;
			die_sys("unable to read %s", s->path);
		}
		s->off += *n;
		if (rc == -2 || lng) {
			if (!lng)
				s->line++;
			lng = 1;
			if (rc == 1 && (*l)[*n - 1] == '\n')
				return -2;
			continue;
		}
		s->line++;
		if ((*l)[*n - 1] == '\n')
			(*n)--;
		if (*n > 0 && (*l)[*n - 1] == '\r')
			(*n)--;
		if (*n > max - 2)
			return -2;
		return 1;
	}
}
