#ifndef BUF_H
#define BUF_H

/*
 * Buffered reading by lines and buffered writing, for files, pipes, the
 * stream and network sessions.  Lines are found with memchr in a fixed
 * buffer and returned in place, so a line is never copied before its
 * caller looks at it and memory never grows with input size.
 *
 * By default an rbuf reads and a wbuf writes its descriptor with read(2)
 * and write(2); a descriptor that is non-blocking (a socket) is waited
 * for, within the deadline.  A transport (struct buf_io) replaces them:
 * TLS through lib/tls (tls_buf_io), for example.
 */

#include <stddef.h>
#include <sys/types.h>

#define BUF_SIZE 65536

/*
 * How many buffers of BUF_SIZE come from a static pool rather than malloc
 * (lib/buf.c): none under AddressSanitizer (gcc or clang) or valgrind
 * (make VALGRIND=1), which check malloc'd buffers only.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(SLUICE_NO_BUF_POOL)
#define BUF_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUF_POOL 0
#endif
#endif
#ifndef BUF_POOL
#define BUF_POOL 2
#endif

/*
 * A transport: read and write like read(2) and write(2) (bytes, 0 at the
 * end of input, -1 with errno), waiting no later than deadline, a
 * clock_now_ms() value (0: no deadline), and failing with ETIMEDOUT then.
 */
struct buf_io {
	ssize_t (*read)(void *ctx, void *p, size_t n, long long deadline);
	ssize_t (*write)(void *ctx, const void *p, size_t n, long long deadline);
	void *ctx;
};

struct rbuf {
	int fd;
	const struct buf_io *io;	/* NULL: read(2) on fd */
	char *buf;
	size_t size;	/* allocated */
	int mem;	/* buf is the caller's */
	size_t start;	/* first unread byte */
	size_t end;	/* one past last valid byte */
	int eof;
	int err;	/* errno of a failed read, else 0 */
	unsigned long long total;	/* octets read from fd so far */
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
	const struct buf_io *io;	/* NULL: write(2) on fd */
	char *buf;
	size_t size;
	int mem;	/* buf is the caller's */
	size_t len;
	int err;	/* sticky errno of a failed write; ETIMEDOUT past the deadline */
	unsigned long long total;	/* bytes accepted so far */
	/* optional: no output is waited for past this clock_now_ms() value */
	long long deadline;
};

int rbuf_init(struct rbuf *, int fd, size_t size);
/* The same over the caller's memory, which rbuf_free leaves alone. */
void rbuf_init_mem(struct rbuf *, int fd, char *mem, size_t size);
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
/*
 * Give back the last n octets of what rbuf_getline just returned: the
 * next read starts with them.
 */
void rbuf_unread(struct rbuf *, size_t n);

int wbuf_init(struct wbuf *, int fd, size_t size);
/* The same over the caller's memory, which wbuf_free leaves alone. */
void wbuf_init_mem(struct wbuf *, int fd, char *mem, size_t size);
void wbuf_free(struct wbuf *);
int wbuf_put(struct wbuf *, const void *p, size_t n);
int wbuf_puts(struct wbuf *, const char *s);
int wbuf_putc(struct wbuf *, char c);
/* v in decimal, without printf. */
int wbuf_putu(struct wbuf *w, unsigned long long v);
int wbuf_printf(struct wbuf *, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int wbuf_flush(struct wbuf *);

/* write(2) all of it, retrying on EINTR and short writes. */
int write_all(int fd, const void *p, size_t n);

#endif
