/*
 * sluice-envelope: check and normalize every envelope of a stream, or turn
 * another server's spool into a stream.  See sluice-envelope(8).
 *
 * The output is all or nothing: it is held in memory and, past 1 MiB, in
 * an unlinked temporary file, and copied to standard output only when the
 * whole input has been read.  So an exit of 100 or 111 writes nothing, as
 * DESIGN.md asks of a temporary failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "spool.h"
#include "stream.h"
#include "text.h"

#define OUT_MEM (1024 * 1024)	/* output held in memory before a temp file */
#define ENV_LINE_MAX 1024	/* a line of a .WRK file or an x-sender: line */
#define HDR_VAL_MAX 1000	/* a captured Return-Path:/Delivered-To: value */
#define RFLAG_MAX STREAM_RCPT_MAX

static char qualify[ADDR_DOMAIN_MAX + 1];
static struct stream_writer out;	/* the whole output, until the commit */
static int out_fd = -1;
static struct spool bsp;		/* one body, when the envelope depends on it */

static void
usage(void)
{
	die(100, "usage: sluice-envelope [-d] [-b malformed-dir] "
	    "[-w dir | -e dir | -M dir | -m mbox] [-r rcpt]...");
}

/* ---- temporary files ------------------------------------------------ */

static int
tmp_open(void)
{
	const char *d = spool_tmpdir();
	int fd = spool_tmpfile(d);

	if (fd < 0 && errno == ENAMETOOLONG)
		die(111, "TMPDIR name too long");
	if (fd < 0)
		die_sys("unable to create a temporary file in %s", d);
	return fd;
}

/* Copy the output held so far (memory, then the file past it) to fd 1. */
static void
out_drain(void)
{
	char buf[BUF_SIZE];
	ssize_t k;

	if (out.out.total - out.out.len == 0) {
		/* Never spilled: the memory buffer holds all of it. */
		if (write_all(1, out.out.buf, out.out.len) < 0)
			die_sys("unable to write");
		out.out.len = 0;
		return;
	}
	if (stream_flush(&out) < 0 || lseek(out_fd, 0, SEEK_SET) < 0)
		die_sys("unable to write a temporary file");
	while ((k = read(out_fd, buf, sizeof buf)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die_sys("unable to read a temporary file");
		}
		if (write_all(1, buf, (size_t)k) < 0)
			die_sys("unable to write");
	}
}

static void
body_reset(void)
{
	if (spool_reset(&bsp) < 0)
		die_sys("unable to truncate a temporary file");
}

static void
writers_init(void)
{
	out_fd = tmp_open();
	if (spool_open(&bsp, spool_tmpdir()) < 0)
		die_sys("unable to create a temporary file in %s", spool_tmpdir());
	if (stream_writer_init(&out, out_fd, 0) < 0)
		die_nomem();
	wbuf_free(&out.out);
	if (wbuf_init(&out.out, out_fd, OUT_MEM) < 0)
		die_nomem();
}

/* Everything was read: now, and only now, the output goes out. */
static void
output_commit(void)
{
	struct stat st;

	out_drain();
	if (fstat(1, &st) == 0 && S_ISREG(st.st_mode) && fsync(1) < 0)
		die_sys("unable to sync standard output");
}

/* ---- addresses ------------------------------------------------------- */

