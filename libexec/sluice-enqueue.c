/*
 * sluice-enqueue: the only writer of new messages into the queue.
 * Reads a stream on standard input and files each transaction as one
 * queue file: tmp/ID, fsync, then (after the whole input) rename each into
 * incoming/ and fsync incoming/ once.  All or nothing: if anything fails,
 * nothing of this input stays in the queue.  See sluice-enqueue(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "qid.h"
#include "stream.h"

struct entry {
	char qid[QID_LEN + 1];
	char from[ADDR_PATH_MAX + 1];
	size_t nrcpt;
	unsigned long long size;
	int renamed;
};

static struct entry *ent;
static size_t nent, aent;
static int spool_fd = -1;

/*
 * Mail submitted by root (sendmail run by root, a cron job) must still be
 * readable by the runner, which runs as the spool's owner: give the file
 * to that owner.  A spool owned by root needs nothing.
 */
static void give_to_spool_owner(int fd, const char *qid);
static int give_dir_to_spool_owner(const char *sub);
static const char *spool;

/* Remove what this run wrote; the input is not accepted. */
static void __attribute__((noreturn))
fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(int code, const char *fmt, ...)
{
	char msg[1024], name[64];
	va_list ap;
	size_t i;

	for (i = 0; i < nent; i++) {
		snprintf(name, sizeof name, "%s/%s", ent[i].renamed ? "incoming" :
		    "tmp", ent[i].qid);
		unlinkat(spool_fd, name, 0);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die(code, "%s", msg);
}

static int
in_use(const char *qid)
{
	char name[64];

	snprintf(name, sizeof name, "incoming/%s", qid);
	if (faccessat(spool_fd, name, F_OK, AT_EACCESS) == 0)
		return 1;
	snprintf(name, sizeof name, "deferred/%s", qid);
	return faccessat(spool_fd, name, F_OK, AT_EACCESS) == 0;
}

static int
create_tmp(const char *qid)
{
	char name[64];
	int fd;

	snprintf(name, sizeof name, "tmp/%s", qid);
	fd = openat(spool_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* A fresh spool: make the two folders this program needs. */
		char p[4096];

		if (path_join(p, sizeof p, spool, "tmp") < 0 || mkdir_p(p, 0700) < 0 ||
		    give_dir_to_spool_owner("tmp") < 0 ||
		    path_join(p, sizeof p, spool, "incoming") < 0 ||
		    mkdir_p(p, 0700) < 0 || give_dir_to_spool_owner("incoming") < 0)
			return -1;
		fd = openat(spool_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	}
	return fd;
}

/* Copy one transaction, whose envelope is read, into a new tmp file. */
static void
store(struct stream_reader *r, struct txn *t)
{
	struct stream_writer w;
	struct entry *e;
	const char *id = t->xf[XF_IDENT];
	int fd, rfail = 0;

	if (nent == aent) {
		size_t n = aent ? aent * 2 : 16;
		struct entry *p = realloc(ent, n * sizeof *p);

		if (p == NULL)
			fail(111, "out of memory");
		ent = p;
		aent = n;
	}
	e = &ent[nent];
	memset(e, 0, sizeof *e);
	if (id != NULL && qid_valid(id) && !in_use(id))
		memcpy(e->qid, id, QID_LEN + 1);
	else
		qid_make(e->qid);
	while ((fd = create_tmp(e->qid)) < 0 && errno == EEXIST)
		qid_make(e->qid);
	if (fd < 0)
		fail(111, "unable to create %s/tmp/%s: %s", spool, e->qid,
		    strerror(errno));
	nent++;
	give_to_spool_owner(fd, e->qid);
	if (txn_set_xf(t, XF_IDENT, e->qid) < 0)
		fail(111, "out of memory");
	snprintf(e->from, sizeof e->from, "%s", t->from ? t->from : "");
	e->nrcpt = t->nrcpt;
	if (stream_writer_init(&w, fd, 0) < 0)
		fail(111, "out of memory");
	if (stream_write_head(&w, t) < 0 ||
	    stream_copy_body(r, &w, &rfail) < 0) {
		if (rfail)
			fail(r->exit_code, "%s", r->err);
		fail(111, "unable to write %s/tmp/%s: %s", spool, e->qid,
		    strerror(errno));
	}
	e->size = r->body_bytes;
	if (stream_flush(&w) < 0 || fsync(fd) < 0 || close(fd) < 0)
		fail(111, "unable to write %s/tmp/%s: %s", spool, e->qid,
		    strerror(errno));
	stream_writer_free(&w);
}

/* The same for a folder this program had to make: 0, or -1 with errno. */
static int
give_dir_to_spool_owner(const char *sub)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (fstat(spool_fd, &st) < 0)
		return -1;
	if (st.st_uid == 0)
		return 0;
	return fchownat(spool_fd, sub, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
}

static void
give_to_spool_owner(int fd, const char *qid)
{
	static int checked;
	static struct stat st;

	if (geteuid() != 0)
		return;
	if (!checked) {
		if (fstat(spool_fd, &st) < 0)
			fail(111, "unable to stat %s: %s", spool, strerror(errno));
		checked = 1;
	}
	if (st.st_uid != 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		fail(111, "unable to give %s/tmp/%s to the spool's owner: %s",
		    spool, qid, strerror(errno));
}

/* One byte into the FIFO wakes sluice-runq; no reader means no runner. */
static void
wake_runner(void)
{
	int fd = openat(spool_fd, "trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)!write(fd, "", 1);
	close(fd);
}

int
main(int argc, char **argv)
{
	struct stream_reader r;
	struct txn t;
	char name[64], name2[64];
	size_t i;
	int rc, dfd;

	(void)argc;
	log_init(argv[0]);
	spool = conf_spool();
	spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool_fd < 0 && errno == ENOENT && mkdir_p(spool, 0700) == 0)
		spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool_fd < 0)
		die_sys("unable to open the queue %s", spool);
	if (stream_reader_init(&r, 0, "stdin") < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&r, &t)) == 1)
		store(&r, &t);
	if (rc < 0)
		fail(r.exit_code, "%s", r.err);
	if (nent == 0)
		return 0;
	for (i = 0; i < nent; i++) {
		snprintf(name, sizeof name, "tmp/%s", ent[i].qid);
		snprintf(name2, sizeof name2, "incoming/%s", ent[i].qid);
		if (renameat(spool_fd, name, spool_fd, name2) < 0)
			fail(111, "unable to move %s into %s/incoming: %s", name,
			    spool, strerror(errno));
		ent[i].renamed = 1;
	}
	dfd = openat(spool_fd, "incoming", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		fail(111, "unable to sync %s/incoming: %s", spool, strerror(errno));
	close(dfd);
	for (i = 0; i < nent; i++)
		log_info("qid=%s from=<%s> nrcpt=%zu size=%llu", ent[i].qid,
		    ent[i].from, ent[i].nrcpt, ent[i].size);
	wake_runner();
	return 0;
}
