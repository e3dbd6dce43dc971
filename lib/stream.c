#include "stream.h"
#include "param.h"
#include "addr.h"
#include "log.h"
#include "text.h"
#include "xtext.h"
#include "copy.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int
stream_reader_init(struct stream_reader *r, int fd, const char *name)
{
	memset(r, 0, sizeof *r);
	r->name = name ? name : "stdin";
	return rbuf_init(&r->in, fd, BUF_SIZE);
}

void
stream_reader_free(struct stream_reader *r)
{
	rbuf_free(&r->in);
}

static int
rerr(struct stream_reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
rerr(struct stream_reader *r, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof r->err, "%s:%lu: ", r->name, r->line);
	if (n < 0 || (size_t)n >= sizeof r->err)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
	va_end(ap);
	r->exit_code = code;
	return -1;
}

/*
 * Next raw line without its line end (LF or CRLF).  Returns 1, 0 at EOF
 * before any octet, or -1 (error set).  max is the limit with the line end.
 */
static int
getline_raw(struct stream_reader *r, const char **line, size_t *len,
    size_t max, const char *what)
{
	int rc;

	/* Ask for two octets more so CRLF at the limit is still a line. */
	rc = rbuf_getline(&r->in, line, len, max + 1);
	if (rc == 0)
		return 0;
	r->line++;
	if (rc == -1)
		return rerr(r, EXIT_TEMP, "read error: %s", strerror(r->in.err));
	if (rc == -2)
		return rerr(r, EXIT_PERM, "%s longer than %zu octets", what, max - 2);
	if ((*line)[*len - 1] != '\n')
		return rerr(r, EXIT_TEMP, "truncated input: last line has no line end");
	(*len)--;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	if (*len > max - 2)
		return rerr(r, EXIT_PERM, "%s longer than %zu octets", what, max - 2);
	return 1;
}

static inline int
is_cmd(const char *s, size_t n, const char *cmd)
{
	size_t k = strlen(cmd);

	return n >= k && text_ieq(s, cmd, k) && (n == k || s[k] == ' ');
}

static int
xforward_parse(struct stream_reader *r, struct txn *t, const char *s, size_t n)
{
	size_t i = 0;
	char val[STREAM_XF_MAX + 1], *c;

	while (i < n) {
		const char *k, *v;
		size_t kl, vl;
		int a;

		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		k = s + i;
		while (i < n && s[i] != '=' && s[i] != ' ')
			i++;
		kl = (size_t)(s + i - k);
		if (i == n || s[i] != '=')
			return rerr(r, EXIT_PERM, "XFORWARD attribute without a value: %.*s",
			    (int)(kl > 60 ? 60 : kl), k);
		v = s + ++i;
		while (i < n && s[i] != ' ')
			i++;
		vl = (size_t)(s + i - v);
		for (a = 0; a < XF_COUNT; a++)
			if (text_name_is(k, kl, xf_names[a]))
				break;
		if (a == XF_COUNT)
			return rerr(r, EXIT_PERM, "unknown XFORWARD attribute %.*s",
			    (int)(kl > 60 ? 60 : kl), k);
		if (xtext_decode(v, vl, val, sizeof val) < 0)
			return rerr(r, EXIT_PERM, "invalid or over-long XFORWARD %s value%s",
			    xf_names[a], memmem(v, vl, "+00", 3) ? " (it encodes a NUL)" : "");
		/* The values end up in logs and header fields: one line each. */
		for (c = val; *c != '\0'; c++)
			if ((unsigned char)*c < 32 || *c == 127)
				return rerr(r, EXIT_PERM, "XFORWARD %s value holds a control "
				    "character", xf_names[a]);
		if (txn_set_xf(t, (enum xf_attr)a, val) < 0)
			return rerr(r, EXIT_TEMP, "out of memory");
	}
	return 0;
}

/*
 * The path and parameters after "MAIL FROM:" or "RCPT TO:".  Accepts one
 * space before the path, which many clients send.
 */