/* Printable copy of an address for a message. */
static const char *
shown(const char *s)
{
	static char buf[ADDR_PATH_MAX + 8];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof buf - 4; i++)
		buf[i] = ((unsigned char)s[i] < 32 || s[i] == 127) ? '?' : s[i];
	if (s[i] != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/*
 * Normalize *p in place (reallocated).  Unqualified addresses get the
 * qualify_domain, and <postmaster> in any case becomes postmaster@ it.
 */
static int
addr_norm(char **p, unsigned flags, char *why, size_t whysz)
{
	struct addr a;
	struct addr_err e;
	char buf[ADDR_LOCAL_MAX + 3 + 1 + ADDR_DOMAIN_MAX + 1], *c;
	size_t n;

	if (addr_parse(*p, strlen(*p), flags, &a, &e) < 0) {
		snprintf(why, whysz, "%s at offset %zu: <%s>", e.msg, e.pos,
		    shown(*p));
		return -1;
	}
	if (!a.null && a.domain[0] == '\0') {
		if (addr_is_postmaster(&a))
			strcpy(a.local, "postmaster");
		memcpy(a.domain, qualify, sizeof a.domain);
	}
	n = addr_format(&a, buf, sizeof buf);
	if (n > ADDR_MAILBOX_MAX) {
		snprintf(why, whysz, "address longer than %d octets once "
		    "qualified: <%s>", ADDR_MAILBOX_MAX, shown(*p));
		return -1;
	}
	if (strcmp(buf, *p) == 0)
		return 0;
	if ((c = strdup(buf)) == NULL)
		die_nomem();
	free(*p);
	*p = c;
	return 0;
}

/*
 * Once qualified, "alice" and "alice@qualify_domain" are one recipient:
 * keep each once (rcpt_key), the first with its parameters.
 */
static void
txn_norm_dedupe(struct txn *t)
{
	long n = txn_dedupe(t);

	if (n < 0)
		die_nomem();
	if (n > 0)
		log_info("qid=%s line=%lu duplicate_recipients=%ld removed",
		    t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-", t->line, n);
}

/* "name:line: MAIL address: reason" into err; 0 or -1. */
static int
txn_norm(struct txn *t, const char *name, char *err, size_t errsz)
{
	char why[400];
	unsigned fl = ADDR_UNQUAL_OK | (t->smtputf8 ? ADDR_UTF8 : 0);
	size_t i;

	if (addr_norm(&t->from, fl | ADDR_NULL_OK, why, sizeof why) < 0) {
		snprintf(err, errsz, "%s:%lu: MAIL address: %s", name, t->line, why);
		return -1;
	}
	for (i = 0; i < t->nrcpt; i++) {
		if (addr_norm(&t->rcpt[i].addr, fl, why, sizeof why) < 0) {
			snprintf(err, errsz, "%s:%lu: RCPT address: %s", name,
			    t->rcpt[i].line, why);
			return -1;
		}
	}
	txn_norm_dedupe(t);
	return 0;
}

/* ---- bodies ---------------------------------------------------------- */

static const char *
qid_of(const struct txn *t)
{
	return t->xf[XF_IDENT] ? t->xf[XF_IDENT] : "-";
}

/*
 * Write the envelope, then the body held in the body spool.  SIZE is an
 * estimate (RFC 1870): one below the real size is raised to it, and an
 * 8-bit body is marked BODY=8BITMIME, so the next hop is told the truth.
 */
static void
emit(struct txn *t, unsigned long long size, int eight, int warn)
{
	if (eight && t->body != BODY_8BITMIME) {
		if (warn)
			log_warn("qid=%s line=%lu 8-bit body without "
			    "BODY=8BITMIME: marked BODY=8BITMIME", qid_of(t), t->line);
		t->body = BODY_8BITMIME;
	}
	if (t->has_size && size > t->size) {
		if (warn && size - t->size > t->size / 10 &&
		    size - t->size > 4096)
			log_warn("qid=%s line=%lu SIZE=%llu but the message has "
			    "%llu octets: SIZE raised", qid_of(t), t->line,
			    t->size, size);
		t->size = size;
	}
	if (stream_write_head(&out, t) < 0)
		die_sys("unable to write");
	if (spool_write_stream(&bsp, &out) < 0)
		die_sys("unable to copy a body through a temporary file");
}

/* ---- filter mode ---------------------------------------------------- */

static void
filter(void)
{
	struct stream_reader r;
	struct txn t;
	const char *l;
	size_t n;
	char err[700];
	int rc, rf, eight;

	if (stream_reader_init(&r, 0, "stdin") < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&r, &t)) == 1) {
		if (txn_norm(&t, r.name, err, sizeof err) < 0)
			die(100, "%s", err);
		if (t.body == BODY_8BITMIME && !t.has_size) {
			/* Nothing in the envelope depends on the body. */
			if (stream_write_head(&out, &t) < 0)
				die_sys("unable to write");
			if (stream_copy_body(&r, &out, &rf) < 0) {
				if (rf)
					die(r.exit_code, "%s", r.err);
				die_sys("unable to write");
			}
			continue;
		}
		eight = 0;
		body_reset();
		while ((rc = stream_read_line(&r, &l, &n)) == 1) {
			eight |= text_has8bit(l, n);
			if (spool_write_line(&bsp, l, n) < 0)
				die_sys("unable to write a temporary file");
		}
		if (rc < 0)
			die(r.exit_code, "%s", r.err);
		emit(&t, r.body_bytes, eight, 1);
	}
	if (rc < 0)
		die(r.exit_code, "%s", r.err);
	txn_free(&t);
	stream_reader_free(&r);
	output_commit();
}

/* ---- importers: reading source files -------------------------------- */

struct src {
	struct rbuf in;
	int fd;
	char path[4096];
	unsigned long line;
	unsigned long long off;	/* offset of the next unread octet */
};

static int
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

