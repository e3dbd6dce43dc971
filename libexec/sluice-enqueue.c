/*
 * sluice-enqueue: the program that writes new messages into the queue
 * (with sluice-smtpd, which writes its own through the same lib/enqueue.c).
 * Reads a stream on standard input and files each transaction as one
 * queue file: tmp/ID (flock()ed while it is there), fsync, then (after
 * the whole input) rename each into incoming/ and fsync incoming/ once.
 * All or nothing: if anything fails, nothing of this input stays in the
 * queue.  See sluice-enqueue(8).
 *
 * Installed set-user-ID to the spool's owner, it is also how ordinary
 * users queue mail (sendmail runs it).  Then the caller is not trusted:
 * its environment is dropped, its envelope claims are replaced, its uid
 * is recorded, and message_size_limit holds.  See PRIVILEGE there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "enqueue.h"
#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "qid.h"
#include "stream.h"
#include "usage.h"

/* Transactions one input from an untrusted caller may hold. */
#define UNTRUSTED_TXN_MAX 10000

struct entry {
	char qid[QID_LEN + 1];
	char from[ADDR_PATH_MAX + 1];
	size_t nrcpt;
	unsigned long long size;
	int renamed;
	int fd;		/* the open, flock()ed tmp file; -1 once released */
};

static struct entry *ent;
static size_t nent, aent;
static size_t nreleased;	/* ent[0..nreleased) hold no lock (EMFILE) */
static int nofile_raised;	/* RLIMIT_NOFILE was raised once */
static struct enq_spool sp;	/* the spool folder: its owner's are the files */

/*
 * Set when an ordinary user runs this program through its set-ID bit:
 * then only the stream's format is trusted, not what it claims.
 */
static int untrusted;
/*
 * Set once a transaction says it is a local submission (sendmail's
 * XFORWARD SOURCE=LOCAL): then standard error is the submitter's, and the
 * log line goes to syslog, the administrator's log, instead.
 */
static int local_seen;
static unsigned long long size_limit;	/* 0: none (trusted callers) */

/*
 * Mail submitted by root (sendmail run by root, a cron job) must still be
 * readable by the runner, which runs as the spool's owner: give the file
 * to that owner.  A spool owned by root needs nothing.
 */
static void give_to_spool_owner(int fd, const char *qid);

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
		unlinkat(sp.fd, name, 0);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die(code, "%s", msg);
}

/*
 * Out of descriptors (an input of more transactions than the limit):
 * raise the soft limit to the hard one, once; then give up the lock of
 * the oldest file still held.  A runner starting meanwhile may remove
 * that file; the rename then fails and nothing of the input is queued
 * (111), as after any failure.  0 when a descriptor may be free now.
 */
static int
free_descriptor(void)
{
	struct rlimit rl;

	if (!nofile_raised) {
		nofile_raised = 1;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
				return 0;
		}
	}
	while (nreleased < nent && ent[nreleased].fd < 0)
		nreleased++;
	if (nreleased == nent)
		return -1;
	close(ent[nreleased].fd);
	ent[nreleased++].fd = -1;
	return 0;
}

/* A new tmp file for e, locked: its descriptor, or fail(). */
static int
new_tmp(struct entry *e)
{
	int fd;

	while ((fd = enq_new_tmp(&sp, e->qid)) < 0 && errno == EMFILE &&
	    free_descriptor() == 0)
		;
	if (fd < 0)
		fail(EXIT_TEMP, "unable to create %s/tmp/%s: %s", sp.path, e->qid,
		    strerror(errno));
	return fd;
}

/*
 * An untrusted caller's envelope claims nothing: the client facts of
 * XFORWARD say local submission, the queue id is new, and no AUTH= or
 * private X- parameter (X-ROUTE=pipe:..., X-NOTICE) comes through.
 */
static void
drop_xparams(struct xparam *x, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		free(x[i].key);
		free(x[i].val);
	}
	*n = 0;
}

static void
distrust(struct txn *t)
{
	size_t i;

	for (i = 0; i < XF_COUNT; i++)
		if (txn_set_xf(t, (enum xf_attr)i, NULL) < 0)
			fail(EXIT_TEMP, "out of memory");
	if (txn_set_xf(t, XF_PROTO, "LOCAL") < 0 ||
	    txn_set_xf(t, XF_SOURCE, "LOCAL") < 0)
		fail(EXIT_TEMP, "out of memory");
	free(t->auth);
	t->auth = NULL;
	drop_xparams(t->x, &t->nx);
	for (i = 0; i < t->nrcpt; i++)
		drop_xparams(t->rcpt[i].x, &t->rcpt[i].nx);
}