static int
path_split(struct stream_reader *r, const char *s, size_t n, const char **p,
    size_t *pl, const char **rest, size_t *rl, const char *cmd)
{
	long e;
	size_t i;

	if (n > 0 && s[0] == ' ')
		s++, n--;
	if (n == 0 || s[0] != '<')
		return rerr(r, EXIT_PERM, "%s: path must be enclosed in < >", cmd);
	e = addr_path_end(s, n);
	if (e < 0)
		return rerr(r, EXIT_PERM, "%s: path not closed by >", cmd);
	if ((size_t)e + 1 > ADDR_PATH_MAX)
		return rerr(r, EXIT_PERM, "%s: path longer than %d octets", cmd, ADDR_PATH_MAX);
	*p = s + 1;
	*pl = (size_t)e - 1;
	/*
	 * RFC 5321 allows no control octet in a path, quoted or not; one
	 * here would reach a log line or another server's command line.
	 */
	for (i = 0; i < *pl; i++)
		if ((unsigned char)(*p)[i] < 32 || (*p)[i] == 127)
			return rerr(r, EXIT_PERM, "%s: control character (0x%02x) in path",
			    cmd, (unsigned char)(*p)[i]);
	*rest = s + e + 1;
	*rl = n - (size_t)e - 1;
	if (*rl > 0 && **rest != ' ')
		return rerr(r, EXIT_PERM, "%s: junk after path", cmd);
	return 0;
}