static void
src_close(struct src *s)
{
	rbuf_free(&s->in);
	close(s->fd);
}

/*
 * Next line without its line end (LF or CRLF; a last line may lack it).
 * Returns 1, 0 at end, or -2 when the line is longer than max octets, in
 * which case all of it has been consumed.  A read error is fatal.
 */
static int
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

/* A message on its way from a source file into the body spool. */
struct msg {
	int headers;		/* still in the header section */
	int filter;		/* look at headers: capture and drop */
	int drop;		/* dropping the current header field */
	int cap;		/* captured field being continued, or -1 */
	char hv[3][HDR_VAL_MAX + 1];	/* Return-Path, Delivered-To, X-Original-To */
	size_t hl[3];
	int have[3];
	unsigned long blanks;	/* empty lines held back (mbox separator) */
	unsigned long long size;
	int eight;
};

static const char *const cap_names[3] = {
	"Return-Path:", "Delivered-To:", "X-Original-To:",
};

static void
msg_init(struct msg *m, int filter_headers)
{
	memset(m, 0, sizeof *m);
	m->headers = 1;
	m->filter = filter_headers;
	m->cap = -1;
	body_reset();
}

static void
msg_put(struct msg *m, const char *l, size_t n)
{
	m->eight |= text_has8bit(l, n);
	m->size += n + 2;
	if (spool_write_line(&bsp, l, n) < 0)
		die_sys("unable to write a temporary file");
}

static void
hv_append(struct msg *m, int i, const char *s, size_t n)
{
	if (m->hl[i] + n > HDR_VAL_MAX)
		n = HDR_VAL_MAX - m->hl[i];
	memcpy(m->hv[i] + m->hl[i], s, n);
	m->hl[i] += n;
	m->hv[i][m->hl[i]] = '\0';
}

/*
 * One line of the message.  In the header section, the first Return-Path:,
 * Delivered-To: and X-Original-To: are remembered, and Return-Path: is
 * removed: final delivery adds it again (RFC 5321 4.4).
 */
static void
msg_line(struct msg *m, const char *l, size_t n)
{
	int i;

	if (n == 0) {
		m->headers = 0;
		m->blanks++;
		return;
	}
	if (m->headers && m->filter) {
		if (l[0] == ' ' || l[0] == '\t') {
			if (m->cap >= 0)
				hv_append(m, m->cap, l, n);
			if (m->drop)
				return;
		} else {
			m->drop = 0;
			m->cap = -1;
			for (i = 0; i < 3; i++) {
				size_t k = strlen(cap_names[i]);

				if (n < k || strncasecmp(l, cap_names[i], k) != 0)
					continue;
				if (!m->have[i]) {
					m->have[i] = 1;
					m->cap = i;
					hv_append(m, i, l + k, n - k);
				}
				if (i == 0) {
					m->drop = 1;
					return;
				}
			}
		}
	}
	for (; m->blanks > 0; m->blanks--)
		msg_put(m, "", 0);
	msg_put(m, l, n);
}

/* End of message; mbox drops the one empty line that separates messages. */
static void
msg_end(struct msg *m, int mbox)
{
	if (mbox && m->blanks > 0)
		m->blanks--;
	for (; m->blanks > 0; m->blanks--)
		msg_put(m, "", 0);
}

/* ---- importers: envelopes ------------------------------------------- */

static const char **rflags;
static size_t nrflags;

/*
 * An address as a spool writes it: "<a@b>" or "a@b", white space around.
 * Copies the content into out; -1 if it is malformed.
 */