/*
 * The one header field of a local submission that its sender cannot
 * forge: the uid the kernel says ran us, first in the header.
 */
static int
write_received(struct stream_writer *w, const char *qid)
{
	char line[600], date[64];
	time_t now = time(NULL);
	int n;

	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", localtime(&now));
	n = snprintf(line, sizeof line, "Received: by %s (sluice-enqueue, from "
	    "userid %ld)", conf_hostname(), (long)getuid());
	if (n < 0 || (size_t)n >= sizeof line)
		n = snprintf(line, sizeof line, "Received: (sluice-enqueue, from "
		    "userid %ld)", (long)getuid());
	if (stream_write_line(w, line, (size_t)n) < 0)
		return -1;
	n = snprintf(line, sizeof line, "\tid %s; %s", qid, date);
	return stream_write_line(w, line, (size_t)n);
}

/*
 * stream_copy_body(), stopping at message_size_limit when there is one.
 * Without one (a trusted caller: sluice-smtpd, the runner) the body goes
 * through stream_copy_body's block copy, a third of the instructions of
 * a line at a time for a 5 KB message.
 */
static int
copy_body(struct stream_reader *r, struct stream_writer *w, int *read_failed)
{
	const char *l;
	size_t n;
	int rc;

	if (!size_limit)
		return stream_copy_body(r, w, read_failed);
	*read_failed = 0;
	while ((rc = stream_read_line(r, &l, &n)) == 1) {
		if (size_limit && r->body_bytes > size_limit)
			fail(EXIT_PERM, "message larger than message_size_limit "
			    "(%llu octets)", size_limit);
		if (stream_write_line(w, l, n) < 0)
			return -1;
	}
	if (rc < 0) {
		*read_failed = 1;
		return -1;
	}
	return stream_write_end(w);
}

/*
 * Copy one transaction, whose envelope is read, into a new tmp file.  The
 * writer's buffer is static, one for every file in turn: from malloc,
 * musl maps and unmaps a 64 KiB buffer each time (2 system calls and 2
 * page faults a message).
 */
static void
store(struct stream_reader *r, struct txn *t)
{
	static char wbuf[BUF_SIZE];
	struct stream_writer w;
	struct entry *e;
	const char *id = t->xf[XF_IDENT];
	int fd, rfail = 0;

	if (nent == aent) {
		size_t n = aent ? aent * 2 : 16;
		struct entry *p = realloc(ent, n * sizeof *p);

		if (p == NULL)
			fail(EXIT_TEMP, "out of memory");
		ent = p;
		aent = n;
	}
	e = &ent[nent];
	memset(e, 0, sizeof *e);
	if (!local_seen && t->xf[XF_SOURCE] != NULL &&
	    strcmp(t->xf[XF_SOURCE], "LOCAL") == 0) {
		local_seen = 1;
		log_setup(LOG_ROLE_SUBMISSION);
	}
	if (untrusted) {
		if (nent == UNTRUSTED_TXN_MAX)
			fail(EXIT_PERM, "more than %d transactions in one input",
			    UNTRUSTED_TXN_MAX);
		distrust(t);
		id = NULL;
	}
	/* The runner's, read from the chain's output: nothing in the queue. */
	xparam_del(t->x, &t->nx, "X-NOTICE-FOR");
	/* The caller's id when it is one and is free (enq_new_tmp). */
	if (id != NULL && strlen(id) == QID_LEN)
		memcpy(e->qid, id, QID_LEN + 1);
	fd = new_tmp(e);
	e->fd = fd;
	nent++;
	give_to_spool_owner(fd, e->qid);
	if (txn_set_xf(t, XF_IDENT, e->qid) < 0)
		fail(EXIT_TEMP, "out of memory");
	snprintf(e->from, sizeof e->from, "%s", t->from ? t->from : "");
	e->nrcpt = t->nrcpt;
	w.flags = 0;
	wbuf_init_mem(&w.out, fd, wbuf, sizeof wbuf);
	if (stream_write_head(&w, t) < 0 || (untrusted &&
	    write_received(&w, e->qid) < 0) || copy_body(r, &w, &rfail) < 0) {
		if (rfail)
			fail(r->exit_code, "%s", r->err);
		fail(EXIT_TEMP, "unable to write %s/tmp/%s: %s", sp.path, e->qid,
		    strerror(errno));
	}
	e->size = r->body_bytes;
	/*
	 * Kept open, and so locked, until the rename (lock_tmp).  A kept
	 * file's old tail goes before the fsync (cut_and_sync).
	 */
	if (stream_flush(&w) < 0 || cut_and_sync(fd) < 0)
		fail(EXIT_TEMP, "unable to write %s/tmp/%s: %s", sp.path, e->qid,
		    strerror(errno));
}

