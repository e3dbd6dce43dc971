/*
 * The hand-off: the message, as one stream transaction, through a pipe to
 * the queue program ($SLUICE_QUEUE, default sluice-enqueue), whose exit
 * status is the verdict.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "prog.h"
#include "submit.h"

void
queue_start(struct queue *q)
{
	const char *name = getenv("SLUICE_QUEUE");
	char *argv[2];
	int p[2];

	if (name == NULL || *name == '\0')
		name = "sluice-enqueue";
	argv[0] = (char *)name;
	argv[1] = NULL;
	if (pipe(p) < 0)
		die(EX_TEMPFAIL, "unable to make a pipe: %s", strerror(errno));
	q->pid = fork();
	if (q->pid < 0)
		die(EX_TEMPFAIL, "unable to fork: %s", strerror(errno));
	if (q->pid == 0) {
		if (dup2(p[0], 0) < 0)
			die(EX_TEMPFAIL, "unable to dup: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		signal(SIGPIPE, SIG_DFL);
		prog_exec(argv);
		die(EXIT_TEMP, "unable to run %s: %s", name, strerror(errno));
	}
	close(p[0]);
	q->fd = p[1];
	if (stream_writer_init(&q->w, q->fd, 0) < 0)
		die(EX_TEMPFAIL, "out of memory");
}

int
queue_finish(struct queue *q, int complete)
{
	int st;

	if (complete && (stream_flush(&q->w) < 0))
		complete = 0;
	close(q->fd);
	st = prog_wait(q->pid);
	if (st == 0 && complete)
		return EX_OK;
	if (st == EXIT_PERM)
		return EX_UNAVAILABLE;
	return EX_TEMPFAIL;
}

void
queue_emit(void *ctx, const char *s, size_t n)
{
	struct queue *q = ctx;

	if (!q->broken && stream_write_line(&q->w, s, n) < 0)
		q->broken = 1;
}
