/*
 * Where an accepted message goes.  Without SLUICE_QUEUE, when we run as
 * the spool's owner (as installed), the message is written into the queue
 * here, through lib/enqueue.c as sluice-enqueue writes it: the same file,
 * the same hand-off (tmp/, flock, fsync, rename into incoming/, fsync
 * incoming/) before the 250, and no program per message
 * (doc/performance.md, "The queue written by sluice-smtpd").
 *
 * Else the queue program ($SLUICE_QUEUE, or sluice-enqueue, set-user-ID,
 * when the spool is another user's): started for each DATA with a pipe
 * on its stdin, for the one-transaction stream, and one on its stdout and
 * stderr, whose last line is its reason; its exit status decides the
 * answer to the client.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "prog.h"
#include "smtpd.h"
#include "stream.h"

/* Once per process: the buffer is static (smtpd_session_init says why). */
void
smtpd_queue_init(struct queue *q)
{
	static char buf[BUF_SIZE];

	q->pid = -1;
	q->in = q->err = q->file = -1;
	q->sp.fd = -1;
	q->w.flags = 0;
	wbuf_init_mem(&q->w.out, -1, buf, sizeof buf);
}

/*
 * Without SLUICE_QUEUE: whether we write the queue ourselves (1: the
 * spool is ours), or run sluice-enqueue (0: it is another user's, and
 * sluice-enqueue is set-user-ID to that user); -1 when the spool cannot
 * be opened.
 */
static int
own_queue(struct queue *q)
{
	if (enq_spool_open(&q->sp, conf_spool()) < 0) {
		log_warn("unable to open the queue %s: %s", conf_spool(),
		    strerror(errno));
		return -1;
	}
	if (q->sp.st.st_uid == geteuid())
		return 1;
	close(q->sp.fd);
	q->sp.fd = -1;
	return 0;
}

/*
 * Whether the queue can be written, or the program found (once per
 * process); 0 or -1.
 */
int
smtpd_queue_ready(struct queue *q)
{
	const char *prog = getenv("SLUICE_QUEUE");
	char **argvs[1] = { q->argv };
	int own;

	if (q->ready)
		return 0;
	if (prog == NULL || *prog == '\0') {
		if ((own = own_queue(q)) < 0)
			return -1;
		if (own) {
			q->own = q->ready = 1;
			return 0;
		}
		prog = "sluice-enqueue";
	}
	if (strlen(prog) >= sizeof q->buf) {
		log_warn("SLUICE_QUEUE is too long");
		return -1;
	}
	strcpy(q->buf, prog);
	if (prog_split_chain(q->buf, argvs, 1, QUEUE_ARGS) != 1) {
		log_warn("SLUICE_QUEUE is not one program with arguments: %s", prog);
		return -1;
	}
	if (prog_path(q->argv[0], q->path, sizeof q->path) < 0) {
		log_warn("queue program not found: %s", q->argv[0]);
		return -1;
	}
	/* A path is taken as it is: is it there? (A name was looked for.) */
	if (strchr(q->argv[0], '/') != NULL && access(q->path, X_OK) < 0) {
		log_warn("queue program %s: %s", q->path, strerror(errno));
		return -1;
	}
	q->ready = 1;
	return 0;
}

/*
 * vfork, not fork: the server's pages are not copied per message.  glibc's
 * posix_spawn is a vfork too, but resets each of the 64 signals in the
 * child (128 system calls); here the child makes five.  Until execv the
 * child runs in our memory, so it makes only system calls, and says why
 * execv failed in q->spawn_errno.  We have no signal handlers that it
 * could run.
 */
static pid_t
queue_spawn(struct queue *q, int in, int out)
{
	pid_t pid;

	q->spawn_errno = 0;
	pid = vfork();
	if (pid != 0)
		return pid;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
		q->spawn_errno = errno;
		_exit(EXIT_TEMP);
	}
	/* Ignored signals stay ignored across execv; SIGPIPE must not. */
	signal(SIGPIPE, SIG_DFL);
	execv(q->path, q->argv);
	q->spawn_errno = errno;
	_exit(EXIT_TEMP);
}

static void
writer_to(struct queue *q, int fd)
{
	q->in = fd;
	q->w.out.fd = fd;
	q->w.out.len = 0;
	q->w.out.err = 0;
	q->w.out.total = 0;
}

/*
 * Start the message with the id qid: a new queue file (qid may then be
 * replaced, lib/enqueue.h), or the program; 0, or -1 with errno.
 */