static void
give_to_spool_owner(int fd, const char *qid)
{
	if (geteuid() != 0)
		return;
	if (sp.st.st_uid != 0 && fchown(fd, sp.st.st_uid, sp.st.st_gid) < 0)
		fail(EXIT_TEMP, "unable to give %s/tmp/%s to the spool's owner: %s",
		    sp.path, qid, strerror(errno));
}

/*
 * Decide whom to trust, before anything else is read.  Root runs this
 * program as root, whatever its set-ID bits.  The spool's owner (or anyone
 * running a copy without set-ID bits) is trusted as always.  Anyone else
 * runs it through the set-user-ID bit: then descriptors 0-2 are made
 * sure (a closed one would be reused for a queue file, and log lines
 * written into it), the environment goes (SLUICE_SPOOL, SLUICE_CONF, TZ:
 * the compiled-in folders hold), and the umask is ours, so the runner can
 * read what is written.
 */
static void
check_caller(void)
{
	int fd;

	if (getuid() == 0) {
		if ((geteuid() != 0 && seteuid(0) < 0) ||
		    (getegid() != getgid() && setegid(getgid()) < 0))
			die(EXIT_TEMP, "unable to switch back to root: %s", strerror(errno));
		return;
	}
	if (getuid() == geteuid() && getgid() == getegid())
		return;
	untrusted = 1;
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(EXIT_TEMP);
	if (clearenv() != 0)
		_exit(EXIT_TEMP);
	umask(077);
}

int
main(int argc, char **argv)
{
	struct stream_reader r;
	struct txn t;
	size_t i;
	int rc;

	usage_none(argc, argv, "usage: sluice-enqueue < stream\nSee sluice-enqueue(8).\n");
	check_caller();
	/*
	 * An untrusted caller's submission is local whatever it claims: its
	 * lines go to syslog, never to the submitter's terminal.
	 */
	log_name(untrusted ? "sluice-enqueue" : argv[0]);
	local_seen = untrusted;
	log_setup(untrusted ? LOG_ROLE_SUBMISSION : LOG_ROLE_DAEMON);
	if (untrusted)
		size_limit = (unsigned long long)conf_size("message_size_limit",
		    35LL << 20);
	if (enq_spool_open(&sp, conf_spool()) < 0)
		die_sys("unable to open the queue %s", conf_spool());
	if (stream_reader_init(&r, 0, "stdin") < 0)
		die_nomem();
	txn_init(&t);
	while ((rc = stream_read_txn(&r, &t)) == 1)
		store(&r, &t);
	if (rc < 0)
		fail(r.exit_code, "%s", r.err);
	/* The reader's buffer goes now: LeakSanitizer checks this program too. */
	txn_free(&t);
	stream_reader_free(&r);
	if (nent == 0)
		return 0;
	for (i = 0; i < nent; i++) {
		/* Kept open (and locked) until all are in; one folder fsync. */
		if (enq_move(sp.fd, ent[i].qid) < 0)
			fail(EXIT_TEMP, "unable to move tmp/%s into %s/incoming: %s",
			    ent[i].qid, sp.path, strerror(errno));
		ent[i].renamed = 1;
	}
	/* In incoming/ now: the runner's tmp/ cleanup no longer sees them. */
	for (i = 0; i < nent; i++)
		if (ent[i].fd >= 0)
			close(ent[i].fd);
	if (handoff_sync_folder(sp.fd, "incoming") < 0)
		fail(EXIT_TEMP, "unable to sync %s/incoming: %s", sp.path, strerror(errno));
	for (i = 0; i < nent; i++)
		log_info("qid=%s from=<%s> nrcpt=%zu size=%llu uid=%ld",
		    ent[i].qid, ent[i].from, ent[i].nrcpt, ent[i].size,
		    (long)getuid());
	enq_wake_runner(sp.fd);
	return 0;
}