int
stream_read_txn(struct stream_reader *r, struct txn *t)
{
	const char *s, *p, *rest, *err, *nul;
	size_t n, pl, rl;
	int rc, code, have_mail = 0;

	if (r->in_body)
		return rerr(r, EXIT_PERM, "envelope read before the body was finished");
	txn_reset(t);
	for (;;) {
		rc = getline_raw(r, &s, &n, STREAM_CMD_MAX, "command line");
		if (rc < 0)
			return -1;
		/*
		 * Paths and values are copied as C strings, which a NUL would
		 * cut short without a word: refuse it wherever it is.
		 */
		if (rc == 1 && (nul = memchr(s, '\0', n)) != NULL)
			return rerr(r, EXIT_PERM, "NUL octet in a command line, column %zu",
			    (size_t)(nul - s) + 1);
		if (rc == 0) {
			if (have_mail || t->xf[XF_IDENT] || t->xf[XF_ADDR] ||
			    t->xf[XF_NAME])
				return rerr(r, EXIT_TEMP, "truncated input: end of stream inside a transaction");
			return 0;
		}
		if (is_cmd(s, n, "HELO") || is_cmd(s, n, "EHLO") ||
		    is_cmd(s, n, "RSET")) {
			txn_reset(t);
			have_mail = 0;
			continue;
		}
		if (is_cmd(s, n, "QUIT") || is_cmd(s, n, "NOOP")) {
			continue;
		}
		if (is_cmd(s, n, "XFORWARD")) {
			if (have_mail)
				return rerr(r, EXIT_PERM, "XFORWARD after MAIL");
			if (xforward_parse(r, t, s + 8, n - 8) < 0)
				return -1;
			continue;
		}
		if (n >= 10 && text_ieq(s, "MAIL FROM:", 10)) {
			if (have_mail)
				return rerr(r, EXIT_PERM, "second MAIL in one transaction");
			if (path_split(r, s + 10, n - 10, &p, &pl, &rest, &rl, "MAIL") < 0)
				return -1;
			if ((t->from = strndup(p, pl)) == NULL)
				return rerr(r, EXIT_TEMP, "out of memory");
			if (param_parse(t, NULL, rest, rl, 0, &err, &code) < 0)
				return rerr(r, code == 451 ? EXIT_TEMP : EXIT_PERM, "MAIL: %s", err);
			t->line = r->line;
			have_mail = 1;
			continue;
		}
		if (n >= 8 && text_ieq(s, "RCPT TO:", 8)) {
			struct rcpt *rc2;
			char *a;

			if (!have_mail)
				return rerr(r, EXIT_PERM, "RCPT before MAIL");
			if (t->nrcpt == STREAM_RCPT_MAX)
				return rerr(r, EXIT_PERM, "more than %d recipients", STREAM_RCPT_MAX);
			if (path_split(r, s + 8, n - 8, &p, &pl, &rest, &rl, "RCPT") < 0)
				return -1;
			if (pl == 0)
				return rerr(r, EXIT_PERM, "RCPT: empty path <>");
			if ((a = strndup(p, pl)) == NULL || (rc2 = txn_add_rcpt_own(t, a)) == NULL) {
				free(a);
				return rerr(r, EXIT_TEMP, "out of memory");
			}
			rc2->line = r->line;
			if (param_parse(t, rc2, rest, rl, 1, &err, &code) < 0)
				return rerr(r, code == 451 ? EXIT_TEMP : EXIT_PERM, "RCPT: %s", err);
			continue;
		}
		if (n == 4 && text_ieq(s, "DATA", 4)) {
			if (!have_mail)
				return rerr(r, EXIT_PERM, "DATA before MAIL");
			if (t->nrcpt == 0)
				return rerr(r, EXIT_PERM, "DATA without recipients");
			r->in_body = 1;
			r->body_bytes = 0;
			return 1;
		}
		if (n == 0)
			return rerr(r, EXIT_PERM, "empty line where a command was expected");
		{
			char shown[41];
			size_t i;

			/* Show what was there without passing control octets on. */
			for (i = 0; i < n && i < 40; i++)
				shown[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
			shown[i] = '\0';
			return rerr(r, EXIT_PERM, "unknown command: %s", shown);
		}
	}
}

int
stream_read_line(struct stream_reader *r, const char **line, size_t *len)
{
	int rc;

	if (!r->in_body)
		return 0;
	/*
	 * The limit is on the line as the message has it: a stuffed dot is
	 * not counted, so a 998-octet line that starts with a dot (999 on
	 * the wire) is still legal.
	 */
	rc = getline_raw(r, line, len, STREAM_TEXT_MAX + 1, "text line");
	if (rc == 1 && *len > STREAM_TEXT_MAX - 2 &&
	    !((*line)[0] == '.' && *len == STREAM_TEXT_MAX - 1))
		return rerr(r, EXIT_PERM, "text line longer than %d octets",
		    STREAM_TEXT_MAX - 2);
	if (rc == 0)
		return rerr(r, EXIT_TEMP, "truncated input: end of stream inside a message body (no final \".\")");
	if (rc < 0)
		return -1;
	if (*len > 0 && (*line)[0] == '.') {
		if (*len == 1) {
			r->in_body = 0;
			return 0;
		}
		(*line)++;
		(*len)--;
	}
	r->body_bytes += *len + 2;
	return 1;
}

unsigned long long
stream_taken(const struct stream_reader *r)
{
	return r->in.total - (r->in.end - r->in.start);
}

int
stream_rewind(struct stream_reader *r, unsigned long long at,
    unsigned long line)
{
	/* The file is at r->in.total: back by what was read past at. */
	if (lseek(r->in.fd, -(off_t)(r->in.total - at), SEEK_CUR) < 0)
		return rerr(r, EXIT_TEMP, "unable to read the input again: %s",
		    strerror(errno));
	r->in.start = r->in.end = 0;
	r->in.eof = 0;
	r->in.err = 0;
	r->in.total = at;
	r->in_body = 1;
	r->line = line;
	r->body_bytes = 0;
	return 0;
}

int
stream_skip_body(struct stream_reader *r)
{
	const char *l;
	size_t n;
	int rc;

	while ((rc = stream_read_line(r, &l, &n)) == 1)
		;
	return rc;
}

int
stream_writer_init(struct stream_writer *w, int fd, unsigned flags)
{
	w->flags = flags;
	return wbuf_init(&w->out, fd, BUF_SIZE);
}

void
stream_writer_free(struct stream_writer *w)
{
	wbuf_free(&w->out);
}

static int
eol(struct stream_writer *w)
{
	if (w->flags & STREAM_W_CRLF)
		return wbuf_put(&w->out, "\r\n", 2);
	return wbuf_putc(&w->out, '\n');
}

static int
put_x(struct stream_writer *w, const struct xparam *x, size_t n)
{
	size_t i;

	if (w->flags & STREAM_W_EXPORT)
		return 0;
	for (i = 0; i < n; i++) {
		if (wbuf_putc(&w->out, ' ') < 0 || wbuf_puts(&w->out, x[i].key) < 0)
			return -1;
		if (x[i].val != NULL && (wbuf_putc(&w->out, '=') < 0 ||
		    wbuf_puts(&w->out, x[i].val) < 0))
			return -1;
	}
	return 0;
}

int
stream_write_head(struct stream_writer *w, const struct txn *t)
{
	struct wbuf *o = &w->out;
	char enc[STREAM_XF_MAX * 3 + 1];
	size_t i;
	int any = 0;

	if (!(w->flags & (STREAM_W_EXPORT | STREAM_W_PLAIN))) {
		for (i = 0; i < XF_COUNT; i++) {
			if (t->xf[i] == NULL)
				continue;
			if (xtext_encode(t->xf[i], strlen(t->xf[i]), enc, sizeof enc) < 0)
				return errno = EOVERFLOW, -1;
			if (wbuf_puts(o, any ? " " : "XFORWARD ") < 0 ||
			    wbuf_puts(o, xf_names[i]) < 0 || wbuf_putc(o, '=') < 0 ||
			    wbuf_puts(o, enc) < 0)
				return -1;
			any = 1;
		}
		if (any && eol(w) < 0)
			return -1;
	}
	if (wbuf_puts(o, "MAIL FROM:<") < 0 || wbuf_puts(o, t->from ? t->from : "") < 0 ||
	    wbuf_putc(o, '>') < 0)
		return -1;
	if (w->flags & STREAM_W_PLAIN) {
		if (eol(w) < 0)
			return -1;
		for (i = 0; i < t->nrcpt; i++)
			if (wbuf_puts(o, "RCPT TO:<") < 0 ||
			    wbuf_puts(o, t->rcpt[i].addr) < 0 ||
			    wbuf_putc(o, '>') < 0 || eol(w) < 0)
				return -1;
		if (wbuf_puts(o, "DATA") < 0 || eol(w) < 0)
			return -1;
		return 0;
	}
	if (t->has_size && (wbuf_puts(o, " SIZE=") < 0 || wbuf_putu(o, t->size) < 0))
		return -1;
	if (t->body != BODY_NONE && wbuf_puts(o, t->body == BODY_7BIT ?
	    " BODY=7BIT" : " BODY=8BITMIME") < 0)
		return -1;
	if (t->smtputf8 && wbuf_puts(o, " SMTPUTF8") < 0)
		return -1;
	if (t->ret != RET_NONE && wbuf_puts(o, t->ret == RET_FULL ?
	    " RET=FULL" : " RET=HDRS") < 0)
		return -1;
	if (t->envid && (wbuf_puts(o, " ENVID=") < 0 || wbuf_puts(o, t->envid) < 0))
		return -1;
	if (t->auth && (wbuf_puts(o, " AUTH=") < 0 || wbuf_puts(o, t->auth) < 0))
		return -1;
	if (put_x(w, t->x, t->nx) < 0 || eol(w) < 0)
		return -1;
	for (i = 0; i < t->nrcpt; i++) {
		const struct rcpt *rc = &t->rcpt[i];

		if (wbuf_puts(o, "RCPT TO:<") < 0 || wbuf_puts(o, rc->addr) < 0 ||
		    wbuf_putc(o, '>') < 0)
			return -1;
		if (rc->notify) {
			if (rc->notify & NOTIFY_NEVER) {
				if (wbuf_puts(o, " NOTIFY=NEVER") < 0)
					return -1;
			} else {
				const char *sep = " NOTIFY=";

				if ((rc->notify & NOTIFY_SUCCESS) &&
				    (wbuf_puts(o, sep) < 0 || wbuf_puts(o, "SUCCESS") < 0))
					return -1;
				if (rc->notify & NOTIFY_SUCCESS)
					sep = ",";
				if ((rc->notify & NOTIFY_FAILURE) &&
				    (wbuf_puts(o, sep) < 0 || wbuf_puts(o, "FAILURE") < 0))
					return -1;
				if (rc->notify & NOTIFY_FAILURE)
					sep = ",";
				if ((rc->notify & NOTIFY_DELAY) &&
				    (wbuf_puts(o, sep) < 0 || wbuf_puts(o, "DELAY") < 0))
					return -1;
			}
		}
		if (rc->orcpt && (wbuf_puts(o, " ORCPT=") < 0 ||
		    wbuf_puts(o, rc->orcpt) < 0))
			return -1;
		if (put_x(w, rc->x, rc->nx) < 0 || eol(w) < 0)
			return -1;
	}
	if (wbuf_puts(o, "DATA") < 0 || eol(w) < 0)
		return -1;
	return 0;
}

/*
 * A body line known to hold no LF, dot-stuffed.  A line that ends in a CR
 * (CR CR LF in the input) is ended by CRLF even in the LF form: a reader
 * takes CR LF as the line end, so a lone LF would lose the CR.
 */
static int
put_line(struct stream_writer *w, const char *s, size_t n)
{
	if (n > 0 && s[0] == '.' && wbuf_putc(&w->out, '.') < 0)
		return -1;
	if (wbuf_put(&w->out, s, n) < 0)
		return -1;
	if (n > 0 && s[n - 1] == '\r' && !(w->flags & STREAM_W_CRLF))
		return wbuf_put(&w->out, "\r\n", 2);
	return eol(w);
}

size_t
stream_line_size(const struct stream_writer *w, const char *s, size_t n)
{
	size_t eol = w->flags & STREAM_W_CRLF ? 2 : 1;

	if (n > 0 && s[n - 1] == '\r')
		eol = 2;
	return (n > 0 && s[0] == '.') + n + eol;
}

int
stream_write_line(struct stream_writer *w, const char *s, size_t n)
{
	/* A line end inside would end the body and start commands. */
	if (memchr(s, '\n', n) != NULL)
		return errno = EINVAL, -1;
	return put_line(w, s, n);
}

int
stream_write_end(struct stream_writer *w)
{
	if (wbuf_putc(&w->out, '.') < 0)
		return -1;
	return eol(w);
}

int
stream_flush(struct stream_writer *w)
{
	return wbuf_flush(&w->out);
}

/*
 * The LF at j ends the line at *off: 1 when that line is plain and the
 * next may be too (*off and *k moved past it), else 0.
 */
static inline int
plain_lf(const char *p, size_t n, size_t j, size_t *off, size_t *k)
{
	if (j - *off >= STREAM_TEXT_MAX - 1 || (j > *off && p[j - 1] == '\r'))
		return 0;
	*off = j + 1;
	++*k;
	return !(*off < n && p[*off] == '.');
}

/*
 * Whole plain lines from p[0..n): each line's LF is fewer than
 * STREAM_TEXT_MAX - 1 octets from its start, with no CR before it, and
 * the next line does not start with a dot.  One pass over the block,
 * sixteen octets a step, every LF of a step taken from one mask: a call
 * of text_find per line cost more than the scan on mail's short lines
 * (doc/performance.md).  t/text.c checks it against the line-by-line
 * loop it replaces.
 */
size_t
stream_plain_run(const char *p, size_t n, size_t *lines)
{
	const size_t max = STREAM_TEXT_MAX - 1;
	size_t off = 0, k = 0, i = 0;

	if (n == 0 || p[0] == '.')
		goto done;
#if defined(__SSE2__)
	{
		const __m128i lf = _mm_set1_epi8('\n');

		for (; i + 16 <= n; i += 16) {
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
			    _mm_loadu_si128((const __m128i *)(const void *)(p + i)), lf));

			for (; m != 0; m &= m - 1)
				if (!plain_lf(p, n, i + (size_t)__builtin_ctz(m), &off, &k))
					goto done;
			/* No LF can come soon enough for the line at off. */
			if (i + 16 - off >= max)
				goto done;
		}
	}
