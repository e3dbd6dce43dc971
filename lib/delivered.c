#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "buf.h"
#include "delivered.h"
#include "qid.h"

/* A record is at most this big: 1000 recipients of 1000 octets, and more. */
#define RECORD_MAX (8u << 20)
/*
 * A run's record grows to about this size; then lines go to the per-id
 * records, so that reading it for each message stays cheap.
 */
#define RUN_MAX (64u << 10)

/* Whether a record is kept for qid: under sluice-runq, with a queue id. */
static const char *
record_dir(const char *qid)
{
	const char *dir = getenv("SLUICE_DELIVERED");

	if (dir == NULL || *dir == '\0' || qid == NULL || !qid_valid(qid))
		return NULL;
	return dir;
}

/* The record's file name for qid; -1 (ENAMETOOLONG) when it does not fit. */
static int
record_path(char *buf, size_t size, const char *dir, const char *qid)
{
	int n = snprintf(buf, size, "%s/%s", dir, qid);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * The run's record (SLUICE_DELIVERED_RUN), or NULL: one file the runner
 * keeps per chain, whose lines carry the queue id in front.
 */
static const char *
run_path(const char *qid)
{
	const char *p = getenv("SLUICE_DELIVERED_RUN");

	return record_dir(qid) != NULL && p != NULL && *p != '\0' ? p : NULL;
}

/* Room for need more octets in d->text (and a NUL); 0, or -1 with errno. */
static int
reserve(struct delivered *d, size_t need)
{
	size_t cap = d->cap ? d->cap : 8192;
	char *p;

	while (d->len + need + 1 > cap)
		cap *= 2;
	if (cap == d->cap)
		return 0;
	if (cap > RECORD_MAX + 8192) {
		errno = EFBIG;
		return -1;
	}
	if ((p = realloc(d->text, cap)) == NULL)
		return -1;
	d->text = p;
	d->cap = cap;
	return 0;
}

static int
read_fd(int fd, struct delivered *d)
{
	ssize_t r;

	for (;;) {
		if (reserve(d, 4096) < 0)
			return -1;
		r = read(fd, d->text + d->len, d->cap - d->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		d->len += (size_t)r;
	}
	d->text[d->len] = '\0';
	return 0;
}

/* Read the file at path into d (after what it holds); 0, or -1 with errno. */
static int
read_path(const char *path, struct delivered *d)
{
	int fd, e, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -1;
	rc = read_fd(fd, d);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/*
 * The lines of the run's record that are qid's, in the per-id form, after
 * what d holds.  A line cut by a crash is no record.
 */
static int
load_run(struct delivered *d, const char *path, const char *qid)
{
	/*
	 * Read for every message of a batch: its buffer is kept, as a
	 * malloc and free of 8 KiB or more is a mmap and a munmap with musl.
	 */
	static struct delivered run;
	size_t nq = strlen(qid), n;
	const char *p, *end, *nl;
	int rc;

	run.len = 0;
	rc = read_path(path, &run);
	end = run.text + run.len;
	for (p = run.text; rc == 0 && p != NULL && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if ((size_t)(nl - p) <= nq || memcmp(p, qid, nq) != 0 || p[nq] != '\t')
			continue;
		n = (size_t)(nl - p) - nq;	/* the line without "qid TAB", with LF */
		if (d->len + (size_t)(nl - p) + 3 > RECORD_MAX) {
			errno = EFBIG;
			rc = -1;
		} else if ((rc = reserve(d, n + 1)) == 0) {
			if (d->len > 0 && d->text[d->len - 1] != '\n')
				d->text[d->len++] = '\n';	/* a line cut by a crash stays alone */
			memcpy(d->text + d->len, p + nq + 1, n);
			d->len += n;
			d->text[d->len] = '\0';
		}
	}
	return rc;
}

int
delivered_load(struct delivered *d, const char *qid)
{
	const char *dir = record_dir(qid), *run = run_path(qid);
	char path[4096];
	int rc;

	d->len = 0;
	if (dir == NULL)
		return 0;
	if (record_path(path, sizeof path, dir, qid) < 0)
		return -1;
	rc = read_path(path, d);
	if (rc == 0 && run != NULL)
		rc = load_run(d, run, qid);
	if (rc < 0)
		d->len = 0;
	return rc;
}

int
delivered_room(const char *qid)
{
	const char *dir = record_dir(qid);
	struct statvfs st;

	if (dir == NULL)
		return 0;
	if (statvfs(dir, &st) < 0)
		return -1;
	if ((unsigned long long)st.f_bavail * st.f_frsize < DELIVERED_ROOM ||
	    (st.f_files > 0 && st.f_favail < 1)) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int
delivered_find(const struct delivered *d, const char *addr, const char *route)
{
	size_t na = strlen(addr), nr = route ? strlen(route) : 0;
	const char *p = d->text, *end = d->text + d->len, *nl;

	for (; p != NULL && p < end; p = nl ? nl + 1 : NULL) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;	/* a line cut by a crash is no record */
		if ((size_t)(nl - p) > na + nr + 2 && memcmp(p, addr, na) == 0 &&
		    p[na] == '\t' && memcmp(p + na + 1, route ? route : "", nr) == 0 &&
		    p[na + 1 + nr] == '\t')
			return atoi(p + na + nr + 2);
	}
	return -1;
}

/*
 * Whether the file ends in a line cut by a crash (no LF): what is added
 * after it must start a line of its own, or its first line is lost.
 */
static int
cut_line(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char c;

	return end > 0 && pread(fd, &c, 1, end - 1) == 1 && c != '\n';
}

/*
 * Write text with one write(2), so that its lines land whole, unless rc
 * is not 0 already; close fd.  rc, or -1 with errno.
 */
static int
write_close(int fd, int rc, const char *text, size_t len)
{
	int e;

	if (rc == 0)
		rc = write_all(fd, text, len);
	e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	errno = e;
	return rc;
}

/* Append lines to qid's record. */
static int
append(const char *qid, const char *text, size_t len)
{
	const char *dir = record_dir(qid);
	char path[4096];
	int fd;

	if (dir == NULL)
		return 0;
	if (record_path(path, sizeof path, dir, qid) < 0)
		return -1;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return -1;
	return write_close(fd, cut_line(fd) ? write_all(fd, "\n", 1) : 0, text,
	    len);
}

/*
 * Append to the run's record with one write(2), unless it holds
 * RUN_MAX octets already or is missing: 0 written, 1 not taken, -1 error.
 */
static int
append_run(const char *path, const char *text, size_t len)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 1 : -1;
	if ((rc = fstat(fd, &st)) == 0 && !S_ISREG(st.st_mode)) {
		errno = EINVAL;
		rc = -1;
	}
	if (rc == 0 && (unsigned long long)st.st_size + len > RUN_MAX)
		rc = 1;
	return write_close(fd, rc, text, len);
}

/* Add "[qid TAB] addr TAB route TAB flags LF" to buf; -1 with errno. */
static int
add_line(char **buf, size_t *len, size_t *cap, const char *qid,
    const char *addr, const char *route, int flags)
{
	size_t need = strlen(addr) + (route ? strlen(route) : 0) + QID_LEN + 17;
	int n;

	if (strpbrk(addr, "\t\n") != NULL || (route && strpbrk(route, "\t\n"))) {
		errno = EINVAL;
		return -1;
	}
	if (*len + need > *cap) {
		char *p;
		size_t c = *cap ? 2 * *cap : 1024;

		while (c < *len + need)
			c *= 2;
		if ((p = realloc(*buf, c)) == NULL)
			return -1;
		*buf = p;
		*cap = c;
	}
	n = snprintf(*buf + *len, *cap - *len, "%s%s%s\t%s\t%d\n", qid ? qid : "",
	    qid ? "\t" : "", addr, route ? route : "", flags);
	if (n < 0 || (size_t)n >= *cap - *len) {
		errno = EOVERFLOW;
		return -1;
	}
	*len += (size_t)n;
	return 0;
}

/* The lines of n addresses, with qid in front unless it is NULL. */
static int
make_lines(char **buf, size_t *len, size_t *cap, const char *qid,
    const char *const *addr, size_t n, const char *route, int flags)
{
	size_t i;

	*len = 0;
	for (i = 0; i < n; i++)
		if (add_line(buf, len, cap, qid, addr[i], route, flags) < 0)
			return -1;
	return 0;
}

int
delivered_mark(const char *qid, const char *addr, const char *route, int flags)
{
	return delivered_mark_all(qid, &addr, 1, route, flags);
}

/*
 * Into the run's record when there is one with room, else into qid's own:
 * delivered_load reads both.
 */
int
delivered_mark_all(const char *qid, const char *const *addr, size_t n,
    const char *route, int flags)
{
	const char *run = run_path(qid);
	/*
	 * Kept from one call to the next: with musl, a block allocated and
	 * freed per delivery is a mmap and a munmap.
	 */
	static char *buf;
	static size_t cap;
	size_t len = 0;
	int rc = 1;

	if (record_dir(qid) == NULL || n == 0)
		return 0;
	if (run != NULL) {
		rc = make_lines(&buf, &len, &cap, qid, addr, n, route, flags);
		if (rc == 0)
			rc = append_run(run, buf, len);
	}
	if (rc == 1) {
		rc = make_lines(&buf, &len, &cap, NULL, addr, n, route, flags);
		if (rc == 0)
			rc = append(qid, buf, len);
	}
	return rc;
}

void
delivered_free(struct delivered *d)
{
	d->cap = 0;
	free(d->text);
	d->text = NULL;
	d->len = 0;
}
