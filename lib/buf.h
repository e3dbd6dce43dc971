#ifndef BUF_H
#define BUF_H

/*
 * Buffered reading by lines and buffered writing on plain descriptors.
 * Lines are found with memchr in a fixed buffer and returned in place, so
 * a line is never copied before its caller looks at it and memory never
 * grows with input size.
 */

#include <stddef.h>
#include <sys/types.h>

#define BUF_SIZE 65536

struct rbuf {
	int fd;
	char *buf;
	size_t size;	/* allocated */
	size_t start;	/* first unread byte */
	size_t end;	/* one past last valid byte */
	int eof;
	int err;	/* errno of a failed read, else 0 */
	/* optional deadline: seconds to wait for input, 0 = forever */
	unsigned timeout;
	/*
	 * optional: no input is waited for past this clock_now_ms() value,
	 * however often some arrives (0 = none); timedout is set then too
	 */
	long long deadline;
	int timedout;
};

struct wbuf {
	int fd;
	char *buf;
	size_t size;
	size_t len;
	int err;	/* sticky errno of a failed write */
	unsigned long long total;	/* bytes accepted so far */
};

int rbuf_init(struct rbuf *, int fd, size_t size);
void rbuf_free(struct rbuf *);
/*
 * Next line, up to and including '\n'.  Returns 1 and sets *line and *len;
 * 0 at end of input (a final unterminated piece is returned first, with
 * no '\n'); -1 on a read error; -2 if no '\n' appears within max bytes, in
 * which case the first max bytes are returned as *line and consumed.
 */
int rbuf_getline(struct rbuf *, const char **line, size_t *len, size_t max);
/* Up to n bytes of whatever is buffered or readable; 0 at EOF, -1 error. */
ssize_t rbuf_read(struct rbuf *, char *dst, size_t n);
/* Bytes already buffered and unread. */
size_t rbuf_pending(const struct rbuf *);

int wbuf_init(struct wbuf *, int fd, size_t size);
void wbuf_free(struct wbuf *);
int wbuf_put(struct wbuf *, const void *p, size_t n);
int wbuf_puts(struct wbuf *, const char *s);
int wbuf_putc(struct wbuf *, char c);
int wbuf_printf(struct wbuf *, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int wbuf_flush(struct wbuf *);

/* write(2) all of it, retrying on EINTR and short writes. */
int write_all(int fd, const void *p, size_t n);

#endif
