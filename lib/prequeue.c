#include "prequeue.h"
#include "usage.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "prog.h"

/* The one child of a stage: its queue program. */
static pid_t child;

static void
child_stop(void)
{
	/* A failure of ours: the queue program must commit nothing. */
	if (child > 0) {
		kill(child, SIGTERM);
		(void)prog_wait(child);
		child = 0;
	}
}

void
prequeue_start(char **argv)
{
	char path[4096];
	int p[2];

	if (prog_path(argv[0], path, sizeof path) < 0)
		die(EXIT_TEMP, "4.3.5 queue program not found: %.200s", argv[0]);
	if (pipe(p) < 0 || (child = fork()) < 0)
		die_sys("4.3.0 unable to start %s", argv[0]);
	if (child == 0) {
		if (dup2(p[0], 0) < 0)
			_exit(EXIT_TEMP);
		close(p[0]);
		close(p[1]);
		signal(SIGPIPE, SIG_DFL);
		execv(path, argv);
		dprintf(2, "%s: fatal: 4.3.0 unable to run %s: %s\n", log_prog, path,
		    strerror(errno));
		_exit(EXIT_TEMP);
	}
	if (dup2(p[1], 1) < 0)
		die_sys("4.3.0 unable to start %s", argv[0]);
	close(p[0]);
	close(p[1]);
	atexit(child_stop);
}

int
prequeue_active(void)
{
	return child > 0;
}

int
prequeue_finish(void)
{
	int st;

	close(1);
	st = prog_wait(child);
	child = 0;
	return st;
}

void
prequeue_reject(struct stream_writer *w, const char *reason)
{
	int st;

	if (w->out.total > 0 || w->out.len > 0) {
		if (stream_flush(w) < 0)
			die_sys("unable to write");
		st = prequeue_finish();
		if (st != 0)
			log_warn("the queue program exited %d with the notice", st);
	}
	/* A reason without its own enhanced status code gets 5.7.1. */
	if (reason[0] >= '2' && reason[0] <= '5' && reason[1] == '.')
		die(EXIT_PERM, "%s", reason);
	die(EXIT_PERM, "5.7.1 %s", reason);
}

char **
prequeue_args(int argc, char **argv, const char *usage_text)
{
	usage_help(argc, argv, usage_text);
	if (argc > 1 && (strcmp(argv[1], "--") != 0 || argc < 3))
		usage_die(usage_text, NULL);
	return argc > 2 ? argv + 2 : NULL;
}

int
prequeue_end(void)
{
	return prequeue_active() ? prequeue_finish() : 0;
}