#endif
	for (; i < n; i++)
		if (p[i] == '\n' ? !plain_lf(p, n, i, &off, &k) : i - off >= max)
			goto done;
done:
	*lines = k;
	return off;
}

int
stream_read_plain(struct stream_reader *r, const char **p, size_t *n,
    size_t *lines)
{
	if (!r->in_body)
		return 0;
	*p = r->in.buf + r->in.start;
	if ((*n = stream_plain_run(*p, r->in.end - r->in.start, lines)) == 0)
		return 0;
	r->in.start += *n;
	r->line += *lines;
	r->body_bytes += *n + *lines;
	return 1;
}

int
stream_put_crlf(struct wbuf *o, const char *p, size_t n)
{
	const char *nl;
	size_t k;

	for (; n > 0; n -= k + 1, p = nl + 1) {
		if ((nl = text_find(p, n, '\n')) == NULL)
			return errno = EINVAL, -1;
		k = (size_t)(nl - p);
		if (o->err || o->size - o->len < k + 2) {
			if (wbuf_put(o, p, k) < 0 || wbuf_put(o, "\r\n", 2) < 0)
				return -1;
			continue;
		}
		/* Room for the line and its CRLF: no call per line. */
		copy_octets(o->buf + o->len, p, k);
		o->buf[o->len + k] = '\r';
		o->buf[o->len + k + 1] = '\n';
		o->len += k + 2;
		o->total += k + 2;
	}
	return 0;
}

int
stream_write_plain(struct stream_writer *w, const char *p, size_t n)
{
	/* Plain lines have no leading dot and no CR before the LF. */
	if (w->flags & STREAM_W_CRLF)
		return stream_put_crlf(&w->out, p, n);
	return wbuf_put(&w->out, p, n);
}

int
stream_copy_body(struct stream_reader *r, struct stream_writer *w,
    int *read_failed)
{
	const char *l;
	size_t n, lines;
	int rc;

	*read_failed = 0;
	for (;;) {
		/* Whole plain lines already buffered: one block (stream.h). */
		if (stream_read_plain(r, &l, &n, &lines) == 1) {
			if (stream_write_plain(w, l, n) < 0)
				return -1;
			continue;
		}
		/* The reader's lines never hold an LF: no need to look again. */
		if ((rc = stream_read_line(r, &l, &n)) != 1)
			break;
		if (put_line(w, l, n) < 0)
			return -1;
	}
	if (rc < 0) {
		*read_failed = 1;
		return -1;
	}
	return stream_write_end(w);
}