int
smtpd_queue_start(struct queue *q, char qid[QID_LEN + 1])
{
	int in[2], err[2];

	if (smtpd_queue_ready(q) < 0)
		return -1;
	if (q->own) {
		memcpy(q->qid, qid, QID_LEN + 1);
		if ((q->file = enq_new_tmp(&q->sp, q->qid)) < 0)
			return -1;
		memcpy(qid, q->qid, QID_LEN + 1);
		writer_to(q, q->file);
		return 0;
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	q->pid = queue_spawn(q, in[0], err[1]);
	close(in[0]);
	close(err[1]);
	if (q->pid < 0 || q->spawn_errno != 0) {
		int e = q->pid < 0 ? errno : q->spawn_errno;

		if (q->pid > 0)
			(void)prog_wait(q->pid);
		close(in[1]);
		close(err[0]);
		q->pid = -1;
		errno = e;
		return -1;
	}
	q->err = err[0];
	writer_to(q, in[1]);
	return 0;
}

/*
 * Write no more: the program's input is closed (without the final ".",
 * it commits nothing); a queue file waits for smtpd_queue_end.
 */
void
smtpd_queue_close_input(struct queue *q)
{
	if (q->own) {
		q->in = -1;
		return;
	}
	if (q->in >= 0) {
		q->w.out.len = 0;
		close(q->in);
		q->in = -1;
	}
}

/* Keep the last non-empty line of what the program printed, cut short. */
static void
reason_keep(char *reason, size_t rsz, const char *line, size_t n)
{
	if (n >= rsz)
		n = rsz - 1;
	memcpy(reason, line, n);
	reason[n] = '\0';
}

/*
 * Copy what the program printed to our standard error (it is its log) and
 * keep the last line, its reason (at most REASON_MAX octets of it: the
 * rest is its log's business).  Returns its exit status.
 */
static int
queue_wait(struct queue *q, char *reason, size_t rsz)
{
	char buf[4096], cur[REASON_MAX];
	size_t cl = 0;
	ssize_t n, i;
	int st;

	reason[0] = '\0';
	while ((n = read(q->err, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		(void)write_all(2, buf, (size_t)n);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (cl > 0)
					reason_keep(reason, rsz, cur, cl);
				cl = 0;
			} else if (cl < REASON_MAX)
				cur[cl++] = buf[i];
		}
	}
	if (cl > 0)
		reason_keep(reason, rsz, cur, cl);
	close(q->err);
	q->err = -1;
	st = prog_wait(q->pid);
	q->pid = -1;
	return st;
}

int
smtpd_queue_started(const struct queue *q)
{
	return q->pid > 0 || q->file >= 0;
}

/*
 * The queue file's hand-off, as sluice-enqueue's: the old tail of a kept
 * file cut, fsync, rename into incoming/, fsync incoming/, the runner
 * woken.  On any failure nothing stays in the queue: EXIT_TEMP.
 */
static int
file_commit(struct queue *q, char *reason, size_t rsz)
{
	char name[64];
	int fd = q->file;

	q->file = -1;
	if (cut_and_sync(fd) < 0) {
		snprintf(reason, rsz, "unable to write %s/tmp/%s: %s", q->sp.path,
		    q->qid, strerror(errno));
		enq_abort(q->sp.fd, fd, q->qid);
		return EXIT_TEMP;
	}
	if (enq_move(q->sp.fd, q->qid) < 0) {
		snprintf(reason, rsz, "unable to move %s/tmp/%s into incoming: %s",
		    q->sp.path, q->qid, strerror(errno));
		close(fd);
		return EXIT_TEMP;
	}
	/* In incoming/ now, the lock may go: the runner's tmp/ sweep is past. */
	close(fd);
	if (handoff_sync_folder(q->sp.fd, "incoming") < 0) {
		snprintf(reason, rsz, "unable to sync %s/incoming: %s", q->sp.path,
		    strerror(errno));
		snprintf(name, sizeof name, "incoming/%s", q->qid);
		(void)unlinkat(q->sp.fd, name, 0);
		return EXIT_TEMP;
	}
	enq_wake_runner(q->sp.fd);
	return 0;
}

int
smtpd_queue_end(struct queue *q, int complete, char *reason, size_t rsz)
{
	int st;

	reason[0] = '\0';
	if (!q->own) {
		if (!complete)
			smtpd_queue_close_input(q);
		return queue_wait(q, reason, rsz);
	}
	q->in = -1;
	if (complete) {
		if ((st = file_commit(q, reason, rsz)) != 0)
			log_warn("qid=%s %s", q->qid, reason);
		return st;
	}
	/* Refused, or cut short by a failed write: that one is logged. */
	if (q->w.out.err != 0)
		log_warn("qid=%s unable to write %s/tmp/%s: %s", q->qid, q->sp.path,
		    q->qid, strerror(q->w.out.err));
	enq_abort(q->sp.fd, q->file, q->qid);
	q->file = -1;
	return EXIT_TEMP;
}

/* The session ends in the middle of a message: nothing is queued. */
void
smtpd_queue_abort(struct queue *q)
{
	char reason[REASON_MAX + 1];

	if (smtpd_queue_started(q))
		(void)smtpd_queue_end(q, 0, reason, sizeof reason);
}

/*
 * A reason "prog: fatal: 5.7.1 text" passes its code and text on to the
 * client when the code's class matches the exit status (5 for EXIT_PERM,
 * 4 for EXIT_TEMP).  Returns the text from the code on, or NULL.
 */
const char *
smtpd_queue_reason_code(const char *reason, char cls)
{
	const char *p = strstr(reason, "fatal: ");
	size_t i = 0;
	int digits;

	if (p == NULL)
		return NULL;
	p += 7;
	if (p[0] != cls || p[1] != '.')
		return NULL;
	for (i = 2, digits = 0; p[i] >= '0' && p[i] <= '9' && digits < 3; i++)
		digits++;
	if (digits == 0 || p[i++] != '.')
		return NULL;
	for (digits = 0; p[i] >= '0' && p[i] <= '9' && digits < 3; i++)
		digits++;
	if (digits == 0 || (p[i] != ' ' && p[i] != '\0'))
		return NULL;
	return p;
}
