/*
 * show: one message as postcat shows it: the envelope (the stream's
 * command lines, private parameters decoded for reading), the header
 * block, the body (dot-stuffing removed).  Any section alone with -e, -h
 * or -b; banners only when more than one is shown.  A read needs no lock:
 * the runner replaces files by rename, so a reader sees one whole file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "xtext.h"

/* Open qid in whichever folder holds it, or a path as given. */
static int
open_message(struct queue *q, const char *arg, char *where, size_t size)
{
	int d, fd;

	if (strchr(arg, '/') != NULL) {
		snprintf(where, size, "%s", arg);
		return open(arg, O_RDONLY | O_CLOEXEC);
	}
	if (strlen(arg) != QID_LEN || !qid_valid(arg)) {
		errno = EINVAL;
		return -1;
	}
	for (d = 0; d < Q_NDIRS; d++) {
		snprintf(where, size, "%s/%s", qfile_dirs[d], arg);
		if ((fd = openat(q->spool_fd, where, O_RDONLY | O_CLOEXEC)) >= 0 ||
		    errno != ENOENT)
			return fd;
	}
	errno = ENOENT;
	return -1;
}

/* The last errors of the recipients, decoded: what mailq shows. */
static void
print_defer(const struct txn *t)
{
	char dec[STREAM_XVAL_MAX + 1];
	const char *v;
	size_t i;

	for (i = 0; i < t->nrcpt; i++) {
		v = xparam_get(t->rcpt[i].x, t->rcpt[i].nx, "X-DEFER");
		if (v != NULL && xtext_decode(v, strlen(v), dec, sizeof dec) >= 0)
			printf("last error for <%s>: %s\n", t->rcpt[i].addr, dec);
	}
}

static void
print_env(const char *where, int fd, const struct txn *t, int banners)
{
	struct stream_writer w;
	struct stat st;
	char when[64];

	if (banners)
		printf("*** ENVELOPE %s ***\n", where);
	if (fstat(fd, &st) == 0 && strncmp(where, "deferred/", 9) == 0) {
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z",
		    localtime(&st.st_mtime));
		printf("next retry: %s\n", when);
	}
	fflush(stdout);
	if (stream_writer_init(&w, 1, 0) < 0)
		die_nomem();
	if (stream_write_head(&w, t) < 0 || stream_flush(&w) < 0)
		die_sys("unable to write");
	stream_writer_free(&w);
	print_defer(t);
}

/* The header block, then the body, each printed when asked for. */
static int
print_content(struct stream_reader *r, int what, int banners)
{
	const char *l;
	size_t n;
	int rc, in_hdr = 1;

	if (banners && (what & SHOW_HDR))
		printf("*** HEADER ***\n");
	while ((rc = stream_read_line(r, &l, &n)) == 1) {
		if (in_hdr && n == 0) {
			in_hdr = 0;
			if (banners && (what & SHOW_BODY))
				printf("*** BODY ***\n");
			continue;
		}
		if (what & (in_hdr ? SHOW_HDR : SHOW_BODY))
			printf("%.*s\n", (int)n, l);
	}
	if (banners)
		printf("*** END ***\n");
	return rc;
}

int
show_message(struct queue *q, const char *arg, int what)
{
	struct stream_reader r;
	struct txn t;
	char where[300];
	int fd, rc = 0, banners = what != SHOW_ENV && what != SHOW_HDR &&
	    what != SHOW_BODY;

	if ((fd = open_message(q, arg, where, sizeof where)) < 0) {
		log_warn("%.60s: %s", arg, errno == EINVAL ? "not a queue id" :
		    errno == ENOENT ? "no such message in the queue" : strerror(errno));
		return errno == EINVAL || errno == ENOENT ? EXIT_PERM : EXIT_TEMP;
	}
	if (stream_reader_init(&r, fd, where) < 0)
		die_nomem();
	txn_init(&t);
	if (stream_read_txn(&r, &t) != 1) {
		log_warn("%s: not a stream transaction: %s", where, r.err);
		rc = EXIT_PERM;
	} else {
		if (what & SHOW_ENV)
			print_env(where, fd, &t, banners);
		if ((what & (SHOW_HDR | SHOW_BODY)) && print_content(&r, what,
		    banners) < 0) {
			log_warn("%s", r.err);
			rc = r.exit_code;
		}
	}
	txn_free(&t);
	stream_reader_free(&r);
	close(fd);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_sys("unable to write");
	return rc;
}