static int
addr_text(const char *s, size_t n, char *dst, size_t dsz)
{
	long e;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n > 0 && s[0] == '<') {
		e = addr_path_end(s, n);
		if (e < 0 || (size_t)e != n - 1)
			return -1;
		s++;
		n -= 2;
	}
	if (n >= dsz || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static void
set_utf8(struct txn *t, const char *a)
{
	if (text_has8bit(a, strlen(a)))
		t->smtputf8 = 1;
}

static int
env_from(struct txn *t, const char *s, size_t n, unsigned long line)
{
	char a[ADDR_PATH_MAX + 1];

	if (addr_text(s, n, a, sizeof a) < 0)
		return -1;
	if (txn_set_from(t, a) < 0)
		die_nomem();
	set_utf8(t, a);
	t->line = line;
	return 0;
}

static int
env_rcpt(struct txn *t, const char *s, size_t n, unsigned long line)
{
	char a[ADDR_PATH_MAX + 1];
	struct rcpt *r;

	if (addr_text(s, n, a, sizeof a) < 0 || a[0] == '\0')
		return -1;
	if (t->nrcpt == STREAM_RCPT_MAX)
		return -1;
	if ((r = txn_add_rcpt(t, a)) == NULL)
		die_nomem();
	r->line = line;
	set_utf8(t, a);
	return 0;
}

static int
rcpts_from_flags(struct txn *t)
{
	size_t i;

	for (i = 0; i < nrflags; i++)
		if (env_rcpt(t, rflags[i], strlen(rflags[i]), 0) < 0)
			return -1;
	return 0;
}

/* ---- importers: the malformed folder and removal --------------------- */

static const char *baddir;
static int remove_sources;
static char **done;		/* sources to remove after the commit */
/* What each source was when it was read: removed only if still that. */
static struct done_id {
	dev_t dev;
	ino_t ino;
	off_t size;
} *done_id;
static size_t ndone, adone;
static unsigned long n_ok, n_bad;

static void
bad_dir_make(void)
{
	if (mkdir_p(baddir, 0750) < 0)
		die_sys("unable to create %s", baddir);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Create a new file in the malformed folder named after base; its fd. */
static int
bad_create(const char *base, char *path, size_t size)
{
	int fd, i;

	bad_dir_make();
	for (i = 0; i < 10000; i++) {
		int k = i == 0 ? snprintf(path, size, "%s/%s", baddir, base) :
		    snprintf(path, size, "%s/%s.%d", baddir, base, i);

		if (k < 0 || (size_t)k >= size)
			die(111, "%s: name too long", baddir);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Copy octets [from, to) of fd into dst. */
static void
copy_range(int fd, unsigned long long from, unsigned long long to, int dst,
    const char *what)
{
	char buf[BUF_SIZE];
	ssize_t k;

	while (from < to) {
		size_t want = to - from > sizeof buf ? sizeof buf : (size_t)(to - from);

		k = pread(fd, buf, want, (off_t)from);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die_sys("unable to read %s", what);
		if (k == 0)
			break;
		if (write_all(dst, buf, (size_t)k) < 0)
			die_sys("unable to write into %s", baddir);
		from += (unsigned long long)k;
	}
}

/*
 * Move a source file into the malformed folder without replacing anything
 * there; across file systems, copy, sync, then remove.
 */
static void
bad_move(const char *src, char *dst, size_t dsz)
{
	int i, fd, sfd;
	struct stat st;

	bad_dir_make();
	for (i = 0; i < 10000; i++) {
		int k = i == 0 ? snprintf(dst, dsz, "%s/%s", baddir, base_name(src)) :
		    snprintf(dst, dsz, "%s/%s.%d", baddir, base_name(src), i);

		if (k < 0 || (size_t)k >= dsz)
			die(111, "%s: name too long", baddir);
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
			if (fsync_dir(dst, 0) < 0 || fsync_dir(src, 0) < 0)
				die_sys("unable to sync %s", baddir);
			return;
		}
		if (errno == EEXIST)
			continue;
		if (errno != EXDEV && errno != EINVAL)
			die_sys("unable to move %s to %s", src, baddir);
		break;
	}
	if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(sfd, &st) < 0)
		die_sys("unable to open %s", src);
	if ((fd = bad_create(base_name(src), dst, dsz)) < 0)
		die_sys("unable to create a file in %s", baddir);
	copy_range(sfd, 0, (unsigned long long)st.st_size, fd, src);
	if (fsync(fd) < 0 || close(fd) < 0 || fsync_dir(dst, 0) < 0)
		die_sys("unable to write %s", dst);
	close(sfd);
	if (unlink(src) < 0)
		die_sys("unable to remove %s", src);
}

static void
malformed(const char *src, const char *reason)
{
	char dst[4096 + 64];

	bad_move(src, dst, sizeof dst);
	log_info("malformed source=%s moved=%s reason=\"%s\"", src, dst, reason);
	n_bad++;
}

/*
 * A source to remove (with -d) once the output is safe.  read_size is how
 * many octets were imported from it, or -1 for "its size now"; a source
 * that has grown or been replaced meanwhile (mail appended to a live mbox)
 * is left in place.
 */
static void
done_add_read(const char *path, long long read_size)
{
	struct stat st;

	if (ndone == adone) {
		size_t n = adone ? adone * 2 : 64;
		char **p = realloc(done, n * sizeof *p);
		struct done_id *q = realloc(done_id, n * sizeof *q);

		if (p != NULL)
			done = p;
		if (q != NULL)
			done_id = q;
		if (p == NULL || q == NULL)
			die_nomem();
		adone = n;
	}
	memset(&done_id[ndone], 0, sizeof done_id[ndone]);
	if (stat(path, &st) == 0) {
		done_id[ndone].dev = st.st_dev;
		done_id[ndone].ino = st.st_ino;
		done_id[ndone].size = read_size >= 0 ? (off_t)read_size : st.st_size;
	} else
		done_id[ndone].size = -1;	/* gone already: nothing to remove */
	if ((done[ndone++] = strdup(path)) == NULL)
		die_nomem();
}

static void
done_add(const char *path)
{
	done_add_read(path, -1);
}

/* After the output is safe: remove what was imported (with -d). */
static void
done_remove(void)
{
	size_t i;

	for (i = 0; i < ndone; i++) {
		struct stat st;

		if (!remove_sources)
			break;
		if (lstat(done[i], &st) == 0 && (st.st_dev != done_id[i].dev ||
		    st.st_ino != done_id[i].ino || st.st_size != done_id[i].size)) {
			log_warn("source=%s changed while it was imported: left in place",
			    done[i]);
			continue;
		}
		if (unlink(done[i]) < 0 && errno != ENOENT)
			die_sys("unable to remove %s", done[i]);
		/* Sync each folder once, after its last removal. */
		if ((i + 1 == ndone || base_name(done[i]) - done[i] !=
		    base_name(done[i + 1]) - done[i + 1] ||
		    strncmp(done[i], done[i + 1],
		    (size_t)(base_name(done[i]) - done[i])) != 0) &&
		    fsync_dir(done[i], 0) < 0)
			die_sys("unable to sync the folder of %s", done[i]);
	}
	for (i = 0; i < ndone; i++)
		free(done[i]);
	free(done_id);
	done_id = NULL;
	free(done);
	done = NULL;
	ndone = adone = 0;
}

/*
 * Validate the envelope, then write the transaction.  Returns 0, or -1
 * with the reason in err.
 */
static int
import_emit(struct txn *t, struct msg *m, const char *name, char *err,
    size_t errsz)
{
	if (t->from == NULL) {
		snprintf(err, errsz, "%s: no sender", name);
		return -1;
	}
	if (t->nrcpt == 0) {
		snprintf(err, errsz, "%s: no recipients", name);
		return -1;
	}
	if (txn_norm(t, name, err, errsz) < 0)
		return -1;
	emit(t, m->size, m->eight, 0);
	n_ok++;
	return 0;
}

/*
 * The end of a message that is one file: emit it unless it is already
 * bad, then free its envelope and set the file aside as malformed or
 * mark it done.
 */
static void
import_file_end(struct txn *t, struct msg *m, const char *path, int bad,
    char *err, size_t errsz)
{
	if (!bad)
		bad = import_emit(t, m, path, err, errsz) < 0;
	txn_free(t);
	if (bad)
		malformed(path, err);
	else
		done_add(path);
}

/* The message part of a source, from s's current position to its end. */
static int
import_body(struct src *s, struct msg *m, char *err, size_t errsz)
{
	const char *l;
	size_t n;
	int rc;

	while ((rc = src_line(s, &l, &n, STREAM_TEXT_MAX)) == 1)
		msg_line(m, l, n);
	if (rc == -2) {
		snprintf(err, errsz, "%s:%lu: text line longer than %d octets",
		    s->path, s->line, STREAM_TEXT_MAX - 2);
		return -1;
	}
	msg_end(m, 0);
	return 0;
}

/* ---- importers: the formats ------------------------------------------ */

static int
has_suffix(const char *name, const char *suf)
{
	size_t n = strlen(name), k = strlen(suf);

	return n > k && strcasecmp(name + n - k, suf) == 0;
}

static int
not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Entries of dir in version order (12.WRK before 100.WRK). */
static int
list_dir(const char *dir, struct dirent ***ents)
{
	int n = scandir(dir, ents, not_hidden, versionsort);

	if (n < 0)
		die_sys("unable to read %s", dir);
	return n;
}

static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * SMTPSERV: NNN.WRK holds "From: addr" and a "To: addr" per recipient,
 * NNN.TXT the message.  The .WRK is renamed into place last, so a .TXT
 * without a .WRK is still being written and is left alone.
 */
static void
import_smtpserv(const char *dir)
{
	struct dirent **ents;
	int i, n = list_dir(dir, &ents);

	for (i = 0; i < n; i++) {
		char wrk[4096], txt[4096], err[4400];
		const char *l;
		size_t len, bl;
		struct src s;
		struct txn t;
		struct msg m;
		int rc, bad = 0;

		if (!has_suffix(ents[i]->d_name, ".wrk") ||
		    path_join(wrk, sizeof wrk, dir, ents[i]->d_name) < 0 ||
		    !is_file(wrk))
			goto next;
		bl = strlen(wrk) - 4;
		memcpy(txt, wrk, bl);
		strcpy(txt + bl, wrk[bl + 1] == 'W' ? ".TXT" : ".txt");
		if (!is_file(txt)) {
			strcpy(txt + bl, wrk[bl + 1] == 'W' ? ".txt" : ".TXT");
			if (!is_file(txt)) {
				snprintf(err, sizeof err, "%s: no message file %.*s.TXT",
				    wrk, (int)bl, wrk);
				malformed(wrk, err);
				goto next;
			}
		}
		txn_init(&t);
		if (src_open(&s, wrk) < 0)
			die_sys("unable to open %s", wrk);
		while (!bad && (rc = src_line(&s, &l, &len, ENV_LINE_MAX)) != 0) {
			if (rc == -2) {
				snprintf(err, sizeof err, "%s:%lu: line longer than %d "
				    "octets", wrk, s.line, ENV_LINE_MAX - 2);
				bad = 1;
			} else if (len == 0)
				;
			else if (len >= 5 && strncasecmp(l, "From:", 5) == 0) {
				if (t.from != NULL || env_from(&t, l + 5, len - 5, s.line) < 0) {
					snprintf(err, sizeof err, "%s:%lu: %s", wrk, s.line,
					    t.from && t.line != s.line ? "second From: line" :
					    "malformed From: address");
					bad = 1;
				}
			} else if (len >= 3 && strncasecmp(l, "To:", 3) == 0) {
				if (env_rcpt(&t, l + 3, len - 3, s.line) < 0) {
					snprintf(err, sizeof err, "%s:%lu: malformed To: "
					    "address or more than %d recipients", wrk,
					    s.line, STREAM_RCPT_MAX);
					bad = 1;
				}
			} else {
				snprintf(err, sizeof err, "%s:%lu: neither From: nor To:",
				    wrk, s.line);
				bad = 1;
			}
		}
		src_close(&s);
		msg_init(&m, 0);
		if (!bad) {
			if (src_open(&s, txt) < 0)
				die_sys("unable to open %s", txt);
			bad = import_body(&s, &m, err, sizeof err) < 0;
			src_close(&s);
		}
		if (!bad)
			bad = import_emit(&t, &m, wrk, err, sizeof err) < 0;
		txn_free(&t);
		if (bad) {
			malformed(wrk, err);
			malformed(txt, err);
		} else {
			/* The .WRK first: a lone .TXT is what an unfinished one looks like. */
			done_add(wrk);
			done_add(txt);
		}
next:
		free(ents[i]);
	}
	free(ents);
}

/* MS SMTP drop folder: x-sender: and x-receiver: lines lead each .eml. */
static void
import_eml(const char *dir)
{
	struct dirent **ents;
	int i, n = list_dir(dir, &ents);

	for (i = 0; i < n; i++) {
		char path[4096], err[4400];
		const char *l;
		size_t len;
		struct src s;
		struct txn t;
		struct msg m;
		int rc, bad = 0;

		if (!has_suffix(ents[i]->d_name, ".eml") ||
		    path_join(path, sizeof path, dir, ents[i]->d_name) < 0 ||
		    !is_file(path))
			goto next;
		txn_init(&t);
		msg_init(&m, 0);
		if (src_open(&s, path) < 0)
			die_sys("unable to open %s", path);
		while ((rc = src_line(&s, &l, &len, STREAM_TEXT_MAX)) == 1) {
			if (len >= 9 && strncasecmp(l, "x-sender:", 9) == 0) {
				if (t.from != NULL || env_from(&t, l + 9, len - 9, s.line) < 0) {
					snprintf(err, sizeof err, "%s:%lu: %s", path, s.line,
					    t.from && t.line != s.line ?
					    "second x-sender: line" : "malformed x-sender: address");
					bad = 1;
					break;
				}
			} else if (len >= 11 && strncasecmp(l, "x-receiver:", 11) == 0) {
				if (env_rcpt(&t, l + 11, len - 11, s.line) < 0) {
					snprintf(err, sizeof err, "%s:%lu: malformed x-receiver: "
					    "address or more than %d recipients", path, s.line,
					    STREAM_RCPT_MAX);
					bad = 1;
					break;
				}
			} else {
				msg_line(&m, l, len);
				break;
			}
		}
		if (!bad && rc == -2) {
			snprintf(err, sizeof err, "%s:%lu: text line longer than %d octets",
			    path, s.line, STREAM_TEXT_MAX - 2);
			bad = 1;
		}
		if (!bad && rc == 1)
			bad = import_body(&s, &m, err, sizeof err) < 0;
		else if (!bad)
			msg_end(&m, 0);
		src_close(&s);
		import_file_end(&t, &m, path, bad, err, sizeof err);
next:
		free(ents[i]);
	}
	free(ents);
}

/*
 * The recipients of a message from a mailbox: -r if given, else the first
 * Delivered-To:, else the first X-Original-To:.
 */
static int
mailbox_rcpts(struct txn *t, struct msg *m)
{
	if (nrflags > 0)
		return rcpts_from_flags(t);
	if (m->have[1])
		return env_rcpt(t, m->hv[1], m->hl[1], 0);
	if (m->have[2])
		return env_rcpt(t, m->hv[2], m->hl[2], 0);
	return -1;
}

/* Maildir: new/ and cur/; the sender from Return-Path:. */
static void
import_maildir_sub(const char *dir, const char *sub)
{
	char d[4096];
	struct dirent **ents;
	int i, n;

	if (path_join(d, sizeof d, dir, sub) < 0)
		die(100, "%s: name too long", dir);
	n = list_dir(d, &ents);
	for (i = 0; i < n; i++) {
		char path[4096], err[4400];
		struct src s;
		struct txn t;
		struct msg m;
		int bad = 0;

		if (path_join(path, sizeof path, d, ents[i]->d_name) < 0 ||
		    !is_file(path))
			goto next;
		txn_init(&t);
		msg_init(&m, 1);
		if (src_open(&s, path) < 0)
			die_sys("unable to open %s", path);
		bad = import_body(&s, &m, err, sizeof err) < 0;
		src_close(&s);
		if (!bad && !m.have[0]) {
			snprintf(err, sizeof err, "%s: no Return-Path: header for the "
			    "sender", path);
			bad = 1;
		}
		if (!bad && env_from(&t, m.hv[0], m.hl[0], 0) < 0) {
			snprintf(err, sizeof err, "%s: malformed Return-Path: header",
			    path);
			bad = 1;
		}
		if (!bad && mailbox_rcpts(&t, &m) < 0) {
			snprintf(err, sizeof err, "%s: no recipient (no -r, no "
			    "Delivered-To: or X-Original-To: header, or a malformed "
			    "one)", path);
			bad = 1;
		}
		import_file_end(&t, &m, path, bad, err, sizeof err);
next:
		free(ents[i]);
	}
	free(ents);
}

static int
is_from_(const char *l, size_t n)
{
	return n >= 5 && memcmp(l, "From ", 5) == 0;
}

/* Sender of a From_ line: "From addr date"; MAILER-DAEMON is <>. */
static int
from_line_sender(struct txn *t, const char *l, size_t n, unsigned long line)
{
	size_t i = 5, k;

	while (i < n && l[i] == ' ')
		i++;
	for (k = i; k < n && l[k] != ' ' && l[k] != '\t'; k++)
		;
	if (k == i)
		return -1;
	if (k - i == 13 && strncasecmp(l + i, "MAILER-DAEMON", 13) == 0)
		return env_from(t, "", 0, line);
	return env_from(t, l + i, k - i, line);
}

/*
 * mbox: a From_ line starts each message; mboxrd quoting (">From ",
 * ">>From " ...) loses one '>'.  A message that cannot be converted is
 * copied, From_ line and all, into the malformed folder.
 */
static void
import_mbox(const char *file)
{
	struct src s;
	struct txn t;
	struct msg m;
	const char *l;
	size_t n;
	unsigned long long start = 0;
	unsigned long nmsg = 0;
	char err[4400];
	int rc, bad = 0, in_msg = 0;

	if (src_open(&s, file) < 0)
		die_sys("unable to open %s", file);
	txn_init(&t);
	msg_init(&m, 1);
	for (;;) {
		unsigned long long here = s.off;

		rc = src_line(&s, &l, &n, STREAM_TEXT_MAX);
		if (rc != 0 && !(rc == 1 && is_from_(l, n)) && !in_msg) {
			/* Text before the first From_ line. */
			snprintf(err, sizeof err, "%s:%lu: not an mbox: no From_ line",
			    file, s.line);
			bad = 1;
			in_msg = 1;
			nmsg++;
			start = here;
		}
		if (rc == 0 || (rc == 1 && is_from_(l, n))) {
			if (in_msg) {
				msg_end(&m, 1);
				if (!bad && mailbox_rcpts(&t, &m) < 0) {
					snprintf(err, sizeof err, "%s:%lu: no recipient (no -r, "
					    "no Delivered-To: or X-Original-To: header, or a "
					    "malformed one)", file, t.line);
					bad = 1;
				}
				if (!bad)
					bad = import_emit(&t, &m, file, err, sizeof err) < 0;
				if (bad) {
					char dst[4096 + 64], base[300];
					int fd;

					snprintf(base, sizeof base, "%.200s.%lu",
					    base_name(file), nmsg);
					if ((fd = bad_create(base, dst, sizeof dst)) < 0)
						die_sys("unable to create a file in %s", baddir);
					copy_range(s.fd, start, here, fd, file);
					if (fsync(fd) < 0 || close(fd) < 0 ||
					    fsync_dir(dst, 0) < 0)
						die_sys("unable to write %s", dst);
					log_info("malformed source=%s message=%lu copied=%s "
					    "reason=\"%s\"", file, nmsg, dst, err);
					n_bad++;
				}
			}
			if (rc == 0)
				break;
			txn_free(&t);
			msg_init(&m, 1);
			bad = 0;
			in_msg = 1;
			nmsg++;
			start = here;
			if (from_line_sender(&t, l, n, s.line) < 0) {
				snprintf(err, sizeof err, "%s:%lu: malformed From_ line",
				    file, s.line);
				bad = 1;
			}
			continue;
		}
		if (rc == -2) {
			if (!bad)
				snprintf(err, sizeof err, "%s:%lu: text line longer than "
				    "%d octets", file, s.line, STREAM_TEXT_MAX - 2);
			bad = 1;
			continue;
		}
		if (bad)
			continue;
		if (n > 5 && l[0] == '>') {
			size_t k = 0;

			while (k < n && l[k] == '>')
				k++;
			if (n - k >= 5 && memcmp(l + k, "From ", 5) == 0)
				l++, n--;
		}
		msg_line(&m, l, n);
	}
	txn_free(&t);
	done_add_read(file, (long long)s.off);
	src_close(&s);
}

/* The default malformed folder: "malformed" beside the source. */
static void
bad_default(const char *src, int is_dir)
{
	static char buf[4096];
	char tmp[4096];
	size_t n;

	if (snprintf(tmp, sizeof tmp, "%s", src) >= (int)sizeof tmp)
		die(100, "%s: name too long", src);
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	if (is_dir) {
		if (snprintf(buf, sizeof buf, "%.*s/../malformed",
		    (int)(sizeof tmp - 32), tmp) >= (int)sizeof buf)
			die(100, "%s: name too long", src);
	} else {
		char *sl = strrchr(tmp, '/');

		if (sl == NULL)
			snprintf(buf, sizeof buf, "malformed");
		else
			snprintf(buf, sizeof buf, "%.*s/malformed", (int)(sl - tmp), tmp);
	}
	baddir = buf;
}

int
main(int argc, char **argv)
{
	const char *src = NULL, *q;
	int c, mode = 0;

	log_init(argv[0]);
	if ((rflags = calloc(RFLAG_MAX, sizeof *rflags)) == NULL)
		die_nomem();
	while ((c = getopt(argc, argv, "b:de:m:M:r:w:")) != -1) {
		switch (c) {
		case 'b': baddir = optarg; break;
		case 'd': remove_sources = 1; break;
		case 'e': case 'm': case 'M': case 'w':
			if (mode != 0)
				usage();
			mode = c;
			src = optarg;
			break;
		case 'r':
			if (nrflags == RFLAG_MAX)
				die(100, "more than %d -r recipients", RFLAG_MAX);
			rflags[nrflags++] = optarg;
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (mode == 0 && (baddir || remove_sources || nrflags))
		usage();
	if (nrflags && mode != 'm' && mode != 'M')
		die(100, "-r is for -m and -M only: the other formats name their recipients");

	q = conf_get("qualify_domain", NULL);
	if (q == NULL)
		q = conf_hostname();
	if (strlen(q) > ADDR_DOMAIN_MAX || !domain_valid(q, strlen(q), 0))
		die(111, "qualify_domain is not a valid domain: %s", q);
	strcpy(qualify, q);
	addr_lower(qualify);
	writers_init();

	if (mode == 0) {
		filter();
		return 0;
	}
	if (baddir == NULL)
		bad_default(src, mode != 'm');
	switch (mode) {
	case 'w': import_smtpserv(src); break;
	case 'e': import_eml(src); break;
	case 'M':
		import_maildir_sub(src, "new");
		import_maildir_sub(src, "cur");
		break;
	case 'm': import_mbox(src); break;
	}
	output_commit();
	done_remove();
	log_info("imported=%lu malformed=%lu source=%s%s", n_ok, n_bad, src,
	    remove_sources ? " removed=yes" : "");
	return 0;
}
