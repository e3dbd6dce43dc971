/*
 * mimewalk: run the MIME walker (lib/mime.h) over one message, for tests
 * and benchmarks.
 *
 *   t/mimewalk [-r] [-q] [-d DIR] [-L] [-D depth] [-P parts] [-H bytes] < msg
 *
 * Prints a line per entity when it ends (path, type, encoding, file
 * name, decoded size, flags) and a last line with the message's flags
 * and entity count.  -r prints the raw lines instead, each with LF: the
 * input again, less the CRs before LF.  -q prints only the last line.
 * -d DIR writes each leaf's decoded content to DIR/part-PATH ("part-"
 * for the message itself).  -L reads lines (without LF) and hands them
 * to mime_line() instead of mime_feed().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "mime.h"

struct walk {
	int raw, quiet;
	const char *dir;
	int fd[MIME_DEPTH_HARD + 2];
	struct wbuf out;
};

static const char *const encs[] = { "7bit", "8bit", "binary", "base64",
	"quoted-printable", "x-uuencode", "other" };
static const char *const origins[] = { "entity", "uuencode", "binhex" };

static int
w_begin(void *ctx, const struct mime_part *p)
{
	struct walk *w = ctx;
	char path[4096];

	if (w->dir == NULL || p->container)
		return MIME_DECODE;
	snprintf(path, sizeof path, "%s/part-%s", w->dir, p->path);
	w->fd[p->depth] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (w->fd[p->depth] < 0) {
		fprintf(stderr, "mimewalk: %s: %s\n", path, strerror(errno));
		exit(111);
	}
	return MIME_DECODE;
}

static void
w_raw(void *ctx, const struct mime_part *p, enum mime_raw kind,
    const char *s, size_t n, int eol)
{
	struct walk *w = ctx;

	(void)p;
	(void)kind;
	if (!w->raw)
		return;
	wbuf_put(&w->out, s, n);
	if (eol)
		wbuf_putc(&w->out, '\n');
}

static void
w_data(void *ctx, const struct mime_part *p, const unsigned char *d, size_t n)
{
	struct walk *w = ctx;

	if (w->dir != NULL && write_all(w->fd[p->depth], d, n) < 0)
		exit(111);
}

static void
w_end(void *ctx, const struct mime_part *p)
{
	struct walk *w = ctx;

	if (w->dir != NULL && !p->container)
		close(w->fd[p->depth]);
	if (w->raw || w->quiet)
		return;
	wbuf_printf(&w->out, "part=%s depth=%zu origin=%s type=%s enc=%s disp=%s "
	    "name=\"%s\" size=%llu flags=0x%02x\n", *p->path ? p->path : "-", p->depth,
	    origins[p->origin], p->type, encs[p->enc],
	    *p->disposition ? p->disposition : "-", p->filename, p->size, p->flags);
}

int
main(int argc, char **argv)
{
	static struct walk w;
	struct mime_ops ops = { w_begin, w_raw, w_data, w_end };
	struct mime_limits lim = { MIME_DEPTH_DEF, MIME_PARTS_DEF, MIME_HEADER_DEF };
	struct mime *m;
	struct rbuf in;
	static char buf[1 << 16];
	const char *line;
	size_t len;
	ssize_t n;
	int c, lines = 0, rc;

	while ((c = getopt(argc, argv, "rqd:LD:P:H:")) != -1) {
		switch (c) {
		case 'r': w.raw = 1; break;
		case 'q': w.quiet = 1; break;
		case 'd': w.dir = optarg; break;
		case 'L': lines = 1; break;
		case 'D': lim.depth = strtoul(optarg, NULL, 10); break;
		case 'P': lim.parts = strtoul(optarg, NULL, 10); break;
		case 'H': lim.header = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: mimewalk [-rq] [-d DIR] [-L] [-D n] [-P n] [-H n]\n");
			return 100;
		}
	}
	if (wbuf_init(&w.out, 1, BUF_SIZE) < 0 || (m = mime_new(&ops, &w, &lim)) == NULL)
		return 111;
	if (lines) {
		if (rbuf_init(&in, 0, BUF_SIZE) < 0)
			return 111;
		while ((rc = rbuf_getline(&in, &line, &len, 1 << 20)) != 0) {
			if (rc == -1)
				return 111;
			if (len > 0 && line[len - 1] == '\n')
				len--;
			mime_line(m, line, len);
		}
	} else {
		while ((n = read(0, buf, sizeof buf)) > 0)
			mime_feed(m, buf, (size_t)n);
		if (n < 0)
			return 111;
	}
	mime_end(m);
	if (!w.raw)
		wbuf_printf(&w.out, "message flags=0x%02x parts=%zu\n", mime_flags(m),
		    mime_parts(m));
	rc = wbuf_flush(&w.out) < 0 ? 111 : 0;
	mime_free(m);
	return rc;
}
